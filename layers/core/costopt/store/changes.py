"""Changes table: the append-only audit trail of applies and rollbacks.

Keys: ``service_id`` (hash) and ``change_id`` = ``time_ordered_id('c')`` (range), so a Query with
``ScanIndexForward=False`` lists a service's history newest first. A record is written once
(``attribute_not_exists``) and then only moves forward through its status with conditional
updates: PENDING -> IN_PROGRESS -> SUCCEEDED | FAILED (PENDING -> FAILED when refused before
anything was touched). Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from costopt import clock
from costopt.config import settings
from costopt.domain.change import Change
from costopt.errors import Conflict, NotFound
from costopt.http import PageToken
from costopt.store.base import BaseMeta, TimestampedModel, connection, time_ordered_id

CHANGE_TRANSITIONS: dict[str, frozenset[str]] = {
    "PENDING": frozenset({"IN_PROGRESS", "FAILED"}),
    "IN_PROGRESS": frozenset({"SUCCEEDED", "FAILED"}),
    "SUCCEEDED": frozenset(),
    "FAILED": frozenset(),
}
ID_PREFIX = "c"


class ChangeItem(TimestampedModel):
    class Meta(BaseMeta):
        table_name = settings.changes_table

    service_id = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)
    recommendation_id = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    type = UnicodeAttribute()
    status = UnicodeAttribute()
    doc = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

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


def _conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class ChangeRepository:
    def create(self, change: Change) -> Change:
        try:
            item_for(change).save(condition=ChangeItem.change_id.does_not_exist())
        except PutError as exc:
            if _conditional(exc):
                raise Conflict(f"change {change.change_id} exists already") from None
            raise
        return change

    def find(self, service_id: str, change_id: str) -> Change | None:
        try:
            return ChangeItem.get(service_id, change_id, consistent_read=True).to_domain()
        except DoesNotExist:
            return None

    def get(self, service_id: str, change_id: str) -> Change:
        found = self.find(service_id, change_id)
        if found is None:
            raise NotFound(f"change {change_id!r} of service {service_id!r} does not exist")
        return found

    def transition(self, service_id: str, change_id: str, *, from_statuses: Iterable[str], to_status: str,
                   now: datetime | None = None, **fields: Any) -> Change:
        """Move a change forward (conditional on its current status); ``fields`` update the record."""
        allowed = tuple(from_statuses)
        for status in allowed:
            if to_status not in CHANGE_TRANSITIONS.get(status, frozenset()):
                raise ValueError(f"a change cannot move {status} -> {to_status}")
        current = self.get(service_id, change_id)
        if current.status not in allowed:
            raise Conflict(f"change {change_id} is {current.status}, not {' or '.join(allowed)}")
        now = now or clock.now()
        updated = current.model_copy(update={**fields, "status": to_status, "updated_at": now})
        updated = Change.model_validate(updated.model_dump())  # validate the new fields
        item = ChangeItem(service_id=service_id, change_id=change_id)
        try:
            item.update(
                actions=[ChangeItem.status.set(to_status), ChangeItem.doc.set(updated.model_dump_json()),
                         ChangeItem.updated_at.set(now)],
                condition=ChangeItem.change_id.exists() & (ChangeItem.status == current.status),
            )
        except UpdateError as exc:
            if _conditional(exc):
                raise Conflict(f"change {change_id} was moved on by someone else") from None
            raise
        return updated

    def history(self, service_id: str, limit: int = 50,
                next_token: str | None = None) -> tuple[list[Change], str | None]:
        """The service's changes, newest first, one page."""
        scope = f"changes:{service_id}"  # a token of one list is a 400 on another
        query = ChangeItem.query(service_id, scan_index_forward=False, limit=limit,
                                 last_evaluated_key=PageToken.decode(next_token, scope))
        items = [i.to_domain() for i in query]
        return items, PageToken.encode(query.last_evaluated_key, scope)

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


# --------------------------------------------------------------------------- the per-service change lock


