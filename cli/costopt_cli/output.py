"""``--output table|json|csv``: the same answer as a rich table, the API's JSON, or flat CSV columns.

- ``json`` prints the API's JSON document unchanged (a list command: every page's items in one ``items``).
- ``csv`` prints one row per item with the command's columns (a single object: one row of its flattened
  fields, nested keys joined with ``.``); lists of plain values are joined with ``;``, anything nested
  deeper is compact JSON. Empty cells are null.
- ``table`` is for people: the rows in the same columns, or a field/value table of a single object.

Data go to stdout; progress, plans and messages go to stderr, so ``--output json|csv`` can be piped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class Output(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    header: str
    path: str  # dotted path into an item: "sla.compliant"


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr); not a terminal: as wide as ``COLUMNS`` says (default 200), no colour."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=int(os.environ.get("COLUMNS") or 200), no_color=True, highlight=False)


def lookup(item: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(item, Mapping):
            return None
        item = item.get(part)
    return item


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (``sla.compliant``); lists stay values (``cell`` renders them)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[Column]:
    """Every flattened key of ``rows``, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(flatten(row)))
    return [Column(k, k) for k in seen]


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([cell(lookup(row, c.path)) for c in columns])
    return buffer.getvalue()


def table_of(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*(cell(lookup(row, c.path)) for c in columns))
    return table


def fields_table(document: Mapping[str, Any], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", show_header=True)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in flatten(document).items():
        table.add_row(key, cell(value))
    return table


def emit(fmt: Output, document: Any, *, rows: Sequence[Mapping[str, Any]] | None = None,
         columns: Sequence[Column] | None = None, title: str | None = None) -> None:
    """Print an answer: ``document`` as JSON, else ``rows`` in ``columns`` (no rows: the document itself, one
    CSV row or a field/value table; no columns: every flattened field)."""
    if fmt is Output.json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    items = list(rows) if rows is not None else [document]
    if fmt is Output.csv:
        sys.stdout.write(to_csv(items, columns or columns_of(items)))
        return
    if rows is None:  # a single object: one field a line
        console().print(fields_table(document, title))
    else:
        console().print(table_of(items, columns or columns_of(items), title))
