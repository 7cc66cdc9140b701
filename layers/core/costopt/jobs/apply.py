"""Apply a recommendation to the live resource, and roll an applied one back (DESIGN §4).

apply:    guard (status, etag, SLA/force, what the actuator can do) -> claim (service change lock,
          then recommendation ACTIVE -> CLAIMED conditional on its etag, then the Change record
          PENDING) -> read live -> refuse on drift -> Change IN_PROGRESS -> actuate -> read back ->
          Change SUCCEEDED -> recommendation SUCCEEDED -> release the lock.
rollback: the recommendation must be SUCCEEDED with a SUCCEEDED apply; restores the apply's
          ``before`` as a new ROLLBACK (or AUTO_ROLLBACK) change; recommendation ROLLED_BACK.

Every failure after the claim leaves a complete record: the Change FAILED with its error, the
recommendation back where it was (ACTIVE for an apply, with ``status_reason``), the lock released.
When an actuator failed after part of the change took, the before config is restored and the
error says whether that worked.

``idempotent_change(operation, key, principal, body, run)`` wraps apply/rollback in Powertools
idempotency (DynamoDB persistence on ``settings.idempotency_table``): the same key from the same
principal with the same body returns the first result without a second change; the same key with
a different body is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NoReturn

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

from costopt import clock
from costopt.actuators.base import Actuator
from costopt.actuators.registry import actuator_for
from costopt.config import settings
from costopt.domain.change import ApplyRequest, Change, ChangeResult, ChangeType
from costopt.domain.common import Model
from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import Resource
from costopt.domain.service import Service, ServicePut
from costopt.errors import ActuatorError, Conflict, CostoptError, Unprocessable
from costopt.observability import logger
from costopt.store.base import client_config
from costopt.store.changes import (
    ChangeRepository,
    acquire_change_lock,
    claim_apply,
    new_change_id,
    release_change_lock,
)

NEVER_AUTOMATED = frozenset({"idle_delete"})


def _recs() -> Any:
    from costopt.store.recommendations import RecommendationRepository

    return RecommendationRepository()


def _services() -> Any:
    from costopt.store.services import ServiceRepository

    return ServiceRepository()


def _now(now: datetime | None) -> datetime:
    return (now or clock.now()).astimezone(UTC)


def _clock(now: datetime | None) -> Callable[[], datetime]:
    """A fixed time when the caller gives one (jobs, tests), else the wall clock at each call."""
    if now is not None:
        fixed = _now(now)
        return lambda: fixed
    return lambda: _now(None)


def _dump(config: Model) -> dict[str, Any]:
    return config.model_dump(mode="json")


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
                 resource: Resource) -> list[str]:
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
    return warnings


def _drift(act: Actuator, expected: Model, live: Model, what: str) -> Conflict | None:
    diff = act.differences(expected, live)
    if not diff:
        return None
    return Conflict(f"the live config differs from {what} (drift): {', '.join(sorted(diff))}",
                    extra={"expected": _dump(act.parse(expected)), "live": _dump(live), "differences": diff})


def apply_recommendation(req: ApplyRequest, *, actor: str, idempotency_key: str | None = None,
                         now: datetime | None = None) -> ChangeResult:
    clock = _clock(now)
    now = clock()
    service: Service = _services().get(req.service_id)
    recs = _recs()
    rec: Recommendation = recs.get(req.service_id, req.recommendation_id)
    resource = _resource_of(service, rec)
    act = actuator_for(rec.kind)
    current, target = _configs(act, rec)
    warnings = _guard_apply(req, service, rec, act, resource)
    forced = req.force and not rec.sla.compliant
    base = {"type": "APPLY", "service_id": service.service_id, "recommendation_id": rec.recommendation_id,
            "resource_id": rec.resource_id, "kind": rec.kind, "forced": forced}

    if req.dry_run:
        live = act.read(service, resource)
        drift = _drift(act, current, live, "the recommendation's current config")
        if drift:
            raise drift
        return ChangeResult(change_id=None, status="PLANNED", recommendation_status=rec.status, dry_run=True,
                            before=_dump(live), after=_dump(target), warnings=warnings, **base)

    changes = ChangeRepository()
    change_id = new_change_id(now)
    change = Change(change_id=change_id, status="PENDING", before=_dump(current), after=_dump(target),
                    actor=actor, reason=req.reason, idempotency_key=idempotency_key, warnings=warnings,
                    created_at=now, updated_at=now, **base)
    claimed_etag = claim_apply(change, expected_etag=req.etag, now=now)
    claimed = rec.model_copy(update={"status": "CLAIMED", "etag": claimed_etag})

    stage = "reading the live config"
    try:
        live = act.read(service, resource)
        stage = "drift check"
        drift = _drift(act, current, live, "the recommendation's current config")
        if drift:
            raise drift
        stage = "recording the change"
        changes.transition(service.service_id, change_id, from_statuses=["PENDING"], to_status="IN_PROGRESS",
                           before=_dump(live))
    except BaseException as exc:
        _abandon(changes, service.service_id, change_id, _why(stage, exc), clock, recs=recs, claimed=claimed)
        if isinstance(exc, CostoptError):
            exc.extra.setdefault("change_id", change_id)
        raise
    try:
        done = act.apply(service, resource, live, target, change_id=change_id, now=now)
    except Exception as exc:
        _fail_actuation(act, service, resource, live, change_id, exc, changes=changes, recs=recs,
                        claimed=claimed, what="apply", clock=clock)
    verify_until = now + timedelta(hours=service.policy.verify_hours)
    warnings = [*warnings, *(w for w in done.warnings if w not in warnings)]
    try:
        changes.transition(service.service_id, change_id, from_statuses=["IN_PROGRESS"], to_status="SUCCEEDED",
                           after=_dump(done.after), warnings=warnings, completed_at=clock(),
                           verify_until=verify_until, rollback_not_before=done.rollback_not_before)
        final = recs.transition(service.service_id, rec.recommendation_id, expected_etag=claimed.etag,
                                from_statuses=["CLAIMED"], to_status="SUCCEEDED", applied_change_id=change_id,
                                status_reason=f"applied by {actor} as change {change_id}")
    finally:
        _release(service.service_id, change_id)
    _sync_registered_config(service.service_id, rec.resource_id, _dump(done.after))
    return ChangeResult(change_id=change_id, status="SUCCEEDED", recommendation_status=final.status,
                        before=_dump(live), after=_dump(done.after), warnings=warnings,
                        verify_until=verify_until, rollback_not_before=done.rollback_not_before, **base)


def _why(stage: str, exc: BaseException) -> str:
    detail = exc.detail if isinstance(exc, CostoptError) else f"{type(exc).__name__}: {exc}"
    return f"refused: {detail}" if stage == "drift check" else f"{stage} failed: {detail}"


def _release(service_id: str, change_id: str) -> None:
    try:
        release_change_lock(service_id, change_id)
    except Exception:
        logger.exception("could not release the change lock (it expires after change_lock_stale_s)",
                         extra={"service_id": service_id, "change_id": change_id})


def _abandon(changes: ChangeRepository, service_id: str, change_id: str, why: str, clock: Callable[[], datetime],
             *, recs: Any, claimed: Recommendation | None) -> None:
    """Before anything live was touched: the change FAILED, the recommendation back, the lock free (best effort)."""
    try:
        changes.transition(service_id, change_id, from_statuses=["PENDING"], to_status="FAILED", error=why[:2000],
                           completed_at=clock())
    except Exception:
        logger.exception("could not record the refused change", extra={"change_id": change_id})
    if claimed is not None:
        _unclaim(recs, claimed, why)
    _release(service_id, change_id)


def _unclaim(recs: Any, claimed: Recommendation, reason: str) -> None:
    try:
        recs.transition(claimed.service_id, claimed.recommendation_id, expected_etag=claimed.etag,
                        from_statuses=["CLAIMED"], to_status="ACTIVE", status_reason=reason[:1000])
    except CostoptError:
        logger.exception("could not return the recommendation to ACTIVE",
                         extra={"recommendation_id": claimed.recommendation_id})


def _fail_actuation(act: Actuator, service: Service, resource: Resource, before: Model, change_id: str,
                    exc: Exception, *, changes: ChangeRepository, recs: Any, claimed: Recommendation | None,
                    what: str, clock: Callable[[], datetime]) -> NoReturn:
    """Record the failure completely (restoring ``before`` first if the resource was partly changed)."""
    detail = exc.detail if isinstance(exc, CostoptError) else f"{type(exc).__name__}: {exc}"
    partial = getattr(exc, "partial", True) if isinstance(exc, ActuatorError) else True
    if isinstance(exc, CostoptError) and not isinstance(exc, ActuatorError):
        partial = False  # refused by a guard before anything was changed
    note = ""
    if partial:
        try:
            live_now = act.read(service, resource)
            if act.differences(before, live_now):
                act.apply(service, resource, live_now, before, change_id=change_id, now=clock())
                note = "; the before config was restored"
            else:
                note = "; the live config is still the before config"
        except Exception as restore_exc:
            restore_detail = getattr(restore_exc, "detail", str(restore_exc))
            note = f"; restoring the before config FAILED ({restore_detail}): check the resource"
    error = f"{what} failed: {detail}{note}"
    try:
        changes.transition(service.service_id, change_id, from_statuses=["IN_PROGRESS"], to_status="FAILED",
                           error=error[:2000], completed_at=clock())
    except Exception:
        logger.exception("could not record the failed change", extra={"change_id": change_id})
    if claimed is not None:
        _unclaim(recs, claimed, error)
    _release(service.service_id, change_id)
    logger.warning("change failed", extra={"change_id": change_id, "error": error})
    if isinstance(exc, CostoptError) and not isinstance(exc, ActuatorError):
        exc.extra.update(change_id=change_id, change_status="FAILED")
        raise exc
    failure = ActuatorError(getattr(act, "kind", "actuator"), error)
    failure.extra.update(change_id=change_id, change_status="FAILED", restored="restored" in note)
    raise failure from exc


def _sync_registered_config(service_id: str, resource_id: str, config: dict[str, Any], attempts: int = 3) -> None:
    """Keep the registered resource config equal to what is now live (best effort, version-checked)."""
    services = _services()
    for _ in range(attempts):
        service = services.find(service_id)
        if service is None:
            return
        data = service.model_dump(mode="json")
        for r in data["resources"]:
            if r["resource_id"] == resource_id:
                r["config"] = {**r["config"], **config}
        spec = {k: v for k, v in data.items() if k not in ("service_id", "created_at", "updated_at")}
        try:
            services.put(service_id, ServicePut.model_validate(spec))
            return
        except Conflict:
            continue
        except CostoptError:
            break
    logger.warning("could not update the registered config after a change",
                   extra={"service_id": service_id, "resource_id": resource_id})


# --------------------------------------------------------------------------- rollback


def rollback_recommendation(service_id: str, recommendation_id: str, *, actor: str, reason: str | None = None,
                            idempotency_key: str | None = None, change_type: ChangeType = "ROLLBACK",
                            now: datetime | None = None) -> ChangeResult:
    clock = _clock(now)
    now = clock()
    service: Service = _services().get(service_id)
    recs = _recs()
    changes = ChangeRepository()
    rec: Recommendation = recs.get(service_id, recommendation_id)
    applied = _applied_change(changes, rec)
    resource = _resource_of(service, rec)
    act = actuator_for(rec.kind)
    if applied.rollback_not_before and now < applied.rollback_not_before:
        raise Conflict(
            f"AWS blocks another modification of this {rec.kind} until "
            f"{applied.rollback_not_before.isoformat()} (6-hour EBS modification cooldown)",
            extra={"rollback_not_before": applied.rollback_not_before.isoformat(),
                   "retry_after_s": int((applied.rollback_not_before - now).total_seconds()) + 1})
    base = {"type": change_type, "service_id": service_id, "recommendation_id": recommendation_id,
            "resource_id": rec.resource_id, "kind": rec.kind}
    change_id = new_change_id(now)
    acquire_change_lock(service_id, change_id, now)
    try:
        rec = recs.get(service_id, recommendation_id)  # re-read under the lock: only we can move it now
        _applied_change(changes, rec)
        change = Change(change_id=change_id, status="PENDING", before=dict(applied.after),
                        after=dict(applied.before), actor=actor, reason=reason, idempotency_key=idempotency_key,
                        created_at=now, updated_at=now, **base)
        changes.create(change)
    except BaseException:
        _release(service_id, change_id)
        raise

    stage = "reading the live config"
    try:
        live = act.read(service, resource)
        stage = "drift check"
        drift = _drift(act, act.parse(applied.after), live, f"what change {applied.change_id} applied")
        if drift:
            raise drift
        target, notes = act.rollback_target(act.parse(applied.before), live)
        warnings = [*act.check(service, resource, live, target), *notes]
        stage = "recording the change"
        changes.transition(service_id, change_id, from_statuses=["PENDING"], to_status="IN_PROGRESS",
                           before=_dump(live), after=_dump(target), warnings=warnings)
    except BaseException as exc:
        why = _why("drift check" if stage == "drift check" else stage, exc)
        _abandon(changes, service_id, change_id, why, clock, recs=recs, claimed=None)
        if isinstance(exc, CostoptError):
            exc.extra.setdefault("change_id", change_id)
        raise
    try:
        done = act.apply(service, resource, live, target, change_id=change_id, now=now)
    except Exception as exc:
        _fail_actuation(act, service, resource, live, change_id, exc, changes=changes, recs=recs, claimed=None,
                        what=change_type.lower().replace("_", " "), clock=clock)
    warnings = [*warnings, *(w for w in done.warnings if w not in warnings)]
    why = reason or "rolled back"
    try:
        changes.transition(service_id, change_id, from_statuses=["IN_PROGRESS"], to_status="SUCCEEDED",
                           after=_dump(done.after), warnings=warnings, completed_at=clock(),
                           rollback_not_before=done.rollback_not_before)
        final = recs.transition(service_id, recommendation_id, expected_etag=rec.etag, from_statuses=["SUCCEEDED"],
                                to_status="ROLLED_BACK",
                                status_reason=f"{change_type} {change_id} by {actor}: {why}"[:1000])
    finally:
        _release(service_id, change_id)
    _sync_registered_config(service_id, rec.resource_id, _dump(done.after))
    return ChangeResult(change_id=change_id, status="SUCCEEDED", recommendation_status=final.status,
                        before=_dump(live), after=_dump(done.after), warnings=warnings,
                        rollback_not_before=done.rollback_not_before, **base)


def _applied_change(changes: ChangeRepository, rec: Recommendation) -> Change:
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
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto_config=client_config())

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=idempotency_config)
    def run_once(*, request: dict[str, Any], run: Callable[[], ChangeResult]) -> dict[str, Any]:
        # only ``request`` is hashed (key) and validated (body hash); ``run`` does the work once
        return run().model_dump(mode="json")

    return run_once


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
