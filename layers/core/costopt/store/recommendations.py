"""Recommendations table: one item per recommendation (hash ``service_id``, range ``recommendation_id``,
a time-ordered id so a Query with ``ScanIndexForward=False`` is newest first).

The immutable part of a recommendation is the JSON ``doc``; what changes over its lifecycle lives in
its own attributes and overlays the doc when read: ``status``, ``etag`` (new on every change),
``service_status`` (``"<service_id>#<STATUS>"``, hash key of the ``by_status`` GSI), ``updated_at``,
``status_reason``, ``applied_change_id``, ``realised`` (JSON).

Public API (``RecommendationRepository``)::

    replace_active(service_id, new: list[Recommendation], now=None, resource_ids=None) -> None
        writes ``new``, then moves every other ACTIVE one (of ``resource_ids`` when given) to SUPERSEDED,
        each conditional on status = ACTIVE, so one CLAIMED or DISMISSED meanwhile is never superseded
    get(service_id, recommendation_id) -> Recommendation                      # NotFound (404)
    list(service_id, status=None, limit=50, next_token=None) -> (items, next_token)   # newest first
    transition(service_id, recommendation_id, *, expected_etag: str | None, from_statuses: Iterable[str],
               to_status: str, **fields) -> Recommendation
        one conditional UpdateItem: status in from_statuses AND (etag == expected_etag when given);
        new etag; ``fields`` may set status_reason, applied_change_id, realised (RealisedSavings | dict | None).
        Conflict (409) with extra {"current_status", "current_etag"} when the condition fails; NotFound (404).
    transition_parts(...same arguments...) -> TransitionParts(item, actions, condition, etag, updated_at)
        the pieces of that UpdateItem, to put it in a TransactWrite with other writes, e.g. the service's
        change lock:  ``with TransactWrite(connection=store.base.connection()) as tw:
                           tw.update(parts.item, actions=parts.actions, condition=parts.condition); ...``
        then ``repo.get(...)`` (or ``parts.etag``) for the new state. ``claim_parts(service_id, rec_id,
        expected_etag)`` is the ACTIVE -> CLAIMED case.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as UpdateAction
from pynamodb.models import BatchWrite

from costopt import clock
from costopt.config import settings
from costopt.domain.recommendation import RealisedSavings, Recommendation, checked_transition
from costopt.errors import Conflict, NotFound
from costopt.store.base import (
    ServiceDocItem,
    consistent_get,
    existing,
    gsi,
    is_conditional,
    new_etag,
    save_if,
    table_meta,
    texts,
)
from costopt.store.paging import page


def service_status(service_id: str, status: str) -> str:
    return f"{service_id}#{status}"


class RecommendationItem(ServiceDocItem):
    Meta = table_meta(settings.recommendations_table)
    recommendation_id = UnicodeAttribute(range_key=True)
    status, etag, service_status, resource_id, action = texts(5)
    status_reason, applied_change_id, realised = texts(3, null=True)  # the lifecycle's overlay of the doc

    by_status = gsi("by_status", "service_status", "recommendation_id")

    def to_domain(self) -> Recommendation:
        data: dict[str, Any] = json.loads(self.doc)
        data.update(status=self.status, etag=self.etag, updated_at=self.updated_at.isoformat(),
                    status_reason=self.status_reason, applied_change_id=self.applied_change_id,
                    realised=json.loads(self.realised) if self.realised else None)
        return Recommendation.model_validate(data)


def _item_for(rec: Recommendation) -> RecommendationItem:
    return RecommendationItem(
        service_id=rec.service_id, recommendation_id=rec.recommendation_id, status=rec.status, etag=rec.etag,
        service_status=service_status(rec.service_id, rec.status), resource_id=rec.resource_id, action=rec.action,
        doc=rec.model_dump_json(), created_at=rec.created_at, updated_at=rec.updated_at,
        status_reason=rec.status_reason, applied_change_id=rec.applied_change_id,
        realised=rec.realised.model_dump_json() if rec.realised else None,
    )


@dataclass
class TransitionParts:
    item: RecommendationItem
    actions: list[UpdateAction]
    condition: Condition
    etag: str
    updated_at: datetime


class RecommendationRepository:
    # ------------------------------------------------------------------ writes

    def put(self, rec: Recommendation) -> None:
        """Create one recommendation (fails with Conflict if the id exists)."""
        save_if(_item_for(rec), RecommendationItem.recommendation_id.does_not_exist(),
                lambda: Conflict(f"recommendation {rec.recommendation_id!r} exists"))

    def replace_active(self, service_id: str, new: list[Recommendation], now: datetime | None = None,
                       resource_ids: Iterable[str] | None = None) -> None:
        """Write ``new``, then supersede the other ACTIVE ones (only those of ``resource_ids`` when given)."""
        now = now or clock.now()
        scope = set(resource_ids) if resource_ids is not None else None
        old = [i.recommendation_id for i in RecommendationItem.by_status.query(service_status(service_id, "ACTIVE"))
               if scope is None or i.resource_id in scope]
        with BatchWrite(RecommendationItem) as batch:
            for rec in new:
                if rec.service_id != service_id:
                    raise ValueError("every recommendation must belong to service_id")
                batch.save(_item_for(rec))
        keep = {r.recommendation_id for r in new}
        for rec_id in old:
            if rec_id in keep:
                continue
            try:
                self.transition(service_id, rec_id, expected_etag=None, from_statuses={"ACTIVE"},
                                to_status="SUPERSEDED", status_reason="superseded by a newer recommendation run",
                                now=now)
            except (Conflict, NotFound):
                continue  # claimed/dismissed meanwhile, or gone: leave it alone

    def transition_parts(self, service_id: str, recommendation_id: str, *, expected_etag: str | None,
                         from_statuses: Iterable[str], to_status: str, now: datetime | None = None,
                         **fields: Any) -> TransitionParts:
        froms = checked_transition(from_statuses, to_status, fields)
        now = now or clock.now()
        etag = new_etag()
        item = RecommendationItem(service_id=service_id, recommendation_id=recommendation_id)
        actions: list[UpdateAction] = [
            RecommendationItem.status.set(to_status),
            RecommendationItem.service_status.set(service_status(service_id, to_status)),
            RecommendationItem.etag.set(etag),
            RecommendationItem.updated_at.set(now),
        ]
        for name, value in fields.items():
            attr = getattr(RecommendationItem, name)
            if isinstance(value, RealisedSavings):
                value = value.model_dump_json()
            elif isinstance(value, dict):
                value = json.dumps(value, default=str)
            actions.append(attr.remove() if value is None else attr.set(value))
        condition = RecommendationItem.status.is_in(*froms)
        if expected_etag is not None:
            condition = condition & (RecommendationItem.etag == expected_etag)
        return TransitionParts(item=item, actions=actions, condition=condition, etag=etag, updated_at=now)

    def claim_parts(self, service_id: str, recommendation_id: str, expected_etag: str | None,
                    now: datetime | None = None) -> TransitionParts:
        """ACTIVE -> CLAIMED, for a TransactWrite together with the service's change lock."""
        return self.transition_parts(service_id, recommendation_id, expected_etag=expected_etag,
                                     from_statuses={"ACTIVE"}, to_status="CLAIMED", now=now)

    def transition(self, service_id: str, recommendation_id: str, *, expected_etag: str | None,
                   from_statuses: Iterable[str], to_status: str, now: datetime | None = None,
                   **fields: Any) -> Recommendation:
        parts = self.transition_parts(service_id, recommendation_id, expected_etag=expected_etag,
                                      from_statuses=from_statuses, to_status=to_status, now=now, **fields)
        try:
            parts.item.update(actions=parts.actions, condition=parts.condition)
        except UpdateError as exc:
            if not is_conditional(exc):
                raise
            current = self.find(service_id, recommendation_id)
            if current is None:
                raise NotFound(f"recommendation {recommendation_id!r} does not exist") from None
            stale = expected_etag is not None and current.etag != expected_etag
            raise Conflict(
                f"etag {expected_etag!r} is stale" if stale else
                f"recommendation is {current.status}; expected {' or '.join(sorted(set(from_statuses)))}",
                extra={"current_status": current.status, "current_etag": current.etag},
            ) from None
        return parts.item.to_domain()

    # ------------------------------------------------------------------ reads

    def find(self, service_id: str, recommendation_id: str) -> Recommendation | None:
        item = consistent_get(RecommendationItem, service_id, recommendation_id)
        return item.to_domain() if item else None

    def get(self, service_id: str, recommendation_id: str) -> Recommendation:
        return existing(self.find(service_id, recommendation_id),
                        f"recommendation {recommendation_id!r} of service {service_id!r}")

    def list(self, service_id: str, status: str | None = None, limit: int = 50,
             next_token: str | None = None) -> tuple[list[Recommendation], str | None]:
        """Newest first; with ``status`` through the ``by_status`` GSI. One page per call."""
        def run(start: dict[str, Any] | None) -> Any:
            if status:
                return RecommendationItem.by_status.query(service_status(service_id, status), limit=limit,
                                                          scan_index_forward=False, last_evaluated_key=start)
            return RecommendationItem.query(service_id, limit=limit, scan_index_forward=False,
                                            last_evaluated_key=start)

        # a token of one list is a 400 on another
        return page(run, f"recommendations:{service_id}:{status or ''}", next_token, RecommendationItem.to_domain,
                    limit=limit)

    def list_all(self, service_id: str, status: str) -> builtins.list[Recommendation]:
        """Every recommendation of the service in ``status``, newest first (all pages)."""
        out: builtins.list[Recommendation] = []
        token: str | None = None
        while True:
            items, token = self.list(service_id, status=status, limit=100, next_token=token)
            out.extend(items)
            if not token:
                return out

    def set_realised(self, rec: Recommendation, realised: RealisedSavings, now: datetime | None = None) -> bool:
        """Store ``realised`` on a SUCCEEDED recommendation, conditional on its etag (a new etag);
        False when it moved on meanwhile (e.g. rolled back)."""
        item = RecommendationItem(service_id=rec.service_id, recommendation_id=rec.recommendation_id)
        try:
            item.update(actions=[RecommendationItem.realised.set(realised.model_dump_json()),
                                 RecommendationItem.etag.set(new_etag()),
                                 RecommendationItem.updated_at.set(now or clock.now())],
                        condition=(RecommendationItem.status == "SUCCEEDED") & (RecommendationItem.etag == rec.etag))
        except UpdateError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