def acquire_change_lock(service_id: str, change_id: str, now: datetime | None = None) -> None:
    """Take the service's change lock for ``change_id`` (conditional write on the Services item).

    Free, or held by a change older than ``settings.change_lock_stale_s`` (a crashed apply: lock values
    are time-ordered change ids), or already ours. Otherwise 409 naming the holder; 404 without service.
    """
    from costopt.store.services import ServiceItem

    now = now or clock.now()
    stale_floor = id_floor(now - timedelta(seconds=settings.change_lock_stale_s))
    condition = ServiceItem.service_id.exists() & (
        ServiceItem.change_lock.does_not_exist() | (ServiceItem.change_lock < stale_floor)
        | (ServiceItem.change_lock == change_id))
    try:
        ServiceItem(service_id=service_id).update(actions=[ServiceItem.change_lock.set(change_id)],
                                                  condition=condition)
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        try:
            holder = ServiceItem.get(service_id, consistent_read=True,
                                     attributes_to_get=["service_id", "change_lock"]).change_lock
        except DoesNotExist:
            raise NotFound(f"service {service_id!r} does not exist") from None
        raise Conflict("another change is in progress for this service",
                       extra={"change_in_progress": holder}) from None


def release_change_lock(service_id: str, change_id: str) -> bool:
    """Release the lock if ``change_id`` holds it; returns whether it did."""
    from costopt.store.services import ServiceItem

    try:
        ServiceItem(service_id=service_id).update(actions=[ServiceItem.change_lock.remove()],
                                                  condition=ServiceItem.change_lock == change_id)
    except UpdateError as exc:
        if _conditional(exc):
            return False
        raise
    return True


def claim_apply(change: Change, *, expected_etag: str, now: datetime | None = None) -> str:
    """Claim a recommendation for ``change`` in ONE TransactWriteItems; returns the claimed etag.

    - the recommendation ACTIVE -> CLAIMED, conditional on ``expected_etag``;
    - the service's change lock set to the change id, conditional on no other change holding it
      (or a stale holder, see ``acquire_change_lock``);
    - the Change record put PENDING, conditional on not existing.
    All or nothing: 409 naming which condition failed (stale etag / not ACTIVE / change in progress).
    """
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceItem

    now = now or clock.now()
    recs = RecommendationRepository()
    parts = recs.claim_parts(change.service_id, change.recommendation_id, expected_etag, now=now)
    stale_floor = id_floor(now - timedelta(seconds=settings.change_lock_stale_s))
    lock_condition = ServiceItem.service_id.exists() & (
        ServiceItem.change_lock.does_not_exist() | (ServiceItem.change_lock < stale_floor))
    try:
        with TransactWrite(connection=connection()) as tw:
            tw.update(parts.item, actions=parts.actions, condition=parts.condition)
            tw.update(ServiceItem(service_id=change.service_id),
                      actions=[ServiceItem.change_lock.set(change.change_id)], condition=lock_condition)
            tw.save(item_for(change), condition=ChangeItem.change_id.does_not_exist())
    except TransactWriteError as exc:
        # PynamoDB sends puts before updates: [change put, recommendation update, service lock update]
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if len(reasons) != 3:
            raise
        if reasons[1] == "ConditionalCheckFailed":
            current = recs.find(change.service_id, change.recommendation_id)
            if current is None:
                raise NotFound(f"recommendation {change.recommendation_id!r} does not exist") from None
            if current.etag != expected_etag:
                raise Conflict("the recommendation changed since you read it (stale etag)",
                               extra={"current_etag": current.etag, "recommendation_status": current.status}) from None
            raise Conflict(f"recommendation {change.recommendation_id} is {current.status}, not ACTIVE",
                           extra={"recommendation_status": current.status, "etag": current.etag}) from None
        if reasons[2] == "ConditionalCheckFailed":
            try:
                holder = ServiceItem.get(change.service_id, consistent_read=True).change_lock
            except DoesNotExist:
                raise NotFound(f"service {change.service_id!r} does not exist") from None
            raise Conflict("another change is in progress for this service",
                           extra={"change_in_progress": holder}) from None
        if reasons[0] == "ConditionalCheckFailed":
            raise Conflict(f"change {change.change_id} exists already") from None
        if "TransactionConflict" in reasons:
            raise Conflict("another request is claiming this recommendation or service right now",
                           extra={"transaction_conflict": True}) from None
        raise
    return parts.etag
