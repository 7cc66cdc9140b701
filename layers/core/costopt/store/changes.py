"""Changes table: the append-only audit trail of applies and rollbacks, and the per-service change lock.

Keys: ``service_id`` (hash) and ``change_id`` = ``time_ordered_id('c')`` (range), so a Query with
``ScanIndexForward=False`` lists a service's history newest first. A record is written once
(``attribute_not_exists``, in the same transaction that takes the service's change lock) and then
only moves forward through its status with conditional updates (``domain.change.CHANGE_TRANSITIONS``):
PENDING -> IN_PROGRESS -> SUCCEEDED | FAILED | NEEDS_ATTENTION; PENDING -> FAILED when refused
before anything was touched; IN_PROGRESS -> IN_PROGRESS records a step (progress, heartbeat); the
recovery sweep may settle a PENDING change too. Nothing is ever deleted.

The lock: ``change_lock`` on the service's item holds the id of the one change that is not final.
It is released only after that change's final transition; a holder that stopped moving is never
taken over blindly: the recovery sweep (jobs.change_flow) reconciles it first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from costopt import clock
from costopt.config import settings
from costopt.domain.change import Change, advanced, checked_change_transition
from costopt.errors import Conflict, NotFound
from costopt.store.base import (
    ServiceDocItem,
    connection,
    consistent_get,
    existing,
    is_conditional,
    retry_transient,
    save_if,
    table_meta,
    texts,
    time_ordered_id,
)
from costopt.store.paging import page
from costopt.store.recommendations import RecommendationItem, RecommendationRepository
from costopt.store.services import ServiceItem

ID_PREFIX = "c"


class ChangeItem(ServiceDocItem):
    Meta = table_meta(settings.changes_table)
    change_id = UnicodeAttribute(range_key=True)
    recommendation_id, resource_id, type, status = texts(4)

    def to_domain(self) -> Change:
        return Change.model_validate_json(self.doc)


def new_change_id(now: datetime | None = None) -> str:
    return time_ordered_id(ID_PREFIX, at=now or clock.now())


def id_floor(at: datetime) -> str:
    """The smallest change_id that can have been issued at or after ``at`` (for range queries)."""
    return time_ordered_id(ID_PREFIX, at=at)[: len(ID_PREFIX) + 10]


def item_for(change: Change) -> ChangeItem:
    return ChangeItem(
        service_id=change.service_id, change_id=change.change_id, recommendation_id=change.recommendation_id,
        resource_id=change.resource_id, type=change.type, status=change.status, doc=change.model_dump_json(),
        created_at=change.created_at, updated_at=change.updated_at,
    )


class ChangeRepository:
    def create(self, change: Change) -> Change:
        save_if(item_for(change), ChangeItem.change_id.does_not_exist(),
                lambda: Conflict(f"change {change.change_id} exists already"))
        return change

    def find(self, service_id: str, change_id: str) -> Change | None:
        item = consistent_get(ChangeItem, service_id, change_id)
        return item.to_domain() if item else None

    def get(self, service_id: str, change_id: str) -> Change:
        return existing(self.find(service_id, change_id), f"change {change_id!r} of service {service_id!r}")

    def transition(self, service_id: str, change_id: str, *, from_statuses: Iterable[str], to_status: str,
                   now: datetime | None = None, step: str | None = None, detail: str | None = None,
                   **fields: Any) -> Change:
        """Move a change forward (conditional on its current status); ``fields`` update the record and
        ``step`` (with ``detail``) is appended to its progress."""
        allowed = checked_change_transition(from_statuses, to_status)
        current = self.get(service_id, change_id)
        if current.status not in allowed:
            raise Conflict(f"change {change_id} is {current.status}, not {' or '.join(allowed)}",
                           extra={"change_status": current.status})
        now = now or clock.now()
        updated = advanced(current, to_status, now=now, step=step, detail=detail, **fields)
        item = ChangeItem(service_id=service_id, change_id=change_id)
        try:
            item.update(
                actions=[ChangeItem.status.set(to_status), ChangeItem.doc.set(updated.model_dump_json()),
                         ChangeItem.updated_at.set(now)],
                condition=ChangeItem.change_id.exists() & (ChangeItem.status == current.status),
            )
        except UpdateError as exc:
            if is_conditional(exc):
                raise Conflict(f"change {change_id} was moved on by someone else") from None
            raise
        return updated

    def history(self, service_id: str, limit: int = 50,
                next_token: str | None = None) -> tuple[list[Change], str | None]:
        """The service's changes, newest first, one page."""
        def run(start: dict[str, Any] | None) -> Any:
            return ChangeItem.query(service_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)

        return page(run, f"changes:{service_id}", next_token, ChangeItem.to_domain)  # another list's token: 400

    def newest_first(self, service_id: str, page_size: int = 50) -> Iterator[Change]:
        for item in ChangeItem.query(service_id, scan_index_forward=False, page_size=page_size):
            yield item.to_domain()

    def since(self, service_id: str, at: datetime) -> Iterator[Change]:
        """Changes issued at or after ``at``, oldest first (a key-range Query)."""
        for item in ChangeItem.query(service_id, ChangeItem.change_id >= id_floor(at)):
            yield item.to_domain()

    def for_recommendation(self, service_id: str, recommendation_id: str) -> list[Change]:
        """A recommendation's changes, newest first (Query on the service, filtered)."""
        return [i.to_domain() for i in ChangeItem.query(
            service_id, filter_condition=ChangeItem.recommendation_id == recommendation_id,
            scan_index_forward=False)]

    def last_applied_config(self, service_id: str, resource_id: str) -> dict[str, Any] | None:
        """The ``after`` of the newest SUCCEEDED change of a resource (what costopt last set)."""
        for item in ChangeItem.query(service_id, filter_condition=(ChangeItem.resource_id == resource_id)
                                     & (ChangeItem.status == "SUCCEEDED"), scan_index_forward=False,
                                     page_size=100):
            return dict(item.to_domain().after)
        return None

    # the per-service change lock (the functions below), for callers that hold a repository

    def claim(self, change: Change, *, expected_etag: str, now: datetime | None = None) -> str:
        return claim_change(change, expected_etag=expected_etag, now=now)

    def lock_holder(self, service_id: str) -> str | None:
        return lock_holder(service_id)

    def release_lock(self, service_id: str, change_id: str) -> bool:
        return release_change_lock(service_id, change_id)


