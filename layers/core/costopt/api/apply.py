"""Routes of the ``apply`` function: apply a recommendation to the live resource, and the change history.

- ``POST /v1/config/apply`` (operate): body ``{service_id, recommendation_id, etag, dry_run?, force?, reason?}``,
  header ``Idempotency-Key`` (recommended: a repeat returns the first result and changes nothing more).
  -> 200 ``{change_id, status, recommendation_id, before, after, warnings, ...}`` (``status: PLANNED`` and no
  change for ``dry_run``); 202 ``status: IN_PROGRESS`` when the actuation takes minutes (EC2 stop/modify/
  start): the actuation worker carries it on and ``GET`` on the change shows its steps.
  409: stale etag, not ACTIVE, another change in progress, or drift (the body
  carries ``expected`` and ``live``). 422: fails an SLA clause without ``force``+``reason``, or the action
  cannot be applied (EC2 without ``policy.allow_disruptive``, EBS shrink, a failed pre-flight check named
  by ``preflight`` / ``preflight_failures``: e.g. an x86_64 AMI to Graviton, x86-64 native code in an
  arm64 Lambda, an image without a linux/arm64 build on ARM64 Fargate). 503 with
  ``change_id``: the actuator failed (the change is FAILED, the recommendation ACTIVE again), or the
  database did not answer after the change was made (the recovery sweep records it).
  409 also while another change of the resource is in its verification window (``retry_after_s``).
- ``GET /v1/config/history/{service_id}?limit=&next_token=`` (read): the Change records, newest first.
- ``GET /v1/config/history/{service_id}/{change_id}`` (read): one change with its steps (progress).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.api.schemas import ChangeIdPath, NextToken, PageLimit, ServiceIdPath
from costopt.api.schemas.changes import ChangePage
from costopt.domain.change import ApplyRequest, Change, ChangeResult
from costopt.errors import BadRequest, Unauthorized
from costopt.http import OPERATE, READ, principal_of
from costopt.jobs import history

router = APIGatewayHttpRouter()

IDEMPOTENCY_HEADER = "Idempotency-Key"

CHANGE_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "The change made (or, for dry_run, the plan)"},
    202: {"description": "Accepted: the actuation worker carries the change on (GET the change for progress)"},
    409: {"description": "Stale etag, not ACTIVE / not applied, another change in progress, or drift"},
    422: {"description": "Fails the SLA without force+reason, or an action this resource cannot take "
                          "(a failed pre-flight check: ``preflight``, ``preflight_failures``)"},
    503: {"description": "The actuator failed; the change is recorded FAILED"},
}


def idempotency_key(router_: APIGatewayHttpRouter) -> str | None:
    key = router_.current_event.headers.get(IDEMPOTENCY_HEADER.lower())
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest(f"{IDEMPOTENCY_HEADER} must be 1-255 printable characters",
                         errors=[{"loc": ["header", IDEMPOTENCY_HEADER], "msg": "invalid"}])
    return key


def subject(router_: APIGatewayHttpRouter) -> str:
    who = principal_of(router_.current_event)
    if who is None:
        raise Unauthorized("a bearer token is required")
    return who.subject


@router.post("/v1/config/apply", security=OPERATE, tags=["changes"],
             summary="Apply a recommendation to the live resource (idempotent by Idempotency-Key)",
             responses=CHANGE_RESPONSES)
def post_apply(body: ApplyRequest) -> Response[ChangeResult]:
    from costopt.jobs.apply import apply_recommendation, idempotent_change

    actor, key, request_id = subject(router), idempotency_key(router), request_id_of(router)
    return change_response(idempotent_change(
        "apply", key, actor, body.model_dump(mode="json"),
        lambda: apply_recommendation(body, actor=actor, idempotency_key=key, request_id=request_id)))


def request_id_of(router_: APIGatewayHttpRouter) -> str | None:
    return router_.current_event.request_context.request_id or None


def change_response(result: ChangeResult) -> Response[ChangeResult]:
    """200 with the change (or plan); 202 while the actuation worker carries it on."""
    return Response(status_code=202 if result.status == "IN_PROGRESS" else 200, content_type="application/json",
                    body=result)


@router.get("/v1/config/history/<service_id>", security=READ, tags=["changes"],
            summary="Config changes of a service, newest first")
def get_history(service_id: ServiceIdPath, limit: PageLimit = 50, next_token: NextToken = None) -> ChangePage:
    items, token = history.change_history(service_id, limit=limit, next_token=next_token)
    return ChangePage(items=items, next_token=token)


@router.get("/v1/config/history/<service_id>/<change_id>", security=READ, tags=["changes"],
            summary="One config change with its steps (the progress of an accepted change)")
def get_change(service_id: ServiceIdPath, change_id: ChangeIdPath) -> Change:
    return history.get_change(service_id, change_id)
