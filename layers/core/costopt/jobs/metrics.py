"""Reading what was observed: metric series of a service, and its SLO health (one or a page of services).

- :func:`query_metric` reads the Observations table: ``period=hour`` from the hourly aggregates
  (count/sum/min/max per hour: stats avg, max, sum; hourly percentiles are not kept, so p50/p95/p99
  need ``period=day``), ``period=day`` from the day sketches (DDSketch, 1 % relative accuracy: avg,
  max, sum, p50, p95, p99). A day point covers the whole UTC day (t = 00:00) of every day the range
  touches. Without ``resource_id`` the service's resources are combined: sums and counts add, max is
  the max, percentiles come from the merged sketches (and for ``cost_usd`` the unattributed
  ``_service`` cost is included).
- :func:`services_with_health` is a page of services with a quick health each (freshness, and the
  1 h/6 h burn-rate alerts over the last hours of data; the 30-day error budget only in
  :func:`service_health_of`). The page's services, their day items and their last-data marks are each
  read in one batch (BatchGet), not once per service; freshness is one Query per service.
- :func:`service_health_of`: :func:`costopt.observe.health.service_health` over 30 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from costopt import clock, deps
from costopt.clock import floor_hour
from costopt.domain.observation import HourlyAggregate, Metric
from costopt.domain.service import Service, ServiceSummary
from costopt.errors import NotFound
from costopt.observe.health import HEALTH_METRICS, ServiceHealth, service_health

if TYPE_CHECKING:
    from costopt.observe.sketch import MetricSummary

MAX_RANGE = timedelta(days=93)
HEALTH_WINDOW = timedelta(days=31)       # the 30-day SLO window plus the day it starts in
LIST_HEALTH_WINDOW = timedelta(hours=7)

Stat = Literal["avg", "max", "sum", "p50", "p95", "p99"]
Period = Literal["hour", "day"]
QUANTILES: dict[str, float] = {"p50": 0.50, "p95": 0.95, "p99": 0.99}

Point = tuple[datetime, float]


# --------------------------------------------------------------------------- query


def _hour_value(aggs: list[HourlyAggregate], stat: str) -> float:
    if stat == "max":
        return max(a.max for a in aggs)
    total = sum(a.sum for a in aggs)
    if stat == "sum":
        return total
    count = sum(a.count for a in aggs)
    return total / count if count else 0.0


def _day_value(merged: MetricSummary, stat: str) -> float | None:
    if stat in QUANTILES:
        return merged.quantile(QUANTILES[stat])
    if stat == "max":
        return merged.max
    if stat == "sum":
        return merged.sum
    return merged.mean


def _resource_ids(service: Service, metric: Metric, resource_id: str | None) -> list[str]:
    from costopt.domain.metrics import SERVICE_TOTAL

    if resource_id is not None:
        if service.resource(resource_id) is None and resource_id != SERVICE_TOTAL:
            raise NotFound(f"service {service.service_id!r} has no resource {resource_id!r}")
        return [resource_id]
    rids = [r.resource_id for r in service.resources]
    if metric == Metric.COST_USD:
        rids.append(SERVICE_TOTAL)
    return rids


def query_metric(service_id: str, metric: Metric, start: datetime, end: datetime, *, stat: Stat = "avg",
                 period: Period = "hour", resource_id: str | None = None) -> list[Point]:
    """The (t, value) points of a metric in [start, end), oldest first (404: no such service or resource)."""
    from costopt.observe.sketch import MetricSummary, day_start

    service = deps.services().get(service_id)
    rids = _resource_ids(service, metric, resource_id)
    last_day = (end - timedelta(microseconds=1)).date()
    days = deps.observations().day_summaries(service_id, [(rid, metric) for rid in rids], start.date(), last_day)
    if period == "hour":
        by_hour: dict[datetime, list[HourlyAggregate]] = {}
        for summaries in days.values():
            for d in summaries:
                for a in d.hourly_list():
                    if start <= a.hour < end and a.count:
                        by_hour.setdefault(a.hour, []).append(a)
        return [(h, _hour_value(aggs, stat)) for h, aggs in sorted(by_hour.items())]
    by_day: dict[date, list[MetricSummary]] = {}
    for summaries in days.values():
        for d in summaries:
            if d.summary.count:
                by_day.setdefault(d.day, []).append(d.summary)
    points: list[Point] = []
    for day, parts in sorted(by_day.items()):
        value = _day_value(MetricSummary.merged(parts), stat)
        if value is not None:
            points.append((day_start(day), float(value)))
    return points


# --------------------------------------------------------------------------- health


def healths_of(services: Sequence[Service], now: datetime, window: timedelta = HEALTH_WINDOW,
               with_budget: bool = True) -> dict[str, ServiceHealth]:
    """Load what health needs for every service at once (one BatchGet of day items, one of last-data
    marks, a freshness Query each) and evaluate it, by service id."""
    from costopt.domain.metrics import METRICS_BY_KIND

    obs = deps.observations()
    as_of = floor_hour(now)
    start = as_of - window
    keys = [(s.service_id, r.resource_id, m) for s in services for r in s.resources for m in HEALTH_METRICS
            if m in METRICS_BY_KIND.get(r.kind, ())]
    days = obs.day_summaries_many(keys, start.date(), as_of.date()) if keys else {}
    hourly: dict[str, dict[Metric, list[list[HourlyAggregate]]]] = {}
    for (service_id, _, metric), summaries in days.items():
        aggs = [a for d in summaries for a in d.hourly_list() if start <= a.hour < as_of]
        if aggs:
            hourly.setdefault(service_id, {}).setdefault(metric, []).append(aggs)
    last_data = obs.last_data_at_many(s.service_id for s in services)
    out: dict[str, ServiceHealth] = {}
    for s in services:
        stale = [name for name, f in obs.freshness(s.service_id).items() if f.stale]
        out[s.service_id] = service_health(s.service_id, s.sla, hourly.get(s.service_id, {}), now,
                                           last_data.get(s.service_id), stale_sources=stale,
                                           with_budget=with_budget)
    return out


def health_of(service: Service, now: datetime, window: timedelta = HEALTH_WINDOW,
              with_budget: bool = True) -> ServiceHealth:
    """The health of one service (see :func:`healths_of`)."""
    return healths_of([service], now, window, with_budget)[service.service_id]


def service_health_of(service_id: str) -> ServiceHealth:
    """SLO health now over 30 days: burn rates, error budget, status (404: no such service)."""
    return health_of(deps.services().get(service_id), clock.now())


def services_with_health(limit: int = 50, next_token: str | None = None,
                         team: str | None = None) -> tuple[list[ServiceSummary], str | None]:
    """A page of services, each with ``health`` and ``last_data_at`` (quick status, no error budget)."""
    repo = deps.services()
    items, token = repo.list(limit=limit, next_token=next_token, team=team)
    found = repo.find_many(i.service_id for i in items)
    healths = healths_of(list(found.values()), clock.now(), LIST_HEALTH_WINDOW, with_budget=False)
    return [_with_health(item, healths.get(item.service_id)) for item in items], token


def _with_health(item: ServiceSummary, health: ServiceHealth | None) -> ServiceSummary:
    if health is None:  # deleted since it was listed
        return item
    return item.model_copy(update={"health": health.status, "last_data_at": health.last_data_at})


__all__ = ["LIST_HEALTH_WINDOW", "MAX_RANGE", "QUANTILES", "Period", "Point", "ServiceHealth", "Stat",
           "health_of", "healths_of", "query_metric", "service_health_of", "services_with_health"]
