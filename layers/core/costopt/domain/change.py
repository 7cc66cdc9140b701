"""Config change records: append-only audit trail of applies and rollbacks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from costopt.domain.common import Model, ResourceId, ServiceId

ChangeType = Literal["APPLY", "ROLLBACK", "AUTO_ROLLBACK"]
ChangeStatus = Literal["PENDING", "IN_PROGRESS", "SUCCEEDED", "FAILED", "NEEDS_ATTENTION"]
# how the actuation runs: in the request (seconds) or in the actuation worker (EC2 stop/modify/start)
ChangeMode = Literal["sync", "async"]
FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "NEEDS_ATTENTION"})


class ChangeStep(Model):
    """One step of a change's progress (the intent recorded, each actuator step, the outcome)."""

    at: datetime
    step: str = Field(max_length=64)
    detail: str | None = Field(default=None, max_length=1000)


class Change(Model):
    service_id: ServiceId
    change_id: str
    recommendation_id: str
    resource_id: ResourceId
    kind: str
    type: ChangeType
    status: ChangeStatus
    before: dict[str, Any] = Field(default_factory=dict, description="The live config before the change")
    after: dict[str, Any] = Field(
        default_factory=dict, description="The target until the change succeeds, then the config read back")
    target: dict[str, Any] | None = Field(
        default=None, description="The config the change sets (the intent, recorded before AWS is called)")
    live: dict[str, Any] | None = Field(
        default=None, description="NEEDS_ATTENTION: the live config found, neither before nor target")
    mode: ChangeMode = "sync"
    facts: dict[str, Any] = Field(
        default_factory=dict, description="Live facts recorded with the intent (e.g. EC2: instance_state)")
    request_id: str | None = Field(default=None, description="The API or Lambda request that started it")
    steps: list[ChangeStep] = Field(default_factory=list, description="Progress, oldest first")
    attempts: int = Field(default=0, description="async: how many times the worker took it up")
    actor: str
    reason: str | None = None
    idempotency_key: str | None = None
    forced: bool = False
    dry_run: bool = False
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    verify_until: datetime | None = None
    rollback_not_before: datetime | None = Field(
        default=None, description="EBS: AWS blocks another modification for 6 hours"
    )


# --------------------------------------------------------------------------- API shapes (apply / rollback / history)



CHANGE_TRANSITIONS: dict[str, frozenset[str]] = {
    "PENDING": frozenset({"IN_PROGRESS", "FAILED", "SUCCEEDED", "NEEDS_ATTENTION"}),
    "IN_PROGRESS": frozenset({"IN_PROGRESS", "SUCCEEDED", "FAILED", "NEEDS_ATTENTION"}),
    "SUCCEEDED": frozenset(),
    "FAILED": frozenset(),
    "NEEDS_ATTENTION": frozenset(),
}
"""A change only moves forward; the final statuses are final."""


def checked_change_transition(from_statuses: Iterable[str], to_status: str) -> tuple[str, ...]:
    """The from-statuses of a move to ``to_status``; ``ValueError`` when ``CHANGE_TRANSITIONS`` has none."""
    allowed = tuple(from_statuses)
    for status in allowed:
        if to_status not in CHANGE_TRANSITIONS.get(status, frozenset()):
            raise ValueError(f"a change cannot move {status} -> {to_status}")
    return allowed


def advanced(current: Change, to_status: str, *, now: datetime, step: str | None = None,
             detail: str | None = None, **fields: Any) -> Change:
    """``current`` moved to ``to_status`` with ``fields`` set and ``step`` (with ``detail``, at most 1,000
    characters) appended to its progress; validated as a whole."""
    if step is not None:
        fields["steps"] = [*current.steps, ChangeStep(at=now, step=step, detail=(detail or None) and detail[:1000])]
    updated = current.model_copy(update={**fields, "status": to_status, "updated_at": now})
    return Change.model_validate(updated.model_dump())  # validate the new fields

class ApplyRequest(Model):
    service_id: ServiceId
    recommendation_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    etag: str = Field(min_length=1, max_length=64, description="The recommendation's etag you read")
    dry_run: bool = Field(default=False, description="Return the plan (live config, target, warnings); change nothing")
    force: bool = Field(default=False, description="Apply a recommendation that fails an SLA clause (needs a reason)")
    reason: str | None = Field(default=None, min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _force_needs_reason(self) -> ApplyRequest:
        if self.force and not (self.reason and self.reason.strip()):
            raise ValueError("force needs a reason (it is recorded on the change)")
        return self


class ChangeResult(Model):
    """What apply and rollback return (the same body again for a repeated Idempotency-Key)."""

    change_id: str | None = Field(description="None for a dry run")
    type: ChangeType
    status: Literal["PLANNED", "IN_PROGRESS", "SUCCEEDED", "FAILED"] = Field(
        description="IN_PROGRESS: accepted (202); the actuation worker carries it on, GET the change for progress")
    service_id: ServiceId
    recommendation_id: str = Field(description="The recommendation applied (a rollback: the one its change applied)")
    resource_id: ResourceId
    kind: str = Field(description="The resource's kind (ResourceKind)")
    recommendation_status: str
    before: dict[str, Any]
    after: dict[str, Any]
    warnings: list[str] = Field(default_factory=list)
    dry_run: bool = False
    forced: bool = False
    verify_until: datetime | None = None
    rollback_not_before: datetime | None = None
    steps: list[ChangeStep] = Field(default_factory=list)
