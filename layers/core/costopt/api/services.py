"""Routes of the ``services`` function: the service registry and its budget view (:mod:`costopt.jobs.services`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.api.schemas import ServiceIdPath
from costopt.domain.budget import BudgetReport
from costopt.domain.service import Service, ServicePut
from costopt.http import READ, WRITE
from costopt.jobs import services

router = APIGatewayHttpRouter()


@router.put("/v1/services/<service_id>", security=WRITE, tags=["services"],
            summary="Create or replace a service",
            responses={200: {"description": "Replaced"}, 201: {"description": "Created"},
                       409: {"description": "Exists already, or stale version"},
                       422: {"description": "Invalid, or a resource its telemetry source cannot serve"}})
def put_service(service_id: ServiceIdPath, body: ServicePut) -> Response[Service]:
    service, created = services.put_service(service_id, body)
    document: Any = service.model_dump(mode="json")  # the JSON document as stored, sent as it is
    return Response(status_code=201 if created else 200, content_type="application/json", body=document,
                    headers={"ETag": f'"{service.version}"'})


@router.get("/v1/services/<service_id>", security=READ, tags=["services"], summary="Read a service")
def get_service(service_id: ServiceIdPath) -> Service:
    return services.get_service(service_id)


@router.delete("/v1/services/<service_id>", security=WRITE, tags=["services"], summary="Delete a service",
               responses={204: {"description": "Deleted"}})
def delete_service(service_id: ServiceIdPath,
                   version: Annotated[int | None, Query(ge=1, description="Delete only at this version")] = None,
                   ) -> Response[None]:
    services.delete_service(service_id, version)
    return Response(status_code=204, body=None)


@router.get("/v1/services/<service_id>/budget", security=READ, tags=["budgets"],
            summary="Month-to-date spend, forecast and threshold crossings")
def get_budget(service_id: ServiceIdPath) -> BudgetReport:
    return services.service_budget(service_id)
