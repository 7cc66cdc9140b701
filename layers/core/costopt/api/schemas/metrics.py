"""API schemas of the metrics routes: the metric query body, its points, and the page of services with health."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field, field_validator, model_validator

from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.observation import Metric
from costopt.domain.service import ServiceSummary
from costopt.jobs.metrics import MAX_RANGE, QUANTILES, Period, Point, Stat


class MetricQuery(Model):
    service_id: ServiceId
    resource_id: ResourceId | None = Field(default=None, description="Omit to combine every resource")
    metric: Metric
    stat: Stat = "avg"
    period: Period = "hour"
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
        if self.period == "hour" and self.stat in QUANTILES:
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
    period: Period
    points: list[MetricPoint]

    @classmethod
    def of(cls, query: MetricQuery, points: list[Point]) -> MetricPoints:
        return cls(service_id=query.service_id, resource_id=query.resource_id, metric=query.metric,
                   stat=query.stat, period=query.period, points=[MetricPoint(t=t, v=v) for t, v in points])



class ServicePage(Model):
    items: list[ServiceSummary]
    next_token: str | None = None
