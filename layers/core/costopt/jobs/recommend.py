"""Recommend for one service with I/O: load the service, its usage and prices, run the pure engine,
persist (the new ACTIVE set supersedes the old one). Used by ``POST /v1/recommend`` and by the daily
recompute.

``run_recommend(service_id, *, lookback_days=None, strategy=None, resource_ids=None, now=None,
                persist=True, services=None, recommendations=None) -> RecommendationResult``
    lookback_days defaults to the service's ``policy.lookback_days``, strategy to ``policy.strategy``.
    NotFound (404) when the service does not exist; BadRequest (400) for a lookback outside 1-93 days.
``recommend_service(service, *, ...same...)`` the same for a Service already loaded (recompute batches).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from costopt.domain.recommendation import Strategy
from costopt.domain.service import Service
from costopt.engine.recommend import RecommendationResult, recommend

if TYPE_CHECKING:
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository


def recommend_service(service: Service, *, lookback_days: int | None = None, strategy: Strategy | None = None,
                      resource_ids: Iterable[str] | None = None, now: datetime | None = None, persist: bool = True,
                      recommendations: RecommendationRepository | None = None) -> RecommendationResult:
    from costopt.observe.usage import load_usage
    from costopt.pricing import get_catalog

    now = now or datetime.now(UTC)
    lookback = lookback_days or service.policy.lookback_days
    ids = list(resource_ids) if resource_ids is not None else None
    usage = load_usage(service, lookback, now)
    catalog = get_catalog(service.region)
    result = recommend(service, usage, catalog, strategy=strategy or service.policy.strategy, now=now,
                       resource_ids=ids)
    if persist:
        if recommendations is None:
            from costopt.store.recommendations import RecommendationRepository
            recommendations = RecommendationRepository()
        recommendations.replace_active(service.service_id, result.recommendations, now=now, resource_ids=ids)
    return result


def run_recommend(service_id: str, *, lookback_days: int | None = None, strategy: Strategy | None = None,
                  resource_ids: Iterable[str] | None = None, now: datetime | None = None, persist: bool = True,
                  services: ServiceRepository | None = None,
                  recommendations: RecommendationRepository | None = None) -> RecommendationResult:
    if services is None:
        from costopt.store.services import ServiceRepository
        services = ServiceRepository()
    service = services.get(service_id)
    return recommend_service(service, lookback_days=lookback_days, strategy=strategy, resource_ids=resource_ids,
                             now=now, persist=persist, recommendations=recommendations)
