"""Simulations table: one item per simulation result (hash ``simulation_id``), kept
``settings.simulation_ttl_days`` (DynamoDB TTL on ``expires_at``, epoch seconds).

The result is stored as zlib-compressed JSON (a result with 100 resources stays far below
DynamoDB's 400 KB item limit). DynamoDB deletes expired items lazily (within days), so ``get``
also treats an item past ``expires_at`` as gone.

Public API (``SimulationRepository``)::

    put(result: SimulationResult, now: datetime | None = None) -> SimulationResult   # sets created_at/expires_at
    put_many(results: list[SimulationResult], now=None) -> list[SimulationResult]      # BatchWrite
    get(simulation_id: str, now: datetime | None = None) -> SimulationResult           # NotFound (404)
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from costopt import clock
from costopt.config import settings
from costopt.domain.simulation import SimulationResult
from costopt.errors import NotFound
from costopt.store.base import ExpiringItem, table_meta, time_ordered_id

ID_PREFIX = "sim-"


def new_simulation_id(now: datetime | None = None) -> str:
    return time_ordered_id(ID_PREFIX, now)


class SimulationItem(ExpiringItem):
    Meta = table_meta(settings.simulations_table)
    simulation_id = UnicodeAttribute(hash_key=True)
    service_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    doc = BinaryAttribute(legacy_encoding=False)

    def to_domain(self) -> SimulationResult:
        return SimulationResult.model_validate_json(zlib.decompress(self.doc))


def _item(result: SimulationResult, now: datetime) -> tuple[SimulationItem, SimulationResult]:
    expires = now + timedelta(days=settings.simulation_ttl_days)
    stored = result.model_copy(update={"created_at": now, "expires_at": expires})
    item = SimulationItem(simulation_id=stored.simulation_id, service_id=stored.service_id, created_at=now,
                          expires_at=expires, doc=zlib.compress(stored.model_dump_json().encode(), 6))
    return item, stored


class SimulationRepository:
    def put(self, result: SimulationResult, now: datetime | None = None) -> SimulationResult:
        item, stored = _item(result, now or clock.now())
        item.save()
        return stored

    def put_many(self, results: list[SimulationResult], now: datetime | None = None) -> list[SimulationResult]:
        now = now or clock.now()
        out = []
        with SimulationItem.batch_write() as batch:
            for result in results:
                item, stored = _item(result, now)
                batch.save(item)
                out.append(stored)
        return out

    def get(self, simulation_id: str, now: datetime | None = None) -> SimulationResult:
        try:
            item = SimulationItem.get(simulation_id)
        except DoesNotExist:
            raise NotFound(f"simulation {simulation_id!r} does not exist (results are kept "
                           f"{settings.simulation_ttl_days} days)") from None
        if item.expires_at is not None and item.expires_at <= (now or clock.now()):
            raise NotFound(f"simulation {simulation_id!r} has expired")
        return item.to_domain()
