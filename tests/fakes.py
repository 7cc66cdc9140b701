"""In-memory repositories implementing ``costopt.ports``: the seam that lets unit tests run jobs without moto.

They keep the real repositories' rules and answer with the same errors: a conditional write whose
condition fails is a ``Conflict`` with the same ``extra`` keys (``current_version``, ``current_status`` /
``current_etag``, ``change_in_progress``), a missing item is ``NotFound``, every write of a
recommendation gets a new etag, folding skips an hour already folded, watermarks only move forward,
lifecycle transitions are checked by the domain's own rules (``checked_transition``,
``checked_change_transition``, ``advanced``), and a page token of one list is a 400 on
another. Use them through ``costopt.deps``::

    fakes = Fakes()
    with fakes.installed():
        run_recommend("checkout")
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from costopt import clock, deps
from costopt.config import settings
from costopt.domain.budget import BudgetAlert
from costopt.domain.change import Change, advanced, checked_change_transition
from costopt.domain.ids import new_etag
from costopt.domain.observation import Freshness, HourlyAggregate, Metric, Series
from costopt.domain.recommendation import RealisedSavings, Recommendation, checked_transition
from costopt.domain.service import Service, ServicePut, ServiceSummary
from costopt.domain.simulation import SimulationResult
from costopt.errors import BadRequest, Conflict, NotFound
from costopt.observe.sketch import DaySummary, group_by_day
from costopt.store.marks import FoldResult, Watermarks


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _page(items: list[Any], scope: str, limit: int, next_token: str | None) -> tuple[list[Any], str | None]:
    """Offset paging with a scoped token (a token of another list, or a forged one, is a 400)."""
    start = 0
    if next_token:
        prefix, _, offset = next_token.rpartition("@")
        if prefix != scope or not offset.isdigit():
            raise BadRequest("next_token is not a token this API issued for this list",
                             errors=[{"loc": ["query", "next_token"], "msg": "invalid token"}])
        start = int(offset)
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return chunk, f"{scope}@{start + limit}" if more else None


# --------------------------------------------------------------------------- services


class FakeServices:
    def __init__(self) -> None:
        self.items: dict[str, Service] = {}
        self.locks: dict[str, str] = {}

    def get(self, service_id: str) -> Service:
        found = self.find(service_id)
        if found is None:
            raise NotFound(f"service {service_id!r} does not exist")
        return found

    def find(self, service_id: str) -> Service | None:
        found = self.items.get(service_id)
        return found.model_copy(deep=True) if found else None

    def find_many(self, service_ids: Iterable[str]) -> dict[str, Service]:
        return {s.service_id: s for s in map(self.find, service_ids) if s is not None}

    def put(self, service_id: str, spec: ServicePut, now: datetime | None = None) -> tuple[Service, bool]:
        now = now or clock.now()
        body = spec.model_dump(exclude={"version"})
        current = self.items.get(service_id)
        if spec.version is None:
            if current is not None:
                raise Conflict(f"service {service_id!r} already exists; send its version to replace it",
                               extra={"current_version": current.version})
            service = Service(service_id=service_id, version=1, created_at=now, updated_at=now, **body)
            self.items[service_id] = service
            return service, True
        if current is None:
            raise NotFound(f"service {service_id!r} does not exist; omit version to create it")
        if current.version != spec.version:
            raise Conflict(f"version {spec.version} is stale", extra={"current_version": current.version})
        service = Service(service_id=service_id, version=spec.version + 1, created_at=current.created_at,
                          updated_at=now, **body)
        self.items[service_id] = service
        return service, False

    def delete(self, service_id: str, version: int | None = None) -> None:
        current = self.items.get(service_id)
        if current is None:
            raise NotFound(f"service {service_id!r} does not exist")
        if version is not None and current.version != version:
            raise Conflict(f"version {version} is stale", extra={"current_version": current.version})
        del self.items[service_id]
        self.locks.pop(service_id, None)

    def list(self, limit: int = 50, next_token: str | None = None,
             team: str | None = None) -> tuple[list[ServiceSummary], str | None]:
        chosen = [s for _, s in sorted(self.items.items()) if team is None or s.team == team]
        summaries = [ServiceSummary(service_id=s.service_id, name=s.name, team=s.team, region=s.region,
                                    resource_count=len(s.resources), version=s.version, updated_at=s.updated_at)
                     for s in chosen]
        return _page(summaries, f"services:{team or ''}", limit, next_token)

    def iter_ids(self, page_size: int = 100) -> Iterator[str]:
        yield from sorted(self.items)


# --------------------------------------------------------------------------- recommendations


class FakeRecommendations:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Recommendation] = {}

    def put(self, rec: Recommendation) -> None:
        key = (rec.service_id, rec.recommendation_id)
        if key in self.items:
            raise Conflict(f"recommendation {rec.recommendation_id!r} exists")
        self.items[key] = rec

    def replace_active(self, service_id: str, new: list[Recommendation], now: datetime | None = None,
                       resource_ids: Iterable[str] | None = None) -> None:
        now = now or clock.now()
        scope = set(resource_ids) if resource_ids is not None else None
        old = [r.recommendation_id for r in self._of(service_id)
               if r.status == "ACTIVE" and (scope is None or r.resource_id in scope)]
        for rec in new:
            if rec.service_id != service_id:
                raise ValueError("every recommendation must belong to service_id")
            self.items[(service_id, rec.recommendation_id)] = rec
        keep = {r.recommendation_id for r in new}
        for rec_id in old:
            if rec_id in keep:
                continue
            try:
                self.transition(service_id, rec_id, expected_etag=None, from_statuses={"ACTIVE"},
                                to_status="SUPERSEDED", status_reason="superseded by a newer recommendation run",
                                now=now)
            except (Conflict, NotFound):
                continue

    def transition(self, service_id: str, recommendation_id: str, *, expected_etag: str | None,
                   from_statuses: Iterable[str], to_status: str, now: datetime | None = None,
                   **fields: Any) -> Recommendation:
        froms = checked_transition(from_statuses, to_status, fields)
        current = self.items.get((service_id, recommendation_id))
        if current is None:
            raise NotFound(f"recommendation {recommendation_id!r} does not exist")
        stale = expected_etag is not None and current.etag != expected_etag
        if current.status not in froms or stale:
            raise Conflict(
                f"etag {expected_etag!r} is stale" if stale else
                f"recommendation is {current.status}; expected {' or '.join(froms)}",
                extra={"current_status": current.status, "current_etag": current.etag})
        if isinstance(fields.get("realised"), dict):
            fields["realised"] = RealisedSavings.model_validate(fields["realised"])
        updated = current.model_copy(update={**fields, "status": to_status, "etag": new_etag(),
                                             "updated_at": now or clock.now()})
        self.items[(service_id, recommendation_id)] = updated
        return updated

    def find(self, service_id: str, recommendation_id: str) -> Recommendation | None:
        return self.items.get((service_id, recommendation_id))

    def get(self, service_id: str, recommendation_id: str) -> Recommendation:
        rec = self.find(service_id, recommendation_id)
        if rec is None:
            raise NotFound(f"recommendation {recommendation_id!r} of service {service_id!r} does not exist")
        return rec

    def list_all(self, service_id: str, status: str) -> list[Recommendation]:
        return [r for r in self._of(service_id) if r.status == status]

    def list(self, service_id: str, status: str | None = None, limit: int = 50,
             next_token: str | None = None) -> tuple[list[Recommendation], str | None]:
        chosen = [r for r in self._of(service_id) if status is None or r.status == status]
        return _page(chosen, f"recommendations:{service_id}:{status or ''}", limit, next_token)

    def set_realised(self, rec: Recommendation, realised: RealisedSavings, now: datetime | None = None) -> bool:
        current = self.items.get((rec.service_id, rec.recommendation_id))
        if current is None or current.status != "SUCCEEDED" or current.etag != rec.etag:
            return False
        self.items[(rec.service_id, rec.recommendation_id)] = current.model_copy(
            update={"realised": realised, "etag": new_etag(), "updated_at": now or clock.now()})
        return True

    def _of(self, service_id: str) -> list[Recommendation]:
        """Newest first (ids are time-ordered), like a Query with ScanIndexForward=False."""
        return [r for (sid, _), r in sorted(self.items.items(), reverse=True) if sid == service_id]


# --------------------------------------------------------------------------- changes and the change lock


class FakeChanges:
    def __init__(self, services: FakeServices, recommendations: FakeRecommendations) -> None:
        self.services, self.recommendations = services, recommendations
        self.items: dict[tuple[str, str], Change] = {}

    def create(self, change: Change) -> Change:
        key = (change.service_id, change.change_id)
        if key in self.items:
            raise Conflict(f"change {change.change_id} exists already")
        self.items[key] = change
        return change

    def find(self, service_id: str, change_id: str) -> Change | None:
        return self.items.get((service_id, change_id))

    def get(self, service_id: str, change_id: str) -> Change:
        found = self.find(service_id, change_id)
        if found is None:
            raise NotFound(f"change {change_id!r} of service {service_id!r} does not exist")
        return found

    def transition(self, service_id: str, change_id: str, *, from_statuses: Iterable[str], to_status: str,
                   now: datetime | None = None, step: str | None = None, detail: str | None = None,
                   **fields: Any) -> Change:
        allowed = checked_change_transition(from_statuses, to_status)
        current = self.get(service_id, change_id)
        if current.status not in allowed:
            raise Conflict(f"change {change_id} is {current.status}, not {' or '.join(allowed)}",
                           extra={"change_status": current.status})
        updated = advanced(current, to_status, now=now or clock.now(), step=step, detail=detail, **fields)
        self.items[(service_id, change_id)] = updated
        return updated

    def _of(self, service_id: str, newest_first: bool = True) -> list[Change]:
        return [c for (sid, _), c in sorted(self.items.items(), reverse=newest_first) if sid == service_id]

    def history(self, service_id: str, limit: int = 50,
                next_token: str | None = None) -> tuple[list[Change], str | None]:
        return _page(self._of(service_id), f"changes:{service_id}", limit, next_token)

    def since(self, service_id: str, at: datetime) -> Iterator[Change]:
        floor = deps.change_id_floor(at)
        yield from (c for c in self._of(service_id, newest_first=False) if c.change_id >= floor)

    def last_applied_config(self, service_id: str, resource_id: str) -> dict[str, Any] | None:
        for c in self._of(service_id):
            if c.resource_id == resource_id and c.status == "SUCCEEDED":
                return dict(c.after)
        return None

    def claim(self, change: Change, *, expected_etag: str, now: datetime | None = None) -> str:
        """All or nothing, like the TransactWriteItems of ``store.changes.claim_change``."""
        now = now or clock.now()
        apply = change.type == "APPLY"
        rec = self.recommendations.find(change.service_id, change.recommendation_id)
        wanted = "ACTIVE" if apply else "SUCCEEDED"
        if rec is None:
            raise NotFound(f"recommendation {change.recommendation_id!r} does not exist")
        if rec.etag != expected_etag:
            raise Conflict("the recommendation changed since you read it (stale etag)",
                           extra={"current_etag": rec.etag, "recommendation_status": rec.status})
        if rec.status != wanted:
            raise Conflict(f"recommendation {change.recommendation_id} is {rec.status}, not {wanted}",
                           extra={"recommendation_status": rec.status, "etag": rec.etag})
        if change.service_id not in self.services.items or change.service_id in self.services.locks:
            raise Conflict("another change is in progress for this service",
                           extra={"change_in_progress": self.services.locks.get(change.service_id)})
        if (change.service_id, change.change_id) in self.items:
            raise Conflict(f"change {change.change_id} exists already")
        etag = expected_etag
        if apply:
            etag = self.recommendations.transition(change.service_id, change.recommendation_id,
                                                   expected_etag=expected_etag, from_statuses={"ACTIVE"},
                                                   to_status="CLAIMED", now=now).etag
        self.services.locks[change.service_id] = change.change_id
        self.items[(change.service_id, change.change_id)] = change
        return etag

    def lock_holder(self, service_id: str) -> str | None:
        if service_id not in self.services.items:
            raise NotFound(f"service {service_id!r} does not exist")
        return self.services.locks.get(service_id)

    def release_lock(self, service_id: str, change_id: str) -> bool:
        if self.services.locks.get(service_id) != change_id:
            return False
        del self.services.locks[service_id]
        return True


# --------------------------------------------------------------------------- observations


class FakeObservations:
    def __init__(self) -> None:
        self.days: dict[tuple[str, str, Metric], dict[date, DaySummary]] = {}
        self.marks: dict[tuple[str, str], Watermarks] = {}
        self.fresh: dict[tuple[str, str], Freshness] = {}
        self.data_at: dict[str, datetime] = {}

    def fold(self, service_id: str, series: list[Series], now: datetime | None = None) -> FoldResult:
        result = FoldResult()
        for (rid, metric, day), (period_s, points) in group_by_day(series).items():
            stored = self.days.setdefault((service_id, rid, Metric(metric)), {})
            summary = copy.deepcopy(stored[day]) if day in stored else DaySummary(day=day, period_s=period_s)
            before = set(summary.hours)
            skipped = {_utc(p.t).hour for p in points} & before
            one = FoldResult(hours_skipped=len(skipped),
                             points_skipped=sum(1 for p in points if _utc(p.t).hour in skipped))
            added = summary.fold(points, period_s)
            new_hours = summary.hours - before
            if new_hours:
                stored[day] = summary
                folded = [_utc(p.t) for p in points if _utc(p.t).hour not in before]
                one.points_folded, one.hours_folded, one.items_written = added, len(new_hours), 1
                one.last_point_at = max(folded) if folded and metric != Metric.COST_USD else None
            result.add(one)
        if result.last_point_at is not None:
            self.data_at[service_id] = max(result.last_point_at, self.data_at.get(service_id, result.last_point_at))
        return result

    def summaries(self, service_id: str, resource_id: str, metric: Metric | str, start_day: date,
                  end_day: date) -> list[DaySummary]:
        stored = self.days.get((service_id, resource_id, Metric(metric)), {})
        return [copy.deepcopy(d) for day, d in sorted(stored.items()) if start_day <= day <= end_day]

    def hourly(self, service_id: str, resource_id: str, metric: Metric | str, start: datetime,
               end: datetime) -> list[HourlyAggregate]:
        start, end = _utc(start), _utc(end)
        if start >= end:
            return []
        last_day = (end - timedelta(microseconds=1)).date()
        return [a for d in self.summaries(service_id, resource_id, metric, start.date(), last_day)
                for a in d.hourly_list() if start <= a.hour < end]

    def day_summaries(self, service_id: str, keys: Iterable[tuple[str, Metric]], start_day: date,
                      end_day: date) -> dict[tuple[str, Metric], list[DaySummary]]:
        out: dict[tuple[str, Metric], list[DaySummary]] = {}
        for rid, m in keys:
            found = self.summaries(service_id, rid, m, start_day, end_day)
            if found:
                out[(rid, Metric(m))] = found
        return out

    def day_summaries_many(self, keys: Iterable[tuple[str, str, Metric]], start_day: date,
                           end_day: date) -> dict[tuple[str, str, Metric], list[DaySummary]]:
        return {(sid, rid, m): days for sid, rid, m in keys
                for (_, m), days in self.day_summaries(sid, [(rid, m)], start_day, end_day).items()}

    def get_watermark(self, service_id: str, source: str) -> datetime | None:
        return self.get_watermarks(service_id, source).at

    def set_watermark(self, service_id: str, source: str, at: datetime, force: bool = False) -> bool:
        current = self.get_watermarks(service_id, source)
        at = _utc(at)
        if not force and current.at is not None and current.at >= at:
            return False
        self.marks[(service_id, source)] = Watermarks(at=at, behind=current.behind)
        return True

    def get_watermarks(self, service_id: str, source: str) -> Watermarks:
        return self.marks.get((service_id, source), Watermarks())

    def set_watermarks(self, service_id: str, source: str, at: datetime,
                       behind: Mapping[str, datetime]) -> bool:
        current = self.get_watermarks(service_id, source)
        at = _utc(at)
        if current.at is not None and current.at > at:
            return False
        self.marks[(service_id, source)] = Watermarks(at=at, behind={r: _utc(t) for r, t in behind.items()})
        return True

    def mark_success(self, service_id: str, source: str, at: datetime | None = None) -> None:
        old = self.fresh.get((service_id, source), Freshness(source=source))
        self.fresh[(service_id, source)] = old.model_copy(
            update={"last_success_at": _utc(at or clock.now()), "stale": False})

    def mark_stale(self, service_id: str, source: str, error: str, at: datetime | None = None) -> None:
        old = self.fresh.get((service_id, source), Freshness(source=source))
        self.fresh[(service_id, source)] = old.model_copy(
            update={"stale": True, "last_error": (error or "error")[:1000], "last_error_at": _utc(at or clock.now())})

    def freshness(self, service_id: str) -> dict[str, Freshness]:
        return {source: f for (sid, source), f in self.fresh.items() if sid == service_id}

    def last_data_at(self, service_id: str) -> datetime | None:
        return self.data_at.get(service_id)

    def last_data_at_many(self, service_ids: Iterable[str]) -> dict[str, datetime | None]:
        return {s: self.last_data_at(s) for s in service_ids}


# --------------------------------------------------------------------------- alerts and simulations


class FakeAlerts:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[BudgetAlert, str]] = {}

    def raised(self, service_id: str, month: str) -> dict[str, datetime]:
        return {key: alert.crossed_at for (sid, key), (alert, _) in self.items.items()
                if sid == service_id and key.startswith(f"{month}#")}

    def record(self, key: str, alert: BudgetAlert) -> bool:
        if (alert.service_id, key) in self.items:
            return False
        self.items[(alert.service_id, key)] = (alert, "PENDING")
        return True

    def pending(self, service_id: str, month: str) -> list[tuple[str, BudgetAlert]]:
        return [(key, alert.model_copy(update={"delivery": "PENDING"}))
                for (sid, key), (alert, delivery) in sorted(self.items.items())
                if sid == service_id and key.startswith(f"{month}#") and delivery == "PENDING"]

    def mark_sent(self, service_id: str, key: str) -> None:
        alert, _ = self.items[(service_id, key)]
        self.items[(service_id, key)] = (alert, "SENT")


class FakeSimulations:
    def __init__(self) -> None:
        self.items: dict[str, SimulationResult] = {}

    def put(self, result: SimulationResult, now: datetime | None = None) -> SimulationResult:
        now = now or clock.now()
        stored = result.model_copy(update={"created_at": now,
                                           "expires_at": now + timedelta(days=settings.simulation_ttl_days)})
        self.items[stored.simulation_id] = stored
        return stored

    def put_many(self, results: list[SimulationResult], now: datetime | None = None) -> list[SimulationResult]:
        return [self.put(r, now) for r in results]

    def get(self, simulation_id: str, now: datetime | None = None) -> SimulationResult:
        found = self.items.get(simulation_id)
        if found is None:
            raise NotFound(f"simulation {simulation_id!r} does not exist (results are kept "
                           f"{settings.simulation_ttl_days} days)")
        if found.expires_at is not None and found.expires_at <= (now or clock.now()):
            raise NotFound(f"simulation {simulation_id!r} has expired")
        return found


# --------------------------------------------------------------------------- all of them


@dataclass
class Fakes:
    services: FakeServices = field(default_factory=FakeServices)
    recommendations: FakeRecommendations = field(default_factory=FakeRecommendations)
    observations: FakeObservations = field(default_factory=FakeObservations)
    alerts: FakeAlerts = field(default_factory=FakeAlerts)
    simulations: FakeSimulations = field(default_factory=FakeSimulations)
    changes: FakeChanges = field(init=False)

    def __post_init__(self) -> None:
        self.changes = FakeChanges(self.services, self.recommendations)

    @contextmanager
    def installed(self) -> Iterator[Fakes]:
        with deps.override(services=self.services, recommendations=self.recommendations, changes=self.changes,
                           observations=self.observations, alerts=self.alerts, simulations=self.simulations):
            yield self
