"""Routes of the ``metrics`` function: metric queries, the service list with health, service health.

The reading itself is :mod:`costopt.jobs.metrics`:
- ``POST /v1/metrics/query``: :func:`~costopt.jobs.metrics.query_metric` (``period=hour`` from the
  hourly aggregates: avg, max, sum; ``period=day`` from the day sketches: also p50, p95, p99; without
  ``resource_id`` the service's resources combined). Range: start < end, at most 93 days, else 422.
- ``GET /v1/metrics/services`` lists services (GSI Query) with a health summary each: ``health`` and
  ``last_data_at`` (the quick status: freshness and the 1 h/6 h burn-rate alerts; no error budget).
- ``GET /v1/metrics/{service_id}/health``: :func:`costopt.observe.health.service_health` over 30 days.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.api.schemas import NextToken, PageLimit, ServiceIdPath
from costopt.api.schemas.metrics import MetricPoints, MetricQuery, ServicePage
from costopt.http import READ
from costopt.jobs import metrics
from costopt.jobs.metrics import ServiceHealth

router = APIGatewayHttpRouter()


@router.post("/v1/metrics/query", security=READ, tags=["metrics"],
             summary="A metric of a service over time, per hour or per day")
def post_query(body: MetricQuery) -> MetricPoints:
    return MetricPoints.of(body, metrics.query_metric(body.service_id, body.metric, body.start, body.end,
                                                      stat=body.stat, period=body.period,
                                                      resource_id=body.resource_id))


@router.get("/v1/metrics/services", security=READ, tags=["metrics"],
            summary="Services with a health summary (status and last data)")
def list_services(
    limit: PageLimit = 50,
    next_token: NextToken = None,
    team: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> ServicePage:
    items, token = metrics.services_with_health(limit=limit, next_token=next_token, team=team)
    return ServicePage(items=items, next_token=token)


@router.get("/v1/metrics/<service_id>/health", security=READ, tags=["metrics"],
            summary="SLO health: burn rates, error budget, status")
def get_health(service_id: ServiceIdPath) -> ServiceHealth:
    return metrics.service_health_of(service_id)
