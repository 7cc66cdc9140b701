"""Routes of the ``discover`` function: discovery of live resources, and pulling one service's history now.

``POST /v1/discover`` finds, registers and backfills (:mod:`costopt.jobs.discover`) within the time API
Gateway waits; ``POST /v1/services/{service_id}/pull`` pulls a service's history now and answers 200 when
it is complete, 202 with the status's ``Location`` when the hourly pull has more to do;
``GET /v1/services/{service_id}/pull`` reads that status (:mod:`costopt.jobs.pull_now`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt import clock
from costopt.api.schemas import ServiceIdPath
from costopt.domain.discovery import DiscoverReport, DiscoverRequest
from costopt.domain.pull import PullProgress
from costopt.http import READ, WRITE
from costopt.jobs import discover as discovery
from costopt.jobs import pull_now

router = APIGatewayHttpRouter()

API_BUDGET_S = 25.0  # API Gateway waits 30 s: answer within this, the hourly pull continues the backfill
MARGIN_S = 3.0


def _budget() -> float:
    context = getattr(router, "lambda_context", None)
    remaining = context.get_remaining_time_in_millis() / 1000.0 if context is not None else API_BUDGET_S
    return max(0.0, min(API_BUDGET_S, remaining) - MARGIN_S)


@router.post("/v1/discover", security=WRITE, tags=["discovery"],
             summary="Find live resources by tag, stack or ECS cluster and register them as services",
             responses={200: {"description": "What was found, planned and done; the backfill's progress"}})
def post_discover(body: DiscoverRequest) -> DiscoverReport:
    return discovery.discover(body, clock.now(), deadline_s=_budget())


@router.post("/v1/services/<service_id>/pull", security=WRITE, tags=["discovery"],
             summary="Pull the service's telemetry and billing history now",
             responses={200: {"description": "The history is complete"},
                        202: {"description": "Pulled as far as time allowed; the status is at Location"},
                        404: {"description": "Unknown service"}})
def post_pull(service_id: ServiceIdPath) -> Response[PullProgress]:
    progress = pull_now.pull_service_now(service_id, clock.now(), _budget())
    document: Any = progress.model_dump(mode="json")
    if progress.state == "in_progress":
        return Response(status_code=202, content_type="application/json", body=document,
                        headers={"Location": f"/v1/services/{service_id}/pull"})
    return Response(status_code=200, content_type="application/json", body=document)


@router.get("/v1/services/<service_id>/pull", security=READ, tags=["discovery"],
            summary="How far the service's history pull has got", responses={404: {"description": "Unknown service"}})
def get_pull(service_id: ServiceIdPath) -> PullProgress:
    return pull_now.pull_progress(service_id, clock.now())
