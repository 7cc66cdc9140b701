"""The one change flow of apply, rollback and auto-rollback (DESIGN §4 "Apply, verify, roll back").

A change is a state machine; each step is recorded before the next is taken:

1. claim: ONE transaction writes the Change PENDING, takes the service's change lock and moves the
   recommendation (apply: ACTIVE -> CLAIMED on its etag; rollback: still SUCCEEDED on its etag);
2. read the live config and refuse on drift (PENDING -> FAILED: nothing was touched);
3. record the intent before AWS is called: before (= live), target, request id and the facts the
   actuator needs to resume (PENDING -> IN_PROGRESS);
4. actuate: in the request, or, when the actuator takes minutes (EC2 stop/modify/start), in the
   actuation worker fed by SQS (the request answers 202 with the change; each step is recorded on it);
5. IN_PROGRESS -> SUCCEEDED, then the recommendation (apply: SUCCEEDED; rollback: ROLLED_BACK), the
   registered config synced with the live one, the lock released; or IN_PROGRESS -> FAILED (the
   before config restored when the resource was partly changed), the recommendation back (apply:
   ACTIVE), the lock released.
Final writes are retried on transient DynamoDB errors; what still fails is finished by the sweep.

Invariant: a change that is not final holds its service's change lock, and the lock is released only
after the change's final transition. The actuation worker and the recovery sweep that rely on it
are ``jobs.change_recovery``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from costopt import clock as business_clock
from costopt import deps
from costopt.actuators.base import Actuation, Actuator, Progress
from costopt.actuators.generic import use_change_history
from costopt.config import settings
from costopt.domain.change import Change, ChangeResult, ChangeStep, ChangeType
from costopt.domain.common import Model
from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import Resource
from costopt.domain.service import Service, ServicePut
from costopt.errors import ActuatorError, Conflict, CostoptError, DependencyUnavailable
from costopt.observability import logger
from costopt.store.retry import is_transient, retry_transient

Clock = Callable[[], datetime]

use_change_history(deps.changes)  # a generic resource's live config is what its changes last applied


def dump(config: Model) -> dict[str, Any]:
    return config.model_dump(mode="json")


def wall_clock(now: datetime | None) -> Clock:
    """A fixed time when the caller gives one (jobs, tests), else the business clock at each call."""
    if now is not None:
        fixed = now.astimezone(UTC)
        return lambda: fixed
    return lambda: business_clock.now().astimezone(UTC)


@dataclass
class ChangePlan:
    """What apply or rollback asks the flow to do, after their own guards."""

    service: Service
    resource: Resource
    rec: Recommendation
    act: Actuator
    type: ChangeType
    expected: Model  # the live config must still be this (drift check)
    expected_what: str  # how a drift message names ``expected``
    target: Model
    actor: str
    reason: str | None = None
    idempotency_key: str | None = None
    forced: bool = False
    warnings: list[str] = field(default_factory=list)
    request_id: str | None = None


def mode_of(act: Actuator) -> str:
    return "async" if act.typical_duration_s > settings.sync_actuation_max_s else "sync"


def result_of(change: Change, recommendation_status: str) -> ChangeResult:
    status = change.status if change.status in ("IN_PROGRESS", "SUCCEEDED", "FAILED") else "FAILED"
    return ChangeResult(
        change_id=change.change_id, type=change.type, status=status, service_id=change.service_id,
        recommendation_id=change.recommendation_id, resource_id=change.resource_id, kind=change.kind,
        recommendation_status=recommendation_status, before=change.before, after=change.after,
        warnings=change.warnings, forced=change.forced, verify_until=change.verify_until,
        rollback_not_before=change.rollback_not_before, steps=change.steps)


def drift(act: Actuator, expected: Model | dict[str, Any], live: Model, what: str) -> Conflict | None:
    diff = act.differences(expected, live)
    if not diff:
        return None
    return Conflict(f"the live config differs from {what} (drift): {', '.join(sorted(diff))}",
                    extra={"expected": dump(act.parse(expected)), "live": dump(live), "differences": diff})


# --------------------------------------------------------------------------- start


def start(plan: ChangePlan, clock: Clock) -> ChangeResult:
    """Claim, check, record the intent, then actuate here or hand the change to the worker."""
    now = clock()
    act, service, resource = plan.act, plan.service, plan.resource
    change = Change(
        change_id=deps.new_change_id(now), status="PENDING", type=plan.type, service_id=service.service_id,
        recommendation_id=plan.rec.recommendation_id, resource_id=resource.resource_id, kind=resource.kind,
        before=dump(plan.expected), after=dump(plan.target), target=dump(plan.target), mode=mode_of(act),
        request_id=plan.request_id, actor=plan.actor, reason=plan.reason, idempotency_key=plan.idempotency_key,
        forced=plan.forced, warnings=plan.warnings, created_at=now, updated_at=now,
        steps=[ChangeStep(at=now, step="claimed", detail=f"{plan.type} by {plan.actor}")])
    _claim(change, plan.rec.etag, now)
    changes = deps.changes()
    stage = "reading the live config"
    try:
        live = act.read(service, resource)
        stage = "drift check"
        found = drift(act, plan.expected, live, plan.expected_what)
        if found:
            raise found
        target, warnings = plan.target, plan.warnings
        if plan.type != "APPLY":
            target, notes = act.rollback_target(plan.target, live)
            warnings = [*act.check(service, resource, live, target), *notes]
        stage = "recording the intent"
        facts = act.facts(service, resource)
        change = changes.transition(
            service.service_id, change.change_id, from_statuses=["PENDING"], to_status="IN_PROGRESS",
            before=dump(live), after=dump(target), target=dump(target), warnings=warnings, facts=facts,
            now=clock(), step="intent", detail=f"{_summary(act, live, target)} ({change.mode})")
    except Exception as exc:
        _record_failure(change, _why(stage, exc), clock, step="refused")  # still PENDING: nothing touched
        if isinstance(exc, CostoptError):
            exc.extra.setdefault("change_id", change.change_id)
        raise
    if change.mode == "async":
        try:
            queue_actuation(change)
        except Exception as exc:
            _record_failure(change, f"could not hand the change to the actuation worker: {exc}", clock)
            raise DependencyUnavailable("the actuation queue is unavailable; nothing was changed",
                                        extra={"change_id": change.change_id, "change_status": "FAILED"}) from exc
        return result_of(change, "CLAIMED" if plan.type == "APPLY" else plan.rec.status)
    return actuate(change, service, resource, act, clock)


def _claim(change: Change, expected_etag: str, now: datetime) -> str:
    """The claim; a lock held by a change that stopped moving is reconciled first, then claimed again."""
    from costopt.jobs.change_recovery import recover

    changes = deps.changes()
    try:
        return changes.claim(change, expected_etag=expected_etag, now=now)
    except Conflict as exc:
        holder = exc.extra.get("change_in_progress")
        if not holder or not recover(change.service_id, now):
            raise
    return changes.claim(change, expected_etag=expected_etag, now=now)


def _summary(act: Actuator, before: Model, target: Model) -> str:
    diff = act.differences(before, target)
    return ", ".join(f"{k} {v['expected']} -> {v['live']}" for k, v in sorted(diff.items())) or "no managed change"


def _why(stage: str, exc: BaseException) -> str:
    detail = exc.detail if isinstance(exc, CostoptError) else f"{type(exc).__name__}: {exc}"
    return f"refused: {detail}" if stage == "drift check" else f"{stage} failed: {detail}"


# --------------------------------------------------------------------------- actuate and finish


def actuate(change: Change, service: Service, resource: Resource, act: Actuator, clock: Clock) -> ChangeResult:
    """Run the actuator for an IN_PROGRESS change (its steps recorded on it), then finish the change."""
    changes = deps.changes()

    def report(step: str, detail: str | None = None) -> None:
        try:
            changes.transition(change.service_id, change.change_id, from_statuses=["IN_PROGRESS"],
                               to_status="IN_PROGRESS", now=clock(), step=step, detail=detail)
        except Exception:  # a missed heartbeat must not stop a change half-way
            logger.warning("could not record a change step", extra={"change_id": change.change_id, "step": step})

    before, target = act.parse(change.before), act.parse(change.target or change.after)
    try:
        done = act.apply(service, resource, before, target, change_id=change.change_id, now=clock(),
                         progress=Progress(facts=change.facts, report=report))
    except Exception as exc:
        _fail_actuation(change, service, resource, act, exc, clock)
    return _succeed(change, service, done, clock)


def _succeed(change: Change, service: Service, done: Actuation, clock: Clock) -> ChangeResult:
    changes = deps.changes()
    now = clock()
    after = dump(done.after)
    verify_until = now + timedelta(hours=service.policy.verify_hours) if change.type == "APPLY" else None
    warnings = [*change.warnings, *(w for w in done.warnings if w not in change.warnings)]
    try:
        final = retry_transient(lambda: changes.transition(
            change.service_id, change.change_id, from_statuses=["IN_PROGRESS"], to_status="SUCCEEDED",
            after=after, warnings=warnings, completed_at=now, verify_until=verify_until,
            rollback_not_before=done.rollback_not_before, now=now, step="succeeded"))
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise _unrecorded(change, exc) from exc
    try:
        rec_status = complete(final)
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise _unrecorded(final, exc) from exc
    return result_of(final, rec_status)


def _unrecorded(change: Change, exc: Exception) -> DependencyUnavailable:
    logger.error("the change was made but its record could not be completed; the recovery sweep completes it",
                 extra={"change_id": change.change_id, "error": str(exc)})
    return DependencyUnavailable(
        f"change {change.change_id} was made on the resource, but the database did not answer to record it; "
        "the recovery sweep records it once the database is back (GET the service's history)",
        extra={"change_id": change.change_id, "change_status": change.status, "retry_after_s": 60})


def complete(change: Change) -> str:
    """After a final transition: the recommendation moved to match, the registered config synced (a
    SUCCEEDED change), the lock released. Idempotent: the sweep calls it again after a crash.
    Returns the recommendation's status."""
    rec_status = retry_transient(lambda: settle_recommendation(change))
    if change.status == "SUCCEEDED":
        sync_registered_config(change.service_id, change.resource_id, change.after)
    release(change.service_id, change.change_id)
    return rec_status


