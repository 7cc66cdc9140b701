"""Routes of the ``rollback`` function: roll an applied recommendation back to its before config.

- ``POST /v1/config/rollback/{service_id}/{recommendation_id}`` (operate): body ``{reason?}`` (optional),
  header ``Idempotency-Key``. Restores the ``before`` config of the recommendation's SUCCEEDED apply as a
  new ROLLBACK change and marks the recommendation ROLLED_BACK. 409 when it was never applied, was rolled
  back already, the live config changed since the apply, or (EBS) the 6-hour modification cooldown has
  not passed (``rollback_not_before``, ``retry_after_s``). 202 while the actuation worker carries a long
  rollback on (EC2).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from costopt.api.apply import CHANGE_RESPONSES, change_response, idempotency_key, request_id_of, subject
from costopt.api.schemas import AppliedRecommendationIdPath, ServiceIdPath
from costopt.api.schemas.changes import RollbackRequest
from costopt.domain.change import ChangeResult
from costopt.http import OPERATE

router = APIGatewayHttpRouter()


@router.post("/v1/config/rollback/<service_id>/<recommendation_id>", security=OPERATE, tags=["changes"],
             summary="Roll an applied recommendation back to its before config", responses=CHANGE_RESPONSES)
def post_rollback(service_id: ServiceIdPath, recommendation_id: AppliedRecommendationIdPath,
                  body: Annotated[RollbackRequest | None, Body()] = None) -> Response[ChangeResult]:
    from costopt.jobs.apply import idempotent_change, rollback_recommendation

    actor, key, request_id = subject(router), idempotency_key(router), request_id_of(router)
    reason = body.reason if body else None
    return change_response(idempotent_change(
        "rollback", key, actor, {"service_id": service_id, "recommendation_id": recommendation_id,
                                 "reason": reason},
        lambda: rollback_recommendation(service_id, recommendation_id, actor=actor, reason=reason,
                                        idempotency_key=key, request_id=request_id)))
