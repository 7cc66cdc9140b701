"""Routes of the ``simulate`` function: what a change costs and risks before anyone makes it.

``POST /v1/simulate`` (write) runs one scenario and stores it (201, ``Location``);
``POST /v1/simulate/batch`` (write) runs up to 50 in request order, a bad one becoming its own problem
entry (more than 50 is a 413); ``GET /v1/simulate/templates`` (read) lists the templates with the JSON
schema of their parameters; ``GET /v1/simulate/{simulation_id}`` (read) reads a stored result (404 once
it expired). numpy is imported only when a scenario runs (never by importing this module).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.domain.simulation import BatchRequest, BatchResult, Scenario, SimulationResult, TemplateList
from costopt.http import READ, WRITE

router = APIGatewayHttpRouter()

SimulationIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="As returned by POST")]


@router.get("/v1/simulate/templates", security=READ, tags=["simulate"],
            summary="Scenario templates and the JSON schema of their parameters")
def get_templates() -> TemplateList:
    from costopt.engine.simulation.templates import template_catalog

    return TemplateList(items=template_catalog())


@router.post("/v1/simulate", security=WRITE, tags=["simulate"],
             summary="Simulate a scenario: cost p10/p50/p90, savings and the probability the SLA holds",
             responses={201: {"description": "Simulated and stored"},
                        404: {"description": "Unknown service"},
                        409: {"description": "Not enough history (says how many hours exist vs needed)"},
                        422: {"description": "Invalid scenario, config, template parameters or ids"}})
def post_simulate(body: Scenario) -> Response[SimulationResult]:
    from costopt.jobs.simulate import run_scenario

    result = run_scenario(body)
    return Response(status_code=201, content_type="application/json", body=result,
                    headers={"Location": f"/v1/simulate/{result.simulation_id}"})


@router.post("/v1/simulate/batch", security=WRITE, tags=["simulate"],
             summary="Simulate up to 50 scenarios; results in request order, a bad one does not fail the batch",
             responses={413: {"description": "More than 50 scenarios"}})
def post_batch(body: BatchRequest) -> BatchResult:
    from costopt.jobs.simulate import run_batch

    return run_batch(body.scenarios)


@router.get("/v1/simulate/<simulation_id>", security=READ, tags=["simulate"],
            summary="Read a stored simulation result", responses={404: {"description": "Unknown or expired"}})
def get_simulation(simulation_id: SimulationIdPath) -> SimulationResult:
    from costopt.jobs.simulate import get_simulation as read

    return read(simulation_id)