def settle_recommendation(change: Change) -> str:
    """Move the recommendation to what the final change means (no-op when it is there already).

    Idempotent under concurrency too: the change's own request and a sweep (another request that
    found the lock held) may settle it at once; the one that loses the conditional write finds the
    recommendation already moved and returns its status."""
    recs = deps.recommendations()
    rec = recs.find(change.service_id, change.recommendation_id)
    if rec is None:
        return "DELETED"
    move: dict[str, Any] | None = None
    if change.type == "APPLY" and rec.status == "CLAIMED":
        move = ({"from_statuses": ["CLAIMED"], "to_status": "SUCCEEDED", "applied_change_id": change.change_id,
                 "status_reason": f"applied by {change.actor} as change {change.change_id}"}
                if change.status == "SUCCEEDED" else
                {"from_statuses": ["CLAIMED"], "to_status": "ACTIVE",
                 "status_reason": (change.error or change.status)[:1000]})
    elif change.type != "APPLY" and change.status == "SUCCEEDED" and rec.status == "SUCCEEDED":
        what = change.reason or "rolled back"
        move = {"from_statuses": ["SUCCEEDED"], "to_status": "ROLLED_BACK",
                "status_reason": f"{change.type} {change.change_id} by {change.actor}: {what}"[:1000]}
    if move is None:
        return rec.status
    try:
        return recs.transition(change.service_id, rec.recommendation_id, expected_etag=None, **move).status
    except Conflict:
        moved = recs.find(change.service_id, change.recommendation_id)
        return moved.status if moved else "DELETED"


