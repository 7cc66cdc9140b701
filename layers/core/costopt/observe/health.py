"""SLO health and multiwindow burn-rate alerts (Google SRE workbook, "Alerting on SLOs"). Pure, no I/O.

Clauses (from the service's ``Sla``)
------------------------------------
- ``availability_pct``: SLO = pct / 100; bad events = errors (+ throttles), total = requests.
- ``max_error_rate_pct``: SLO = 1 - pct / 100; same events.
- ``latency_p99_ms`` / ``latency_p95_ms``: a time-based SLO over datapoints: a datapoint (one source
  period, e.g. 5 minutes) is bad when its latency exceeds the target; SLO = 0.99 (p99) / 0.95 (p95)
  of datapoints good. Latency data are the ``latency_ms`` series when the service has any, otherwise
  Lambda ``duration_ms`` (both per-period p99, so a p95 clause is checked against p99 values: an
  upper bound, conservative). From hourly aggregates (count/sum/min/max of the hour's datapoints) a
  datapoint count above the target is not known exactly, so an hour counts as ``count`` bad datapoints
  when its mean exceeds the target and 0 otherwise (hour granularity).
Utilisation limits (max_cpu/memory) are capacity guardrails checked by the SLA engine, not SLOs here.

Burn rate and windows
---------------------
burn rate = observed bad ratio in the window / (1 - SLO). Windows end at ``as_of`` = ``now`` floored
to the hour (the last complete hour; costopt folds complete hours only). Long windows 1 h and 6 h;
the error budget is over a 30-day SLO window: remaining = 100 x (1 - bad / ((1 - SLO) x total)), which
is negative once the budget is overspent.

- page   when burn(1 h) ≥ 14.4 AND burn(5 m) ≥ 14.4   (2 % of a 30-day budget in one hour)
- ticket when burn(6 h) ≥ 6    AND burn(30 m) ≥ 6     (5 % of the budget in six hours)

Short windows: costopt keeps hourly aggregates, not 5-minute points. When the caller passes the raw
datapoints of the recent past (``recent``, e.g. the pull job right after fetching), the 5 m / 30 m
windows are the last 5 / 30 minutes of those points before ``as_of``. Otherwise each short window is
approximated by the latest complete hour: the short-window condition then asks "is the latest hour
still burning?", which is its purpose (stop alerting once the burn stops) with a reset delay of one
hour instead of 5 minutes. Every clause reports which (``short_window``: "points" | "last_hour").

Status (first match wins)
-------------------------
``no_data`` (nothing ever folded) → ``stale`` (a source is marked stale, or the latest data is older
than ``STALE_AFTER``) → ``breaching`` (a clause pages, or its 30-day error budget is spent) →
``at_risk`` (a clause tickets, or less than 25 % of a budget is left) → ``healthy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from costopt.clock import floor_hour
from costopt.domain.common import Model
from costopt.domain.observation import HourlyAggregate, Metric, Series
from costopt.domain.service import Sla

PAGE_BURN = 14.4
TICKET_BURN = 6.0
PAGE_LONG, PAGE_SHORT = timedelta(hours=1), timedelta(minutes=5)
TICKET_LONG, TICKET_SHORT = timedelta(hours=6), timedelta(minutes=30)
SLO_WINDOW = timedelta(days=30)
STALE_AFTER = timedelta(hours=3)
AT_RISK_BUDGET_PCT = 25.0

Status = Literal["healthy", "at_risk", "breaching", "no_data", "stale"]
ShortWindow = Literal["points", "last_hour"]

# the metrics health needs per service
HEALTH_METRICS = (Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES, Metric.LATENCY_MS, Metric.DURATION_MS)


class ClauseHealth(Model):
    clause: str = Field(description="availability_pct | max_error_rate_pct | latency_p99_ms | latency_p95_ms")
    target: float = Field(description="The SLA value as written (percent or milliseconds)")
    slo: float = Field(description="The SLO as a good-event ratio, e.g. 0.999")
    current: float | None = Field(description="The clause's measure over the last complete hour, in the "
                                              "target's unit (None without data)")
    error_budget_remaining_pct: float | None = Field(description="Over the 30-day SLO window; negative = overspent")
    burn_rate_1h: float | None
    burn_rate_6h: float | None
    burn_rate_5m: float | None
    burn_rate_30m: float | None
    short_window: ShortWindow
    alert: Literal["page", "ticket"] | None = None


class ServiceHealth(Model):
    service_id: str
    status: Status
    last_data_at: datetime | None
    as_of: datetime
    stale_sources: list[str] = Field(default_factory=list)
    clauses: list[ClauseHealth] = Field(default_factory=list)


@dataclass(frozen=True)
class Events:
    """Good/bad event counts at one time (an hour or a datapoint)."""

    t: datetime
    total: float
    bad: float


def bad_ratio(events: Iterable[Events], start: datetime, end: datetime) -> float | None:
    """Bad events / all events in [start, end); None without events."""
    total = bad = 0.0
    for e in events:
        if start <= e.t < end:
            total += e.total
            bad += e.bad
    return bad / total if total > 0 else None


def burn_rate(events: Iterable[Events], start: datetime, end: datetime, slo: float) -> float | None:
    """bad ratio in [start, end) / (1 - slo); None without events."""
    ratio = bad_ratio(events, start, end)
    return None if ratio is None else ratio / (1.0 - slo)


def budget_remaining_pct(events: Iterable[Events], start: datetime, end: datetime, slo: float) -> float | None:
    """Share of the error budget of [start, end) left: 100 x (1 - bad / ((1 - slo) x total))."""
    ratio = bad_ratio(events, start, end)
    return None if ratio is None else 100.0 * (1.0 - ratio / (1.0 - slo))


# --------------------------------------------------------------------------- events from data


def _by_hour(series: Iterable[Sequence[HourlyAggregate]]) -> dict[datetime, HourlyAggregate]:
    """Sum several resources' hourly aggregates per hour (counts add; sums add)."""
    out: dict[datetime, HourlyAggregate] = {}
    for aggs in series:
        for a in aggs:
            h = floor_hour(a.hour)
            prev = out.get(h)
            out[h] = a if prev is None else HourlyAggregate(
                hour=h, count=prev.count + a.count, sum=prev.sum + a.sum,
                min=min(prev.min, a.min), max=max(prev.max, a.max))
    return out


