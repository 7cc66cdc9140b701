"""The actuation worker: SQS messages ``{"service_id", "change_id"}`` of changes that take minutes
(EC2 stop/modify/start), each carried on by ``change_recovery.run_queued`` (DESIGN §4).

A message whose change could not be read or written (DynamoDB) is reported as a batch item failure,
so SQS delivers it again after the visibility timeout; an actuation failure is recorded on the change
and the message is done. The change's steps are its progress (GET the change)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from costopt.domain.common import Model
from costopt.jobs.change_flow import wall_clock
from costopt.jobs.change_recovery import run_queued
from costopt.observability import logger


class QueuedChange(Model):
    service_id: str
    change_id: str


def handle(event: dict[str, Any]) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            queued = QueuedChange.model_validate(json.loads(record.get("body") or "{}"))
        except (ValueError, ValidationError):
            logger.error("dropping a malformed actuation message", extra={"message_id": message_id})
            continue  # delivering it again would not make it readable
        try:
            change = run_queued(queued.service_id, queued.change_id, wall_clock(None))
        except Exception:
            logger.exception("actuation message failed; SQS delivers it again",
                             extra={"change_id": queued.change_id})
            failures.append({"itemIdentifier": message_id})
            continue
        logger.info("actuation message done", extra={"change_id": queued.change_id,
                                                     "status": change.status if change else None})
    return {"batchItemFailures": failures}
