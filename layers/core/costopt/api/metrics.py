"""Routes of the ``metrics`` function: metric queries, the service list with health, service health.

- ``POST /v1/metrics/query`` reads the Observations table: ``period=hour`` from the hourly aggregates
  (count/sum/min/max per hour: stats avg, max, sum; hourly percentiles are not kept, so p50/p95/p99
  need ``period=day``), ``period=day`` from the day sketches (DDSketch, 1 % relative accuracy: avg,
  max, sum, p50, p95, p99). A day point covers the whole UTC day (t = 00:00) of every day the range
  touches. Without ``resource_id`` the service's resources are combined: sums and counts add, max is
  the max, percentiles come from the merged sketches (and for ``cost_usd`` the unattributed
  ``_service`` cost is included). Range: start < end, at most 93 days, else 422.
- ``GET /v1/metrics/services`` lists services (GSI Query) with a health summary each: ``health`` and
  ``last_data_at``. The list's status is the quick one: freshness, and the 1 h/6 h burn-rate alerts
  over the last two days of data (the 30-day error budget is only evaluated by the health route).
- ``GET /v1/metrics/{service_id}/health``: :func:`costopt.observe.health.service_health` over 30 days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field, field_validator, model_validator

from costopt import clock
from costopt.clock import floor_hour
from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.observation import HourlyAggregate, Metric
from costopt.domain.service import Service, ServicePage
from costopt.errors import NotFound
from costopt.http import READ
from costopt.observe.health import HEALTH_METRICS, ServiceHealth, service_health

router = APIGatewayHttpRouter()

MAX_RANGE = timedelta(days=93)
HEALTH_DAYS = 31           # the 30-day SLO window plus the day it starts in
LIST_HEALTH_WINDOW = timedelta(hours=7)

ServiceIdPath = Annotated[ServiceId, Path(description="3-64 chars: lowercase letters, digits, '-'")]
Stat = Literal["avg", "max", "sum", "p50", "p95", "p99"]
_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


class MetricQuery(Model):
    service_id: ServiceId
    resource_id: ResourceId | None = Field(default=None, description="Omit to combine every resource")
    metric: Metric
    stat: Stat = "avg"
    period: Literal["hour", "day"] = "hour"
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        try:
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC time
            raise ValueError("the time is out of range in UTC") from None

    @model_validator(mode="after")
    def _range(self) -> MetricQuery:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if self.end - self.start > MAX_RANGE:
            raise ValueError("the range is at most 93 days")
        if self.period == "hour" and self.stat in _QUANTILES:
            raise ValueError("hourly aggregates keep count/sum/min/max only: use period=day for percentiles, "
                             "or stat avg|max|sum per hour")
        return self


class MetricPoint(Model):
    t: datetime
    v: float


class MetricPoints(Model):
    service_id: str
    resource_id: str | None
    metric: Metric
    stat: Stat
    period: Literal["hour", "day"]
    points: list[MetricPoint]


def _services() -> Any:
    from costopt.store.services import ServiceRepository

    return ServiceRepository()


def _observations() -> Any:
    from costopt.store.observations import ObservationRepository

    return ObservationRepository()


# --------------------------------------------------------------------------- query


def _hour_value(aggs: list[HourlyAggregate], stat: str) -> float:
    if stat == "max":
        return max(a.max for a in aggs)
    total = sum(a.sum for a in aggs)
    if stat == "sum":
        return total
    count = sum(a.count for a in aggs)
    return total / count if count else 0.0


def query_metric(q: MetricQuery) -> MetricPoints:
    from costopt.domain.metrics import SERVICE_TOTAL
    from costopt.observe.sketch import MetricSummary, day_start

    service: Service = _services().get(q.service_id)
    if q.resource_id is not None:
        if service.resource(q.resource_id) is None and q.resource_id != SERVICE_TOTAL:
            raise NotFound(f"service {q.service_id!r} has no resource {q.resource_id!r}")
        rids = [q.resource_id]
    else:
        rids = [r.resource_id for r in service.resources]
        if q.metric == Metric.COST_USD:
            rids.append(SERVICE_TOTAL)
    last_day = (q.end - timedelta(microseconds=1)).date()
    days = _observations().day_summaries(q.service_id, [(rid, q.metric) for rid in rids], q.start.date(), last_day)
    points: list[MetricPoint] = []
    if q.period == "hour":
        by_hour: dict[datetime, list[HourlyAggregate]] = {}
        for summaries in days.values():
            for d in summaries:
                for a in d.hourly_list():
                    if q.start <= a.hour < q.end and a.count:
                        by_hour.setdefault(a.hour, []).append(a)
        points = [MetricPoint(t=h, v=_hour_value(aggs, q.stat)) for h, aggs in sorted(by_hour.items())]
    else:
        by_day: dict[date, list[MetricSummary]] = {}
        for summaries in days.values():
            for d in summaries:
                if d.summary.count:
                    by_day.setdefault(d.day, []).append(d.summary)
        for day, parts in sorted(by_day.items()):
            merged = MetricSummary.merged(parts)
            value: float | None
            if q.stat in _QUANTILES:
                value = merged.quantile(_QUANTILES[q.stat])
            elif q.stat == "max":
                value = merged.max
            elif q.stat == "sum":
                value = merged.sum
            else:
                value = merged.mean
            if value is not None:
                points.append(MetricPoint(t=day_start(day), v=float(value)))
    return MetricPoints(service_id=q.service_id, resource_id=q.resource_id, metric=q.metric, stat=q.stat,
                        period=q.period, points=points)


# --------------------------------------------------------------------------- health


def health_of(service: Service, now: datetime, window: timedelta = timedelta(days=HEALTH_DAYS),
              obs: Any = None, with_budget: bool = True) -> ServiceHealth:
    """Load what health needs (BatchGet of day items, freshness, last data) and evaluate it."""
    from costopt.domain.metrics import METRICS_BY_KIND

    obs = obs or _observations()
    as_of = floor_hour(now)
    start = as_of - window
    keys = [(r.resource_id, m) for r in service.resources for m in HEALTH_METRICS
            if m in METRICS_BY_KIND.get(r.kind, ())]
    days = obs.day_summaries(service.service_id, keys, start.date(), as_of.date()) if keys else {}
    hourly: dict[Metric, list[list[HourlyAggregate]]] = {}
    for (_, metric), summaries in days.items():
        aggs = [a for d in summaries for a in d.hourly_list() if start <= a.hour < as_of]
        if aggs:
            hourly.setdefault(metric, []).append(aggs)
    stale = [name for name, f in obs.freshness(service.service_id).items() if f.stale]
    return service_health(service.service_id, service.sla, hourly, now, obs.last_data_at(service.service_id),
                          stale_sources=stale, with_budget=with_budget)


@router.post("/v1/metrics/query", security=READ, tags=["metrics"],
             summary="A metric of a service over time, per hour or per day")
def post_query(body: MetricQuery) -> MetricPoints:
    return query_metric(body)


@router.get("/v1/metrics/services", security=READ, tags=["metrics"],
            summary="Services with a health summary (status and last data)")
def list_services(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
    team: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> ServicePage:
    services = _services()
    items, token = services.list(limit=limit, next_token=next_token, team=team)
    now = clock.now()
    obs = _observations()
    out = []
    for item in items:
        service = services.find(item.service_id)
        if service is None:
            out.append(item)
            continue
        health = health_of(service, now, LIST_HEALTH_WINDOW, obs, with_budget=False)
        out.append(item.model_copy(update={"health": health.status, "last_data_at": health.last_data_at}))
    return ServicePage(items=out, next_token=token)


@router.get("/v1/metrics/<service_id>/health", security=READ, tags=["metrics"],
            summary="SLO health: burn rates, error budget, status")
def get_health(service_id: ServiceIdPath) -> ServiceHealth:
    service = _services().get(service_id)
    return health_of(service, clock.now())


__all__ = ["MetricPoints", "MetricQuery", "health_of", "query_metric", "router"]