def error_events_hourly(requests: Iterable[Sequence[HourlyAggregate]],
                        errors: Iterable[Sequence[HourlyAggregate]]) -> list[Events]:
    """Per hour: total = requests in the hour (sum of per-period counts), bad = errors (+ throttles)."""
    req = _by_hour(requests)
    err = _by_hour(errors)
    return [Events(h, req[h].sum, min(req[h].sum, err[h].sum if h in err else 0.0)) for h in sorted(req)]


def latency_events_hourly(latency: Iterable[Sequence[HourlyAggregate]], target_ms: float) -> list[Events]:
    """Per resource-hour: total = datapoints, bad = all of them when the hour's mean exceeds the target."""
    out = []
    for aggs in latency:
        for a in aggs:
            out.append(Events(floor_hour(a.hour), float(a.count), float(a.count) if a.mean > target_ms else 0.0))
    return out


def _points_by_t(series: Iterable[Series], metric: Metric) -> dict[datetime, float]:
    out: dict[datetime, float] = {}
    for s in series:
        if s.metric == metric:
            for p in s.points:
                out[p.t] = out.get(p.t, 0.0) + p.v
    return out


def error_events_points(recent: Sequence[Series]) -> list[Events]:
    req = _points_by_t(recent, Metric.REQUESTS)
    err = _points_by_t(recent, Metric.ERRORS)
    thr = _points_by_t(recent, Metric.THROTTLES)
    return [Events(t, v, min(v, err.get(t, 0.0) + thr.get(t, 0.0))) for t, v in sorted(req.items())]


def latency_events_points(recent: Sequence[Series], metric: Metric, target_ms: float) -> list[Events]:
    return [Events(p.t, 1.0, 1.0 if p.v > target_ms else 0.0)
            for s in recent if s.metric == metric for p in s.points]


# --------------------------------------------------------------------------- evaluation