def release(service_id: str, change_id: str) -> None:
    try:
        deps.changes().release_lock(service_id, change_id)
    except Exception:
        logger.exception("could not release the change lock (the recovery sweep releases it)",
                         extra={"service_id": service_id, "change_id": change_id})


def _record_failure(change: Change, error: str, clock: Clock, *, step: str = "failed") -> None:
    """The change FAILED from where it stands (PENDING: refused before anything live was touched;
    IN_PROGRESS: the actuation failed), then the recommendation back and the lock free. Best effort:
    what cannot be written is left for the sweep (live == before -> FAILED)."""
    try:
        final = retry_transient(lambda: deps.changes().transition(
            change.service_id, change.change_id, from_statuses=[change.status], to_status="FAILED",
            error=error[:2000], completed_at=clock(), now=clock(), step=step, detail=error))
        complete(final)
    except Exception:
        logger.exception("could not record the failed change; the recovery sweep settles it",
                         extra={"change_id": change.change_id})


def _fail_actuation(change: Change, service: Service, resource: Resource, act: Actuator, exc: Exception,
                    clock: Clock) -> NoReturn:
    """Record the failure completely (restoring ``before`` first if the resource was partly changed)."""
    from costopt.actuators.base import ActuationFailed

    detail = exc.detail if isinstance(exc, CostoptError) else f"{type(exc).__name__}: {exc}"
    refused = isinstance(exc, CostoptError) and not isinstance(exc, ActuatorError)  # a guard, nothing changed
    partial = False if refused else (exc.partial if isinstance(exc, ActuationFailed) else True)
    before = act.parse(change.before)
    note = ""
    if partial:
        try:
            live_now = act.read(service, resource)
            if act.differences(before, live_now):
                act.apply(service, resource, live_now, before, change_id=change.change_id, now=clock(),
                          progress=Progress(facts=change.facts))
                note = "; the before config was restored"
            else:
                note = "; the live config is still the before config"
        except Exception as restore_exc:
            restore_detail = getattr(restore_exc, "detail", str(restore_exc))
            note = f"; restoring the before config FAILED ({restore_detail}): check the resource"
    what = change.type.lower().replace("_", " ")
    error = f"{what} failed: {detail}{note}"
    _record_failure(change, error, clock)
    logger.warning("change failed", extra={"change_id": change.change_id, "error": error})
    if refused:
        assert isinstance(exc, CostoptError)
        exc.extra.update(change_id=change.change_id, change_status="FAILED")
        raise exc
    failure = ActuatorError(act.kind, error)
    failure.extra.update(change_id=change.change_id, change_status="FAILED", restored="restored" in note)
    raise failure from exc


def sync_registered_config(service_id: str, resource_id: str, config: dict[str, Any], attempts: int = 3) -> None:
    """Keep the registered resource config equal to what is now live (best effort, version-checked)."""
    services = deps.services()
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


# --------------------------------------------------------------------------- the actuation worker


def queue_actuation(change: Change, delay_s: int = 0) -> None:
    """Hand an asynchronous change to the actuation worker (SQS)."""
    from costopt.connectors.queues import send_message

    if not settings.actuation_queue_url:
        raise DependencyUnavailable("no actuation queue is configured (ACTUATION_QUEUE_URL)")
    send_message(settings.actuation_queue_url,
                 {"service_id": change.service_id, "change_id": change.change_id}, delay_s=delay_s)
