"""The HTTP contract apart from the domain: request bodies and parameters, and response envelopes.

Domain models (``Service``, ``Recommendation``, ``Change``, ``Scenario``...) travel as they are;
what only the API has lives here: the bodies a route reads (``MetricQuery``, ``RecommendRequest``,
``DismissRequest``, ``BatchRequest``, ``RollbackRequest``), the path and query parameters routes share,
and the envelopes around domain values (pages with ``next_token``, ``MetricPoints``,
``RecommendResponse``, ``TemplateList``). Class names are the OpenAPI component names clients see:
keep them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field, field_validator, model_validator

from costopt.domain.change import Change
from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.observation import Metric
from costopt.domain.recommendation import InsufficientData, Recommendation, RejectedOption, Strategy
from costopt.domain.service import ServiceSummary
from costopt.domain.simulation import MAX_BATCH, TemplateInfo
from costopt.jobs.metrics import MAX_RANGE, QUANTILES, Period, Point, Stat

# --------------------------------------------------------------------------- parameters

ServiceIdPath = Annotated[ServiceId, Path(description="3-64 chars: lowercase letters, digits, '-'")]
ChangeIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# the ids the recommend routes take are generated ones; rollback accepts any id an apply was given
RecommendationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-z]+$")]
AppliedRecommendationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SimulationIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="As returned by POST")]
PageLimit = Annotated[int, Query(ge=1, le=100)]
NextToken = Annotated[str | None, Query(max_length=2048)]

# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- recommendations


class RecommendRequest(Model):
    service_id: ServiceId
    lookback_days: int | None = Field(default=None, ge=1, le=93,
                                      description="Defaults to the service's policy.lookback_days (14)")
    strategy: Strategy | None = Field(default=None, description="Lambda memory strategy; defaults to policy.strategy")
    resource_ids: list[ResourceId] | None = Field(default=None, min_length=1, max_length=100,
                                                  description="Only these resources (default: all)")


class RecommendResponse(Model):
    service_id: ServiceId
    generated_at: datetime
    strategy: Strategy
    lookback_days: int
    data_coverage_pct: float
    current_monthly_cost_usd: float
    model_vs_bill_pct: float | None = Field(
        default=None, description="The modelled current cost vs the bill over the lookback, in % (None: no bill)")
    recommendations: list[Recommendation]
    rejected: list[RejectedOption]
    insufficient_data: list[InsufficientData]
    warnings: list[str]


class DismissRequest(Model):
    etag: str = Field(min_length=1, max_length=64, description="The etag you read")
    reason: str | None = Field(default=None, max_length=1024)
    restore: bool = Field(default=False, description="true: bring a DISMISSED recommendation back to ACTIVE")


# --------------------------------------------------------------------------- changes and simulations


class RollbackRequest(Model):
    reason: str | None = Field(default=None, min_length=1, max_length=1024)


class BatchRequest(Model):
    scenarios: list[Any] = Field(
        min_length=1,
        description=f"Up to {MAX_BATCH} scenarios, each shaped as the body of POST /v1/simulate (more is a 413). "
                    "Each is validated on its own: an invalid one gets its own problem entry.",
    )


class TemplateList(Model):
    items: list[TemplateInfo]


# --------------------------------------------------------------------------- pages


class ServicePage(Model):
    items: list[ServiceSummary]
    next_token: str | None = None


class RecommendationPage(Model):
    items: list[Recommendation]
    next_token: str | None = None


class ChangePage(Model):
    items: list[Change]
    next_token: str | None = None
