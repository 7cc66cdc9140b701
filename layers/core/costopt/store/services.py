"""Services table: one item per service, the whole spec as a JSON document.

Listing goes through the ``by_entity`` GSI (constant partition ``service``, sorted by
service_id) or ``by_team``; never a Scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.expressions.condition import Condition

from costopt import clock
from costopt.config import settings
from costopt.domain.service import Service, ServicePut, ServiceSummary
from costopt.errors import Conflict, NotFound
from costopt.store.base import ServiceDocItem, consistent_get, existing, gsi, is_conditional, save_if, table_meta, texts
from costopt.store.paging import page

ENTITY = "service"


class ServiceItem(ServiceDocItem):
    Meta = table_meta(settings.services_table)
    entity = UnicodeAttribute(default=ENTITY)
    team, name, region = texts(3)
    resource_count = NumberAttribute(default=0)
    version = NumberAttribute()
    # set while an apply/rollback is in progress for this service (see store.changes)
    change_lock = UnicodeAttribute(null=True)

    by_entity = gsi("by_entity", "entity", "service_id")
    by_team = gsi("by_team", "team", "service_id")

    def to_domain(self) -> Service:
        data: dict[str, Any] = Service.model_validate_json(self.doc).model_dump()
        data.update(version=int(self.version), updated_at=self.updated_at, created_at=self.created_at)
        return Service.model_validate(data)

    def to_summary(self) -> ServiceSummary:
        return ServiceSummary(service_id=self.service_id, name=self.name, team=self.team, region=self.region,
                              resource_count=int(self.resource_count), version=int(self.version),
                              updated_at=self.updated_at)


def _item_for(service: Service) -> ServiceItem:
    return ServiceItem(
        service_id=service.service_id, team=service.team, name=service.name, region=service.region,
        resource_count=len(service.resources), version=service.version,
        doc=service.model_dump_json(), created_at=service.created_at, updated_at=service.updated_at,
    )


class ServiceRepository:
    def get(self, service_id: str) -> Service:
        return existing(self.find(service_id), f"service {service_id!r}")

    def find(self, service_id: str) -> Service | None:
        item = consistent_get(ServiceItem, service_id)
        return item.to_domain() if item else None

    def find_many(self, service_ids: Iterable[str]) -> dict[str, Service]:
        """The services among ``service_ids`` that exist, by id (BatchGet, 100 keys a request)."""
        keys = list(dict.fromkeys(service_ids))
        return {i.service_id: i.to_domain() for i in ServiceItem.batch_get(keys, consistent_read=True)} if keys else {}

    def put(self, service_id: str, spec: ServicePut, now: datetime | None = None) -> tuple[Service, bool]:
        """Create (no ``version``) or replace (``version`` must match). Returns (service, created)."""
        now = now or clock.now()
        body = spec.model_dump(exclude={"version"})
        if spec.version is None:
            service = Service(service_id=service_id, version=1, created_at=now, updated_at=now, **body)
            self._save(service, ServiceItem.service_id.does_not_exist(),
                       f"service {service_id!r} already exists; send its version to replace it")
            return service, True
        current = self.find(service_id)
        if current is None:
            raise NotFound(f"service {service_id!r} does not exist; omit version to create it")
        service = Service(service_id=service_id, version=spec.version + 1, created_at=current.created_at,
                          updated_at=now, **body)
        self._save(service, ServiceItem.version == spec.version, f"version {spec.version} is stale")
        return service, False

    def _save(self, service: Service, condition: Condition, conflict: str) -> None:
        """A conditional put; its condition failing is a Conflict naming the stored version."""
        def refused() -> Conflict:
            current = self.find(service.service_id)
            return Conflict(conflict, extra={"current_version": current.version if current else None})

        save_if(_item_for(service), condition, refused)

    def delete(self, service_id: str, version: int | None = None) -> None:
        item = ServiceItem(service_id=service_id)
        condition = ServiceItem.service_id.exists()
        if version is not None:
            condition = condition & (ServiceItem.version == version)
        try:
            item.delete(condition=condition)
        except DeleteError as exc:
            if is_conditional(exc):
                current = self.find(service_id)
                if current is None:
                    raise NotFound(f"service {service_id!r} does not exist") from None
                raise Conflict(f"version {version} is stale",
                               extra={"current_version": current.version}) from None
            raise

    def list(self, limit: int = 50, next_token: str | None = None,
             team: str | None = None) -> tuple[list[ServiceSummary], str | None]:
        index, key = (ServiceItem.by_team, team) if team else (ServiceItem.by_entity, ENTITY)

        def run(start: dict[str, Any] | None) -> Any:
            return index.query(key, limit=limit, last_evaluated_key=start)

        # a token of one list is a 400 on another
        return page(run, f"services:{team or ''}", next_token, ServiceItem.to_summary)

    def iter_ids(self, page_size: int = 100) -> Iterator[str]:
        """Every service id, paging the GSI (jobs use this; no Scan)."""
        for item in ServiceItem.by_entity.query(ENTITY, page_size=page_size,
                                                attributes_to_get=["service_id"]):
            yield item.service_id

    def set_lock(self, service_id: str, lock: str | None, expect: str | None = None) -> None:
        """Low-level helper for the change lock (see store.changes)."""
        item = ServiceItem(service_id=service_id)
        cond = ServiceItem.service_id.exists()
        cond &= ServiceItem.change_lock.does_not_exist() if expect is None else (ServiceItem.change_lock == expect)
        action = ServiceItem.change_lock.set(lock) if lock else ServiceItem.change_lock.remove()
        try:
            item.update(actions=[action], condition=cond)
        except UpdateError as exc:
            if is_conditional(exc):
                raise Conflict("another change is in progress for this service") from None
            raise

