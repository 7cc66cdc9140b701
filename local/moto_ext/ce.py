"""Cost Explorer in moto answered from a bill: GetCostAndUsage and GetCostAndUsageWithResources.

moto 5.2.5 answers GetCostAndUsage from a queue of canned results handed out in request order, whatever
the request asks, and does not implement GetCostAndUsageWithResources. The sandbox needs answers to
the queries costopt really sends (a tag filter, a LINKED_ACCOUNT filter, DAILY, grouped by SERVICE or
RESOURCE_ID), so this extension keeps a bill, a list of ``BillRow`` (one day's cost of one resource, as a
cost and usage report line sums up), and evaluates each request against it:

- ``Filter``: ``And`` / ``Or`` / ``Not`` over ``Dimensions`` (LINKED_ACCOUNT, SERVICE, REGION, RESOURCE_ID)
  and ``Tags`` (EQUALS, or ABSENT); ``CostCategories`` is a ValidationException.
- ``Granularity`` DAILY or MONTHLY over ``TimePeriod`` (Start inclusive, End exclusive).
- ``GroupBy``: up to two of DIMENSION SERVICE, LINKED_ACCOUNT, REGION, RESOURCE_ID (the last only
  WithResources) and TAG (keys ``<tag>$<value>``, as Cost Explorer writes them). Grouped results have an
  empty ``Total``, as Cost Explorer's do.
- ``Metrics``: the cost metrics (UnblendedCost, BlendedCost, AmortizedCost, NetUnblendedCost, NetAmortizedCost)
  all give the row's amount in USD (no discounts in the sandbox); anything else is a ValidationException.
- Who sees what: the payer account sees every row, any other account its own rows only.
- Resource-level data is opt-in (``set_bill(..., resource_level=True)``); otherwise WithResources answers
  DataUnavailableException, as an account that has not opted in does.

With no bill set, GetCostAndUsage keeps moto's own behaviour. Local-only: costopt never imports ``local``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

COST_METRICS = frozenset({"UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost"})
DIMENSIONS = ("LINKED_ACCOUNT", "SERVICE", "REGION", "RESOURCE_ID")


@dataclass(frozen=True)
class BillRow:
    """One resource's cost on one day (USD), with what Cost Explorer filters and groups it by."""

    day: date
    account_id: str
    region: str
    service: str  # Cost Explorer's SERVICE dimension value, e.g. "AWS Lambda"
    resource_id: str  # what the cost and usage report names: an ARN, an instance or volume id
    usd: float
    tags: Mapping[str, str] = field(default_factory=dict)

    def dimension(self, key: str) -> str:
        return {"LINKED_ACCOUNT": self.account_id, "SERVICE": self.service, "REGION": self.region,
                "RESOURCE_ID": self.resource_id}[key]


@dataclass
class _Bill:
    payer: str = ""
    resource_level: bool = False
    rows: list[BillRow] = field(default_factory=list)


_lock = threading.Lock()
_bill = _Bill()
_installed: list[bool] = []


def set_bill(rows: Iterable[BillRow], *, payer: str, resource_level: bool = True) -> None:
    """Replace the bill Cost Explorer answers from (``payer`` sees every account's rows)."""
    with _lock:
        _bill.payer, _bill.resource_level, _bill.rows = payer, resource_level, list(rows)


def clear() -> None:
    with _lock:
        _bill.payer, _bill.resource_level, _bill.rows = "", False, []


