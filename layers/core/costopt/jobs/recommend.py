"""Recommend for one service with I/O: load the service, its usage and prices, run the pure engine,
persist (the new ACTIVE set supersedes the old one). Used by ``POST /v1/recommend`` and by the daily
recompute.

``run_recommend(service_id, *, lookback_days=None, strategy=None, resource_ids=None, now=None,
                persist=True, services=None, recommendations=None) -> RecommendationResult``
    lookback_days defaults to the service's ``policy.lookback_days``, strategy to ``policy.strategy``.
    NotFound (404) when the service does not exist; BadRequest (400) for a lookback outside 1-93 days.
``recommend_service(service, *, ...same...)`` the same for a Service already loaded (recompute batches).

Resources discovery marked vanished (``vanished_at`` set) are left out: they get no recommendations
(their earlier ACTIVE ones are superseded with the rest).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from costopt import clock, deps
from costopt.domain.recommendation import Recommendation, Strategy
from costopt.domain.service import Service
from costopt.engine.recommend import RecommendationResult, recommend
from costopt.jobs.usage import load_usage
from costopt.ports import Recommendations, Services

ROLLBACK_MEMORY_DAYS = 30  # options like one that was rolled back stay rejected this long


def recommend_service(service: Service, *, lookback_days: int | None = None, strategy: Strategy | None = None,
                      resource_ids: Iterable[str] | None = None, now: datetime | None = None, persist: bool = True,
                      recommendations: Recommendations | None = None) -> RecommendationResult:
    now = now or clock.now()
    if any(r.vanished_at is not None for r in service.resources):  # discovery no longer finds them: no advice
        service = service.model_copy(update={"resources": [r for r in service.resources if r.vanished_at is None]})
    lookback = lookback_days or service.policy.lookback_days
    ids = list(resource_ids) if resource_ids is not None else None
    usage = load_usage(service, lookback, now)
    catalog = deps.catalog(service.region)
    recommendations = recommendations or deps.recommendations()
    result = recommend(service, usage, catalog, strategy=strategy or service.policy.strategy, now=now,
                       resource_ids=ids, rolled_back=recently_rolled_back(recommendations, service.service_id, now))
    if persist:
        recommendations.replace_active(service.service_id, result.recommendations, now=now, resource_ids=ids)
    return result


def recently_rolled_back(recommendations: Recommendations, service_id: str,
                         now: datetime) -> list[Recommendation]:
    """ROLLED_BACK recommendations of the last ``ROLLBACK_MEMORY_DAYS`` days (newest first)."""
    since = now - timedelta(days=ROLLBACK_MEMORY_DAYS)
    out: list[Recommendation] = []
    token: str | None = None
    while True:
        items, token = recommendations.list(service_id, status="ROLLED_BACK", limit=100, next_token=token)
        out += [r for r in items if r.updated_at >= since]
        if token is None or (items and items[-1].created_at < since):
            return out


def run_recommend(service_id: str, *, lookback_days: int | None = None, strategy: Strategy | None = None,
                  resource_ids: Iterable[str] | None = None, now: datetime | None = None, persist: bool = True,
                  services: Services | None = None,
                  recommendations: Recommendations | None = None) -> RecommendationResult:
    service = (services or deps.services()).get(service_id)
    return recommend_service(service, lookback_days=lookback_days, strategy=strategy, resource_ids=resource_ids,
                             now=now, persist=persist, recommendations=recommendations)
