"""--output table|json|csv (costopt_cli.output): flat CSV columns, the API's JSON unchanged, rich tables."""

from __future__ import annotations

import csv
import io
import json

from costopt_cli.output import Column, Output, cell, columns_of, emit, flatten, lookup, to_csv

REC = {"service_id": "orders-service", "recommendation_id": "r1", "monthly_savings_usd": 57.64,
       "sla": {"compliant": True, "clauses": [{"clause": "cpu", "ok": True}]}, "current": {"cpu_units": 1024},
       "failed": [], "notes": ["a", "b"], "realised": None}


def test_flatten_joins_nested_keys_with_dots_and_keeps_lists():
    assert flatten(REC) == {"service_id": "orders-service", "recommendation_id": "r1", "monthly_savings_usd": 57.64,
                            "sla.compliant": True, "sla.clauses": [{"clause": "cpu", "ok": True}],
                            "current.cpu_units": 1024, "failed": [], "notes": ["a", "b"], "realised": None}
    assert flatten({"empty": {}}) == {"empty": {}}


def test_cells_are_plain_text():
    assert [cell(None), cell(True), cell(False), cell(3), cell(2.5), cell("x")] == ["", "true", "false", "3", "2.5",
                                                                                     "x"]
    assert cell(["a", "b", 3]) == "a;b;3"
    assert cell([]) == ""
    assert cell({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert cell([{"x": 1}]) == '[{"x":1}]'


def test_lookup_follows_dotted_paths():
    assert lookup(REC, "sla.compliant") is True
    assert lookup(REC, "sla.missing") is None
    assert lookup(REC, "service_id.deeper") is None


def test_csv_round_trips_through_dictreader():
    columns = [Column("service_id", "service_id"), Column("sla_compliant", "sla.compliant"),
               Column("savings", "monthly_savings_usd"), Column("notes", "notes"), Column("realised", "realised")]
    other = {**REC, "recommendation_id": "r2", "service_id": 'a "quoted", name', "sla": {"compliant": False}}
    rows = list(csv.DictReader(io.StringIO(to_csv([REC, other], columns))))
    assert rows == [
        {"service_id": "orders-service", "sla_compliant": "true", "savings": "57.64", "notes": "a;b", "realised": ""},
        {"service_id": 'a "quoted", name', "sla_compliant": "false", "savings": "57.64", "notes": "a;b",
         "realised": ""}]


def test_columns_of_is_every_flattened_key_in_first_seen_order():
    assert [c.path for c in columns_of([{"a": 1, "b": {"c": 2}}, {"d": 3, "a": 4}])] == ["a", "b.c", "d"]


def test_json_is_the_document_unchanged(capsys):
    emit(Output.json, {"items": [REC]}, rows=[REC], columns=[Column("id", "recommendation_id")])
    assert json.loads(capsys.readouterr().out) == {"items": [REC]}


def test_csv_of_a_single_object_is_one_flattened_row(capsys):
    emit(Output.csv, {"service_id": "s", "budget": {"monthly_usd": 100.0}, "tags": ["x"]})
    assert list(csv.DictReader(io.StringIO(capsys.readouterr().out))) == [
        {"service_id": "s", "budget.monthly_usd": "100.0", "tags": "x"}]


def test_a_table_shows_the_columns_and_values(capsys):
    emit(Output.table, {"items": [REC]}, rows=[REC],
         columns=[Column("recommendation_id", "recommendation_id"), Column("sla_compliant", "sla.compliant")],
         title="recs")
    out = capsys.readouterr().out
    assert "recs" in out and "recommendation_id" in out and "sla_compliant" in out
    assert "│ r1" in out and "true" in out


def test_a_single_object_table_has_a_line_per_field(capsys):
    emit(Output.table, {"service_id": "s", "budget": {"monthly_usd": 100.0}})
    lines = capsys.readouterr().out.splitlines()
    assert any("budget.monthly_usd" in line and "100.0" in line for line in lines)
    assert any("service_id" in line and "│ s " in line for line in lines)