def evaluate_clause(clause: str, target: float, slo: float, hourly: list[Events], as_of: datetime,
                    points: list[Events] | None, current: float | None, with_budget: bool = True) -> ClauseHealth:
    b1 = burn_rate(hourly, as_of - PAGE_LONG, as_of, slo)
    b6 = burn_rate(hourly, as_of - TICKET_LONG, as_of, slo)
    if points:
        b5 = burn_rate(points, as_of - PAGE_SHORT, as_of, slo)
        b30 = burn_rate(points, as_of - TICKET_SHORT, as_of, slo)
        short: ShortWindow = "points"
    else:
        b5 = b30 = b1  # the latest complete hour stands in for both short windows
        short = "last_hour"
    alert: Literal["page", "ticket"] | None = None
    if b1 is not None and b5 is not None and b1 >= PAGE_BURN and b5 >= PAGE_BURN:
        alert = "page"
    elif b6 is not None and b30 is not None and b6 >= TICKET_BURN and b30 >= TICKET_BURN:
        alert = "ticket"
    budget = budget_remaining_pct(hourly, as_of - SLO_WINDOW, as_of, slo) if with_budget else None
    return ClauseHealth(clause=clause, target=target, slo=round(slo, 9), current=_round(current),
                        error_budget_remaining_pct=_round(budget), burn_rate_1h=_round(b1), burn_rate_6h=_round(b6),
                        burn_rate_5m=_round(b5), burn_rate_30m=_round(b30), short_window=short, alert=alert)


def _round(v: float | None, digits: int = 6) -> float | None:
    return None if v is None else round(v, digits)


def service_health(service_id: str, sla: Sla, hourly: dict[Metric, list[list[HourlyAggregate]]], now: datetime,
                   last_data_at: datetime | None, stale_sources: Sequence[str] = (),
                   recent: Sequence[Series] | None = None, with_budget: bool = True) -> ServiceHealth:
    """Health of a service from its hourly aggregates (per metric: one list per resource).

    ``hourly`` should cover at least the 30-day SLO window ending at the last complete hour.
    ``recent``: raw datapoints of the last hour, when the caller has them (exact short windows).
    ``with_budget=False`` skips the 30-day error budget (callers holding only a few hours of data).
    """
    as_of = floor_hour(now)
    last_hour = as_of - timedelta(hours=1)
    clauses: list[ClauseHealth] = []

    error_specs: list[tuple[str, float, float]] = []
    if sla.availability_pct is not None:
        error_specs.append(("availability_pct", sla.availability_pct, sla.availability_pct / 100.0))
    if sla.max_error_rate_pct is not None:
        error_specs.append(("max_error_rate_pct", sla.max_error_rate_pct, 1.0 - sla.max_error_rate_pct / 100.0))
    if error_specs:
        bad_series = hourly.get(Metric.ERRORS, []) + hourly.get(Metric.THROTTLES, [])
        events = error_events_hourly(hourly.get(Metric.REQUESTS, []), bad_series)
        points = error_events_points(recent) if recent else None
        last = [e for e in events if e.t == last_hour and e.total > 0]
        ratio = (last[0].bad / last[0].total) if last else None
        for name, target, slo in error_specs:
            if slo >= 1.0:
                continue  # a 100 % target has no error budget to burn
            current = None if ratio is None else (100.0 * (1 - ratio) if name == "availability_pct" else 100.0 * ratio)
            clauses.append(evaluate_clause(name, target, slo, events, as_of, points, current, with_budget))

    latency_metric = Metric.LATENCY_MS if hourly.get(Metric.LATENCY_MS) else Metric.DURATION_MS
    latency_specs: list[tuple[str, float | None, float]] = [
        ("latency_p99_ms", sla.latency_p99_ms, 0.99), ("latency_p95_ms", sla.latency_p95_ms, 0.95)]
    for name, limit, slo in latency_specs:
        if limit is None:
            continue
        target = limit
        data = hourly.get(latency_metric, [])
        events = latency_events_hourly(data, target)
        points = latency_events_points(recent, latency_metric, target) if recent else None
        last_aggs = [a for aggs in data for a in aggs if floor_hour(a.hour) == last_hour]
        current = max((a.mean for a in last_aggs), default=None)
        clauses.append(evaluate_clause(name, target, slo, events, as_of, points, current, with_budget))

    status: Status
    if last_data_at is None:
        status = "no_data"
    elif stale_sources or now - last_data_at > STALE_AFTER:
        status = "stale"
    elif any(c.alert == "page" or (c.error_budget_remaining_pct is not None and c.error_budget_remaining_pct <= 0)
             for c in clauses):
        status = "breaching"
    elif any(c.alert == "ticket" or (c.error_budget_remaining_pct is not None
                                     and c.error_budget_remaining_pct < AT_RISK_BUDGET_PCT) for c in clauses):
        status = "at_risk"
    else:
        status = "healthy"
    return ServiceHealth(service_id=service_id, status=status, last_data_at=last_data_at, as_of=as_of,
                         stale_sources=sorted(stale_sources), clauses=clauses)
