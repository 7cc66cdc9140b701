"""API schemas of the recommend routes: the recommend and dismiss bodies, the recommend answer, the page."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.recommendation import InsufficientData, Recommendation, RejectedOption, Strategy


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



class RecommendationPage(Model):
    items: list[Recommendation]
    next_token: str | None = None