def _validation(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationException", message)


def _matches(expr: Mapping[str, Any], row: BillRow) -> bool:
    if "And" in expr:
        return all(_matches(e, row) for e in expr["And"])
    if "Or" in expr:
        return any(_matches(e, row) for e in expr["Or"])
    if "Not" in expr:
        return not _matches(expr["Not"], row)
    if "Dimensions" in expr:
        dim = expr["Dimensions"]
        if dim.get("Key") not in DIMENSIONS:
            raise _validation(f"Dimension {dim.get('Key')} is not supported by the sandbox's Cost Explorer")
        return row.dimension(dim["Key"]) in (dim.get("Values") or [])
    if "Tags" in expr:
        tag = expr["Tags"]
        if "ABSENT" in (tag.get("MatchOptions") or []):
            return tag.get("Key") not in row.tags
        return tag.get("Key") in row.tags and row.tags[tag["Key"]] in (tag.get("Values") or [])
    raise _validation(f"Expression {sorted(expr)} is not supported by the sandbox's Cost Explorer")


def _periods(request: Mapping[str, Any]) -> list[tuple[date, date]]:
    period = request.get("TimePeriod") or {}
    try:
        start, end = date.fromisoformat(period["Start"][:10]), date.fromisoformat(period["End"][:10])
    except (KeyError, TypeError, ValueError) as exc:
        raise _validation("TimePeriod needs Start and End dates (YYYY-MM-DD)") from exc
    if start >= end:
        raise _validation("Start date (inclusive) must be before End date (exclusive)")
    granularity = request.get("Granularity") or "DAILY"
    out: list[tuple[date, date]] = []
    day = start
    while day < end:
        if granularity == "DAILY":
            nxt = day + timedelta(days=1)
        elif granularity == "MONTHLY":
            nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            raise _validation(f"Granularity {granularity} is not supported by the sandbox's Cost Explorer")
        out.append((day, min(nxt, end)))
        day = nxt
    return out


def _group_key(group_by: list[Mapping[str, str]], row: BillRow) -> tuple[str, ...]:
    keys = []
    for g in group_by:
        if g.get("Type") == "TAG":
            keys.append(f"{g['Key']}${row.tags.get(g['Key'], '')}")
        else:
            keys.append(row.dimension(g["Key"]))
    return tuple(keys)


def _amount(usd: float) -> dict[str, str]:
    return {"Amount": f"{usd:.10f}".rstrip("0").rstrip(".") or "0", "Unit": "USD"}


def answer(caller: str, request: Mapping[str, Any], *, with_resources: bool) -> dict[str, Any]:
    """Cost Explorer's answer to ``request`` from ``caller``'s account, over the bill."""
    metrics = list(request.get("Metrics") or [])
    if not metrics or not set(metrics) <= COST_METRICS:
        raise _validation(f"Metrics must be among {sorted(COST_METRICS)} in the sandbox's Cost Explorer")
    group_by = list(request.get("GroupBy") or [])
    if len(group_by) > 2:
        raise _validation("GroupBy takes at most two groups")
    for g in group_by:
        allowed = DIMENSIONS if with_resources else DIMENSIONS[:3]
        if g.get("Type") == "DIMENSION" and g.get("Key") not in allowed:
            raise _validation(f"Group Definition dimension {g.get('Key')} is not supported here")
        if g.get("Type") not in ("DIMENSION", "TAG"):
            raise _validation(f"Group Definition type {g.get('Type')} is not supported by the sandbox")
    flt = request.get("Filter")
    with _lock:
        rows = [r for r in _bill.rows if caller == _bill.payer or r.account_id == caller]
    if flt:
        rows = [r for r in rows if _matches(flt, r)]
    results = []
    for start, end in _periods(request):
        inside = [r for r in rows if start <= r.day < end]
        entry: dict[str, Any] = {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
                                 "Total": {}, "Groups": [], "Estimated": False}
        if group_by:
            sums: dict[tuple[str, ...], float] = defaultdict(float)
            for r in inside:
                sums[_group_key(group_by, r)] += r.usd
            entry["Groups"] = [{"Keys": list(k), "Metrics": {m: _amount(v) for m in metrics}}
                               for k, v in sorted(sums.items())]
        else:
            entry["Total"] = {m: _amount(sum(r.usd for r in inside)) for m in metrics}
        results.append(entry)
    return {"ResultsByTime": results, "DimensionValueAttributes": [], "GroupDefinitions": group_by}


def install() -> None:
    """Answer Cost Explorer from the bill once one is set (idempotent)."""
    if _installed:
        return
    from moto.ce.models import CostExplorerBackend
    from moto.ce.responses import CostExplorerResponse
    from moto.core.exceptions import JsonRESTError

    original = CostExplorerBackend.get_cost_and_usage

    def get_cost_and_usage(self: Any, body: str) -> dict[str, Any]:
        with _lock:
            billed = bool(_bill.rows)
        if not billed:
            return original(self, body)
        return answer(self.account_id, json.loads(body or "{}"), with_resources=False)

    def get_cost_and_usage_with_resources(self: Any, body: str) -> dict[str, Any]:
        with _lock:
            opted_in = bool(_bill.rows) and _bill.resource_level
        if not opted_in:
            raise JsonRESTError("DataUnavailableException",
                                "Resource-level data is not enabled for this account (Cost Explorer settings)")
        return answer(self.account_id, json.loads(body or "{}"), with_resources=True)

    def respond_with_resources(self: Any) -> str:
        return json.dumps(self.ce_backend.get_cost_and_usage_with_resources(self.body))

    CostExplorerBackend.get_cost_and_usage = get_cost_and_usage  # type: ignore[method-assign]
    CostExplorerBackend.get_cost_and_usage_with_resources = get_cost_and_usage_with_resources  # type: ignore[attr-defined]
    CostExplorerResponse.get_cost_and_usage_with_resources = respond_with_resources  # type: ignore[attr-defined]
    _installed.append(True)
