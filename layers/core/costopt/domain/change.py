"""Config change records: append-only audit trail of applies and rollbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from costopt.domain.common import Model, ResourceId, ServiceId

ChangeType = Literal["APPLY", "ROLLBACK", "AUTO_ROLLBACK"]
ChangeStatus = Literal["PENDING", "IN_PROGRESS", "SUCCEEDED", "FAILED"]


class Change(Model):
    service_id: ServiceId
    change_id: str
    recommendation_id: str
    resource_id: ResourceId
    kind: str
    type: ChangeType
    status: ChangeStatus
    before: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
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
