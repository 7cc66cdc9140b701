"""Stored recommendations as a person triages them: list a service's, dismiss one or restore it.

Dismiss moves ACTIVE -> DISMISSED, restore DISMISSED -> ACTIVE, each conditional on the etag read:
a stale etag or another state is a 409 (``current_status``, ``current_etag``); an unknown one a 404.
"""

from __future__ import annotations

from costopt import deps
from costopt.domain.recommendation import Recommendation, RecommendationStatus


def list_recommendations(service_id: str, status: RecommendationStatus | None = None, limit: int = 50,
                         next_token: str | None = None) -> tuple[list[Recommendation], str | None]:
    """A page of the service's recommendations, newest first (only ``status`` when given)."""
    return deps.recommendations().list(service_id, status=status, limit=limit, next_token=next_token)


def dismiss_recommendation(service_id: str, recommendation_id: str, *, etag: str, reason: str | None = None,
                           restore: bool = False) -> Recommendation:
    """Dismiss (or, with ``restore``, bring back) a recommendation; 404 before 409."""
    repo = deps.recommendations()
    repo.get(service_id, recommendation_id)
    from_status, to_status = ("DISMISSED", "ACTIVE") if restore else ("ACTIVE", "DISMISSED")
    return repo.transition(service_id, recommendation_id, expected_etag=etag, from_statuses={from_status},
                           to_status=to_status, status_reason=reason)