# --------------------------------------------------------------------------- the per-service change lock


def lock_holder(service_id: str) -> str | None:
    """The change id holding the service's change lock (None when free); 404 without the service."""
    try:
        return ServiceItem.get(service_id, consistent_read=True,
                               attributes_to_get=["service_id", "change_lock"]).change_lock
    except DoesNotExist:
        raise NotFound(f"service {service_id!r} does not exist") from None


def release_change_lock(service_id: str, change_id: str) -> bool:
    """Release the lock if ``change_id`` holds it (retried on transient errors); returns whether it did."""
    def release() -> bool:
        try:
            ServiceItem(service_id=service_id).update(actions=[ServiceItem.change_lock.remove()],
                                                      condition=ServiceItem.change_lock == change_id)
        except UpdateError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

    return retry_transient(release)


def claim_change(change: Change, *, expected_etag: str, now: datetime | None = None) -> str:
    """Write ``change`` PENDING and take the service's change lock in ONE TransactWriteItems, together
    with the recommendation's part; returns the recommendation's etag after the claim.

    - APPLY: the recommendation ACTIVE -> CLAIMED, conditional on ``expected_etag``;
    - ROLLBACK / AUTO_ROLLBACK: the recommendation must still be SUCCEEDED with ``expected_etag``
      (a condition check; it moves to ROLLED_BACK when the rollback succeeds);
    - the lock set to the change id, conditional on no other change holding it;
    - the Change record put PENDING, conditional on not existing.
    All or nothing: 409 naming which condition failed (stale etag / wrong status / change in progress,
    with the holder in ``change_in_progress``).
    """
    now = now or clock.now()
    recs = RecommendationRepository()
    apply = change.type == "APPLY"
    lock_condition = ServiceItem.service_id.exists() & ServiceItem.change_lock.does_not_exist()
    try:
        with TransactWrite(connection=connection()) as tw:
            if apply:
                parts = recs.claim_parts(change.service_id, change.recommendation_id, expected_etag, now=now)
                tw.update(parts.item, actions=parts.actions, condition=parts.condition)
                etag = parts.etag
            else:
                tw.condition_check(RecommendationItem, change.service_id, change.recommendation_id,
                                   condition=(RecommendationItem.status == "SUCCEEDED")
                                   & (RecommendationItem.etag == expected_etag))
                etag = expected_etag
            tw.update(ServiceItem(service_id=change.service_id),
                      actions=[ServiceItem.change_lock.set(change.change_id)], condition=lock_condition)
            tw.save(item_for(change), condition=ChangeItem.change_id.does_not_exist())
    except TransactWriteError as exc:
        # the order DynamoDB reports: condition checks, puts, updates (as PynamoDB sends them)
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if len(reasons) != 3:
            raise
        put_reason, rec_reason, lock_reason = ((reasons[0], reasons[1], reasons[2]) if apply
                                               else (reasons[1], reasons[0], reasons[2]))
        if rec_reason == "ConditionalCheckFailed":
            current = recs.find(change.service_id, change.recommendation_id)
            if current is None:
                raise NotFound(f"recommendation {change.recommendation_id!r} does not exist") from None
            if current.etag != expected_etag:
                raise Conflict("the recommendation changed since you read it (stale etag)",
                               extra={"current_etag": current.etag, "recommendation_status": current.status}) from None
            wanted = "ACTIVE" if apply else "SUCCEEDED"
            raise Conflict(f"recommendation {change.recommendation_id} is {current.status}, not {wanted}",
                           extra={"recommendation_status": current.status, "etag": current.etag}) from None
        if lock_reason == "ConditionalCheckFailed":
            holder = lock_holder(change.service_id)
            raise Conflict("another change is in progress for this service",
                           extra={"change_in_progress": holder}) from None
        if put_reason == "ConditionalCheckFailed":
            raise Conflict(f"change {change.change_id} exists already") from None
        if "TransactionConflict" in reasons:
            raise Conflict("another request is claiming this recommendation or service right now",
                           extra={"transaction_conflict": True}) from None
        raise
    return etag
