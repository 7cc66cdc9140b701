"""Apply a recommendation to the live resource, and roll an applied one back (DESIGN §4).

apply:    guard (status, etag, SLA/force, what the actuator can do and its pre-flight checks, no other
          change of the resource still in its verification window) -> the change flow.
rollback: the recommendation must be SUCCEEDED with a SUCCEEDED apply (and, EBS, past the 6-hour
          cooldown) -> the change flow restores the apply's ``before`` as a ROLLBACK (or
          AUTO_ROLLBACK) change; the recommendation ends ROLLED_BACK.

Claim, intent, actuation, final writes and recovery are ``jobs.change_flow``: one flow for both.

``idempotent_change(operation, key, principal, body, run)`` wraps apply/rollback in Powertools
idempotency (DynamoDB persistence on ``settings.idempotency_table``): the same key from the same
principal with the same body returns the first result without a second change; the same key with
a different body is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import ValidationError

from costopt import deps
from costopt.actuators.base import Actuator
from costopt.actuators.registry import actuator_for
from costopt.config import settings
from costopt.domain.change import ApplyRequest, Change, ChangeResult, ChangeType
from costopt.domain.common import Model
from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import Resource
from costopt.domain.service import Service
from costopt.errors import Conflict, Unprocessable
from costopt.jobs.change_flow import ChangePlan, drift, dump, start, wall_clock
from costopt.ports import Changes

NEVER_AUTOMATED = frozenset({"idle_delete"})


# --------------------------------------------------------------------------- apply


def _resource_of(service: Service, rec: Recommendation) -> Resource:
    resource = service.resource(rec.resource_id)
    if resource is None or resource.kind != rec.kind:
        raise Conflict(f"resource {rec.resource_id!r} ({rec.kind}) is no longer registered on the service; "
                       "recompute the recommendations", extra={"resource_id": rec.resource_id})
    return resource


def _configs(act: Actuator, rec: Recommendation) -> tuple[Model, Model]:
    """The recommendation's current and proposed configs in the kind's shape, or 422 when the action
    is not a config change (e.g. stop or delete an idle resource: done by a person after review)."""
    try:
        return act.parse(rec.current), act.parse(rec.proposed)
    except ValidationError:
        raise Unprocessable(f"{rec.action} proposes {rec.proposed}, which is not a {rec.kind} config change "
                            "costopt applies; do it yourself after review", extra={"action": rec.action}) from None


def _guard_apply(req: ApplyRequest, service: Service, rec: Recommendation, act: Actuator,
                 resource: Resource, now: datetime) -> list[str]:
    if rec.status != "ACTIVE":
        raise Conflict(f"recommendation {rec.recommendation_id} is {rec.status}, not ACTIVE",
                       extra={"recommendation_status": rec.status, "etag": rec.etag})
    if rec.etag != req.etag:
        raise Conflict("the recommendation changed since you read it (stale etag)",
                       extra={"current_etag": rec.etag, "recommendation_status": rec.status})
    if rec.action in NEVER_AUTOMATED:
        raise Unprocessable(f"{rec.action} is never applied automatically; do it yourself after review",
                            extra={"action": rec.action})
    warnings: list[str] = []
    if not rec.sla.compliant:
        failing = [c.clause for c in rec.sla.failing]
        if not req.force:
            raise Unprocessable(
                f"the recommendation fails SLA clause(s) {', '.join(failing)}; send force: true with a reason "
                "to apply it anyway", extra={"failed_clauses": failing})
        warnings.append(f"forced despite failing SLA clause(s) {', '.join(failing)}: {req.reason}")
    warnings.extend(act.check(service, resource, act.parse(rec.current), act.parse(rec.proposed)))
    _refuse_in_verification(service, rec.resource_id, now)
    return warnings


def _refuse_in_verification(service: Service, resource_id: str, now: datetime) -> None:
    """One change at a time per resource: a new apply waits until the last one's verification window
    closed, so a breach is always blamed on the one change it follows (409 with Retry-After)."""
    from costopt.jobs.verify import open_verification

    change = open_verification(service, resource_id, now)
    if change is None:
        return
    assert change.verify_until is not None
    wait_s = int((change.verify_until - now).total_seconds()) + 1
    raise Conflict(
        f"change {change.change_id} of {resource_id} is still in its verification window until "
        f"{change.verify_until.isoformat()}; apply another change to it after that, or roll that one back first",
        extra={"change_in_verification": change.change_id, "verify_until": change.verify_until.isoformat(),
               "retry_after_s": wait_s})


def apply_recommendation(req: ApplyRequest, *, actor: str, idempotency_key: str | None = None,
                         now: datetime | None = None, request_id: str | None = None) -> ChangeResult:
    clock = wall_clock(now)
    now = clock()
    service = deps.services().get(req.service_id)
    rec = deps.recommendations().get(req.service_id, req.recommendation_id)
    resource = _resource_of(service, rec)
    act = actuator_for(rec.kind)
    current, target = _configs(act, rec)
    warnings = _guard_apply(req, service, rec, act, resource, now)
    forced = req.force and not rec.sla.compliant

    if req.dry_run:
        live = act.read(service, resource)
        found = drift(act, current, live, "the recommendation's current config")
        if found:
            raise found
        return ChangeResult(change_id=None, type="APPLY", status="PLANNED", service_id=service.service_id,
                            recommendation_id=rec.recommendation_id, resource_id=rec.resource_id, kind=rec.kind,
                            recommendation_status=rec.status, dry_run=True, before=dump(live), after=dump(target),
                            warnings=warnings, forced=forced)
    plan = ChangePlan(service=service, resource=resource, rec=rec, act=act, type="APPLY", expected=current,
                      expected_what="the recommendation's current config", target=target, actor=actor,
                      reason=req.reason, idempotency_key=idempotency_key, forced=forced, warnings=warnings,
                      request_id=request_id)
    return start(plan, clock)


# --------------------------------------------------------------------------- rollback


def rollback_recommendation(service_id: str, recommendation_id: str, *, actor: str, reason: str | None = None,
                            idempotency_key: str | None = None, change_type: ChangeType = "ROLLBACK",
                            now: datetime | None = None, request_id: str | None = None) -> ChangeResult:
    clock = wall_clock(now)
    now = clock()
    service = deps.services().get(service_id)
    rec = deps.recommendations().get(service_id, recommendation_id)
    applied = _applied_change(deps.changes(), rec)
    resource = _resource_of(service, rec)
    act = actuator_for(rec.kind)
    if applied.rollback_not_before and now < applied.rollback_not_before:
        raise Conflict(
            f"AWS blocks another modification of this {rec.kind} until "
            f"{applied.rollback_not_before.isoformat()} (6-hour EBS modification cooldown)",
            extra={"rollback_not_before": applied.rollback_not_before.isoformat(),
                   "retry_after_s": int((applied.rollback_not_before - now).total_seconds()) + 1})
    plan = ChangePlan(service=service, resource=resource, rec=rec, act=act, type=change_type,
                      expected=act.parse(applied.after), expected_what=f"what change {applied.change_id} applied",
                      target=act.parse(applied.before), actor=actor, reason=reason, idempotency_key=idempotency_key,
                      request_id=request_id)
    return start(plan, clock)


def _applied_change(changes: Changes, rec: Recommendation) -> Change:
    if rec.status == "ROLLED_BACK":
        raise Conflict(f"recommendation {rec.recommendation_id} was rolled back already",
                       extra={"recommendation_status": rec.status})
    if rec.status != "SUCCEEDED" or not rec.applied_change_id:
        raise Conflict(f"recommendation {rec.recommendation_id} was never applied (it is {rec.status})",
                       extra={"recommendation_status": rec.status})
    applied = changes.get(rec.service_id, rec.applied_change_id)
    if applied.status != "SUCCEEDED" or applied.type != "APPLY":
        raise Conflict(f"change {applied.change_id} is not a succeeded apply", extra={"change_id": applied.change_id})
    return applied


# --------------------------------------------------------------------------- idempotency


idempotency_config = IdempotencyConfig(
    event_key_jmespath="[operation, key, principal]",
    payload_validation_jmespath="body_sha256",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=settings.idempotency_ttl_s,
)


@cache
def _idempotent() -> Callable[..., dict[str, Any]]:
    """The idempotent runner, built on first use: its persistence layer creates a boto3 client,
    which does not belong in a cold start that may never apply anything."""
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table,
                                           boto_config=deps.dynamodb_client_config())

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=idempotency_config)
    def run_once(*, request: dict[str, Any], run: Callable[[], ChangeResult]) -> dict[str, Any]:
        # only ``request`` is hashed (key) and validated (body hash); ``run`` does the work once
        return run().model_dump(mode="json")

    runner: Callable[..., dict[str, Any]] = run_once  # the decorator is untyped
    return runner


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def idempotent_change(operation: str, key: str | None, principal: str, body: Any,
                      run: Callable[[], ChangeResult]) -> ChangeResult:
    """Run ``run`` once per (operation, key, principal); a repeat returns the stored first result."""
    if not key:
        return run()
    try:
        result = _idempotent()(request={"operation": operation, "key": key, "principal": principal,
                                      "body_sha256": body_hash(body)}, run=run)
    except IdempotencyValidationError:
        raise Unprocessable("this Idempotency-Key was used with a different request body",
                            extra={"idempotency_key": key}) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly",
                       extra={"idempotency_key": key}) from None
    return ChangeResult.model_validate(result)
