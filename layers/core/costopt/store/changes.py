"""Changes table: the append-only audit trail of applies and rollbacks.

Keys: ``service_id`` (hash) and ``change_id`` = ``time_ordered_id('c')`` (range), so a Query with
``ScanIndexForward=False`` lists a service's history newest first. A record is written once
(``attribute_not_exists``) and then only moves forward through its status with conditional
updates: PENDING -> IN_PROGRESS -> SUCCEEDED | FAILED (PENDING -> FAILED when refused before
anything was touched). Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from costopt.config import settings
from costopt.domain.change import Change
from costopt.errors import Conflict, NotFound
from costopt.http import PageToken
from costopt.store.base import BaseMeta, TimestampedModel, time_ordered_id

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
    return time_ordered_id(ID_PREFIX, at=now or datetime.now(UTC))


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
        now = now or datetime.now(UTC)
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
        query = ChangeItem.query(service_id, scan_index_forward=False, limit=limit,
                                 last_evaluated_key=PageToken.decode(next_token))
        items = [i.to_domain() for i in query]
        return items, PageToken.encode(query.last_evaluated_key)

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
