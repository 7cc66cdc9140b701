"""Routes of the ``recommend`` function: compute recommendations, list them, dismiss/restore one.

- ``POST /v1/recommend`` (write): recompute for a service; the new set supersedes its ACTIVE ones
  (only those of ``resource_ids`` when given).
- ``GET /v1/recommendations/{service_id}?status=&limit=&next_token=`` (read): newest first.
- ``POST /v1/recommendations/{service_id}/{recommendation_id}/dismiss`` (write): body ``{etag, reason?,
  restore?}``. ``restore: false`` (default) moves ACTIVE -> DISMISSED; ``restore: true`` moves DISMISSED ->
  ACTIVE. A stale ``etag`` or a recommendation in another state -> 409 with ``current_status`` and
  ``current_etag``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.recommendation import (
    InsufficientData,
    Recommendation,
    RecommendationStatus,
    RejectedOption,
    Strategy,
)
from costopt.http import READ, WRITE

router = APIGatewayHttpRouter()

ServiceIdPath = Annotated[ServiceId, Path(description="3-64 chars: lowercase letters, digits, '-'")]
RecommendationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-z]+$")]


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


class RecommendationPage(Model):
    items: list[Recommendation]
    next_token: str | None = None


class DismissRequest(Model):
    etag: str = Field(min_length=1, max_length=64, description="The etag you read")
    reason: str | None = Field(default=None, max_length=1024)
    restore: bool = Field(default=False, description="true: bring a DISMISSED recommendation back to ACTIVE")


@router.post("/v1/recommend", security=WRITE, tags=["recommendations"],
             summary="Compute SLA-checked recommendations for a service",
             responses={404: {"description": "No such service"}})
def post_recommend(body: RecommendRequest) -> RecommendResponse:
    from costopt.jobs.recommend import run_recommend

    result = run_recommend(body.service_id, lookback_days=body.lookback_days, strategy=body.strategy,
                           resource_ids=body.resource_ids)
    return RecommendResponse(
        service_id=result.service_id, generated_at=result.generated_at, strategy=result.strategy,
        lookback_days=result.lookback_days, data_coverage_pct=result.data_coverage_pct,
        current_monthly_cost_usd=result.current_monthly_cost_usd, model_vs_bill_pct=result.model_vs_bill_pct,
        recommendations=result.recommendations,
        rejected=result.rejected, insufficient_data=result.insufficient, warnings=result.warnings,
    )


@router.get("/v1/recommendations/<service_id>", security=READ, tags=["recommendations"],
            summary="List a service's recommendations, newest first")
def list_recommendations(
    service_id: ServiceIdPath,
    status: Annotated[RecommendationStatus | None, Query(description="Only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> RecommendationPage:
    from costopt.store.recommendations import RecommendationRepository

    items, token = RecommendationRepository().list(service_id, status=status, limit=limit, next_token=next_token)
    return RecommendationPage(items=items, next_token=token)


@router.post("/v1/recommendations/<service_id>/<recommendation_id>/dismiss", security=WRITE,
             tags=["recommendations"], summary="Dismiss a recommendation (or restore a dismissed one)",
             responses={404: {"description": "No such recommendation"},
                        409: {"description": "Stale etag, or not in a state that allows it"}})
def dismiss_recommendation(service_id: ServiceIdPath, recommendation_id: RecommendationIdPath,
                           body: DismissRequest) -> Recommendation:
    from costopt.store.recommendations import RecommendationRepository

    repo = RecommendationRepository()
    repo.get(service_id, recommendation_id)  # 404 before 409
    if body.restore:
        return repo.transition(service_id, recommendation_id, expected_etag=body.etag,
                               from_statuses={"DISMISSED"}, to_status="ACTIVE", status_reason=body.reason)
    return repo.transition(service_id, recommendation_id, expected_etag=body.etag, from_statuses={"ACTIVE"},
                           to_status="DISMISSED", status_reason=body.reason)
