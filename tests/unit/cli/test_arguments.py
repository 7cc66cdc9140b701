"""How command options become request bodies: discovery selectors, template parameters, batch files."""

from __future__ import annotations

import pytest

from costopt_cli.client import EXIT_USAGE, CliError
from costopt_cli.common import parse_param
from costopt_cli.discover import selector_of
from costopt_cli.simulate import batch_scenarios, summary_rows


def test_selectors():
    assert selector_of("team", ["a", "b"], None, None) == {"type": "tag", "tag_key": "team", "tag_values": ["a", "b"]}
    assert selector_of("team", None, None, None) == {"type": "tag", "tag_key": "team"}
    assert selector_of(None, None, "shop", None) == {"type": "cloudformation_stack", "stack_name": "shop"}
    assert selector_of(None, None, None, "prod") == {"type": "ecs_cluster", "cluster": "prod"}


@pytest.mark.parametrize(("args", "message"), [
    ((None, None, None, None), "exactly one selector"),
    (("k", None, "s", None), "not --tag-key and --stack"),
    ((None, ["v"], None, "c"), "--tag-value goes with --tag-key"),
])
def test_a_wrong_selector_is_a_usage_error(args, message):
    with pytest.raises(CliError, match=message) as caught:
        selector_of(*args)
    assert caught.value.exit_code == EXIT_USAGE


def test_params_read_json_values_else_text():
    assert parse_param("multiplier=3") == ("multiplier", 3)
    assert parse_param("days=[1,2]") == ("days", [1, 2])
    assert parse_param("flag=true") == ("flag", True)
    assert parse_param("name=peak=x") == ("name", "peak=x")
    with pytest.raises(CliError, match="key=value"):
        parse_param("novalue")


def test_batch_files_take_a_list_or_an_object_and_fill_in_the_service(tmp_path):
    path = tmp_path / "batch.json"
    path.write_text('{"scenarios": [{"traffic_multiplier": 2}, {"service_id": "other"}]}')
    assert batch_scenarios(path, "orders-service") == [{"service_id": "orders-service", "traffic_multiplier": 2},
                                                       {"service_id": "other"}]
    path.write_text('[{"service_id": "a"}]')
    assert batch_scenarios(path, None) == [{"service_id": "a"}]
    for text in ("[]", '{"x": 1}', "nope"):
        path.write_text(text)
        with pytest.raises(CliError) as caught:
            batch_scenarios(path, None)
        assert caught.value.exit_code == EXIT_USAGE
    with pytest.raises(CliError, match="cannot read"):
        batch_scenarios(tmp_path / "missing.json", None)


def test_summary_rows_of_a_simulation():
    result = {"simulation_id": "sim-1",
              "baseline": {"monthly_cost_usd": {"p10": 9, "p50": 10, "p90": 11}, "sla_probability": 1.0},
              "scenario": {"monthly_cost_usd": {"p10": 4, "p50": 5, "p90": 6}, "sla_probability": 0.97},
              "savings_usd": {"p10": 4.5, "p50": 5, "p90": 5.5}}
    assert summary_rows(result) == [
        {"simulation_id": "sim-1", "series": "baseline_monthly_cost_usd", "p10": 9, "p50": 10, "p90": 11,
         "sla_probability": 1.0},
        {"simulation_id": "sim-1", "series": "scenario_monthly_cost_usd", "p10": 4, "p50": 5, "p90": 6,
         "sla_probability": 0.97},
        {"simulation_id": "sim-1", "series": "savings_usd", "p10": 4.5, "p50": 5, "p90": 5.5, "sla_probability": None}]
