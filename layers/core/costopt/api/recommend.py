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

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.api.schemas import NextToken, PageLimit, RecommendationIdPath, ServiceIdPath
from costopt.api.schemas.recommendations import (
    DismissRequest,
    RecommendationPage,
    RecommendRequest,
    RecommendResponse,
)
from costopt.domain.recommendation import Recommendation, RecommendationStatus
from costopt.http import READ, WRITE
from costopt.jobs import recommendations_view

router = APIGatewayHttpRouter()


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
    limit: PageLimit = 50,
    next_token: NextToken = None,
) -> RecommendationPage:
    items, token = recommendations_view.list_recommendations(service_id, status=status, limit=limit,
                                                             next_token=next_token)
    return RecommendationPage(items=items, next_token=token)


@router.post("/v1/recommendations/<service_id>/<recommendation_id>/dismiss", security=WRITE,
             tags=["recommendations"], summary="Dismiss a recommendation (or restore a dismissed one)",
             responses={404: {"description": "No such recommendation"},
                        409: {"description": "Stale etag, or not in a state that allows it"}})
def dismiss_recommendation(service_id: ServiceIdPath, recommendation_id: RecommendationIdPath,
                           body: DismissRequest) -> Recommendation:
    return recommendations_view.dismiss_recommendation(service_id, recommendation_id, etag=body.etag,
                                                       reason=body.reason, restore=body.restore)
