"""Carrying changes on after their request: the actuation worker and the recovery sweep (DESIGN §4).

Both rest on the change flow's invariant (``jobs.change_flow``): a change that is not final holds its
service's change lock, released only after the change's final transition. So the sweep needs no
scan: ``recover(service_id)`` (every pull, and an apply or rollback that finds the lock held) looks
at the holder:
- gone (a lock without a change record) -> released;
- final (its follow-up writes were interrupted) -> the recommendation, config and lock completed;
- moving (a step recorded within ``change_lock_stale_s``) -> left alone;
- idle, asynchronous, taken up fewer than ``actuation_max_attempts`` times -> handed to the worker
  again (it resumes from the live state);
- otherwise reconciled from the live config: live == target -> SUCCEEDED; live == before -> FAILED;
  anything else, or a resource caught mid-change -> NEEDS_ATTENTION with both configs and an alert.

``run_queued(service_id, change_id, clock)`` is the worker's work on one queued change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from costopt import deps
from costopt.actuators.registry import actuator_for
from costopt.config import settings
from costopt.domain.change import FINAL_STATUSES, Change
from costopt.errors import ActuatorError, Conflict, CostoptError, DependencyUnavailable, NotFound
from costopt.jobs.change_flow import Clock, actuate, complete, dump, queue_actuation, release
from costopt.observability import logger
from costopt.store.retry import retry_transient

# --------------------------------------------------------------------------- the actuation worker


def run_queued(service_id: str, change_id: str, clock: Clock) -> Change | None:
    """The worker's work on one queued change: take it up (counted), actuate from the live state,
    finish it. A change already final is completed; one taken up too often is reconciled instead.
    Actuation failures are recorded on the change; DynamoDB failures raise (SQS delivers it again)."""
    changes = deps.changes()
    change = changes.find(service_id, change_id)
    if change is None:
        logger.warning("queued change not found", extra={"service_id": service_id, "change_id": change_id})
        return None
    if change.status in FINAL_STATUSES:
        complete(change)
        return change
    if change.status != "IN_PROGRESS" or change.attempts >= settings.actuation_max_attempts:
        return reconcile(change, clock())
    change = changes.transition(service_id, change_id, from_statuses=["IN_PROGRESS"], to_status="IN_PROGRESS",
                                attempts=change.attempts + 1, now=clock(), step="worker",
                                detail=f"taken up by the actuation worker (attempt {change.attempts + 1})")
    service = deps.services().get(service_id)
    resource = service.resource(change.resource_id)
    if resource is None:
        return reconcile(change, clock())
    try:
        actuate(change, service, resource, actuator_for(change.kind), clock)
    except CostoptError as exc:
        if isinstance(exc, DependencyUnavailable) and not isinstance(exc, ActuatorError) \
                and exc.extra.get("change_status") != "FAILED":
            raise  # not recorded: let SQS deliver it again
        logger.warning("queued change failed", extra={"change_id": change_id, "error": exc.detail})
    return changes.find(service_id, change_id)


# --------------------------------------------------------------------------- recovery sweep


def recover(service_id: str, now: datetime) -> bool:
    """Reconcile the holder of the service's change lock if it stopped moving; returns whether the
    lock is free now."""
    changes = deps.changes()
    try:
        holder = changes.lock_holder(service_id)
    except NotFound:
        return False
    if holder is None:
        return True
    change = changes.find(service_id, holder)
    stale = timedelta(seconds=settings.change_lock_stale_s)
    if change is None:
        # claims write the lock and the record in one transaction: a lock without one is a leftover
        # (of an older costopt, or written by hand); released once it is older than the stale limit
        if holder < deps.change_id_floor(now - stale):
            release(service_id, holder)
            return True
        return False
    if change.status in FINAL_STATUSES:
        complete(change)
        return True
    if now - change.updated_at < stale:
        return False  # still moving (the worker records a step at least every few minutes)
    if change.mode == "async" and change.status == "IN_PROGRESS" and change.attempts < settings.actuation_max_attempts:
        try:
            queue_actuation(change)
            changes.transition(service_id, holder, from_statuses=["IN_PROGRESS"], to_status="IN_PROGRESS", now=now,
                               step="requeued", detail="the worker stopped moving; handed to it again")
        except Exception:
            logger.exception("could not hand a stalled change to the worker again", extra={"change_id": holder})
        return False
    settled = reconcile(change, now)
    return settled is not None and settled.status in FINAL_STATUSES


def reconcile(change: Change, now: datetime) -> Change | None:
    """Settle a change that stopped half-way from the live config (see the module doc); None when the
    live config cannot be read now (the next sweep tries again)."""
    changes = deps.changes()
    service = deps.services().find(change.service_id)
    resource = service.resource(change.resource_id) if service else None
    target = change.target if change.target is not None else change.after
    status: str = "NEEDS_ATTENTION"
    fields: dict[str, Any] = {}
    if service is None or resource is None:
        fields = {"error": "the resource is no longer registered; the sweep could not read its live config"}
    else:
        act = actuator_for(change.kind)
        try:
            live = act.read(service, resource)
            unsettled = act.unsettled(service, resource, change.facts) if change.status == "IN_PROGRESS" else None
        except CostoptError as exc:
            if exc.status >= 500:
                logger.warning("the sweep could not read the live config; it tries again",
                               extra={"change_id": change.change_id, "error": exc.detail})
                return None
            live, unsettled = None, f"the live config cannot be read: {exc.detail}"
        live_config = dump(live) if live is not None else None
        if unsettled:
            fields = {"error": f"interrupted mid-change: {unsettled}", "live": live_config}
        elif live is not None and not act.differences(target, live):
            status = "SUCCEEDED"
            verify_until = now + timedelta(hours=service.policy.verify_hours) if change.type == "APPLY" else None
            fields = {"after": live_config, "verify_until": verify_until}
        elif live is not None and not act.differences(change.before, live):
            status = "FAILED"
            fields = {"error": "interrupted before the change took effect: the live config is still the before "
                               "config (settled by the recovery sweep)"}
        else:
            fields = {"error": "interrupted: the live config is neither the before nor the target config; "
                               "check the resource", "live": live_config}
    detail = fields.get("error") or "the sweep found the target config live"
    try:
        final = retry_transient(lambda: changes.transition(
            change.service_id, change.change_id, from_statuses=[change.status], to_status=status,
            completed_at=now, now=now, step="reconciled", detail=str(detail), **fields))
    except Conflict:
        return changes.find(change.service_id, change.change_id)  # moved on meanwhile
    logger.warning("reconciled an interrupted change", extra={"change_id": change.change_id, "status": status})
    if status == "NEEDS_ATTENTION":
        _alert(final)
    complete(final)
    return final


def _alert(change: Change) -> None:
    from costopt.connectors.notify import publish_change_alert

    try:
        publish_change_alert(change)
    except Exception:
        logger.exception("could not send the needs-attention alert", extra={"change_id": change.change_id})


def sweep_service(service_id: str, now: datetime) -> bool:
    """The recovery sweep for one service (the hourly pull runs it); never raises on a dependency."""
    try:
        return recover(service_id, now)
    except Exception as exc:
        logger.warning("recovery sweep failed; the next pull tries again",
                       extra={"service_id": service_id, "error": str(exc)})
        return False

