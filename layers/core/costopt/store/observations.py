"""Observations table (pk, sk): day summaries per (service, resource, metric), watermarks, freshness.

Items
-----
- day item: ``pk = "<service_id>#<resource_id>#<metric>"``, ``sk = "D#YYYY-MM-DD"``: the day's DDSketch
  (compact zlib JSON, see costopt.observe.sketch), count/sum/min/max, the hourly aggregates (JSON of up
  to 24 ``[count, sum, min, max]``), ``hours`` = the set of hours already folded, ``period_s`` and a
  ``version`` for optimistic locking. A day of 5-minute points is ~1-3 KB.
- meta items under ``pk = "<service_id>#_meta"``: ``sk = "W#<source>"`` watermark (``at``; for telemetry
  also ``behind``: JSON ``{resource_id: iso time}`` of the resources whose own watermark is earlier,
  because the source returned nothing for them since; an item without it, as written before per-resource
  watermarks existed, puts every resource at ``at``), ``sk = "S#<source>"`` freshness (last_success_at,
  last_error, last_error_at, stale),
  ``sk = "L#data"`` the latest telemetry point folded (``at``).

Public API
----------
``ObservationRepository()``
  ``fold(service_id: str, series: list[Series], now: datetime | None = None) -> FoldResult``
      Idempotent: points are grouped per (resource, metric, UTC day) (one conditional write each); an hour
      already in the day item's ``hours`` is skipped, so replaying a pull changes nothing. Each write is
      conditional on the version read (or on the item not existing), retried on conflict, so concurrent
      pulls never double count. Fold complete hours (a partially delivered hour is closed once folded).
  ``summaries(service_id, resource_id, metric, start_day: date, end_day: date) -> list[DaySummary]``
      (Query, inclusive days, oldest first)
  ``hourly(service_id, resource_id, metric, start: datetime, end: datetime) -> list[HourlyAggregate]``
      (hours in [start, end), sorted)
  ``day_summaries(service_id, keys: Iterable[tuple[str, Metric]], start_day, end_day)
      -> dict[tuple[str, Metric], list[DaySummary]]`` (BatchGet over every key  x  day; missing = absent);
      ``day_summaries_many(keys: Iterable[tuple[service_id, resource_id, Metric]], start_day, end_day)``
      the same over several services
  ``get_watermark(service_id, source: str) -> datetime | None``
  ``set_watermark(service_id, source: str, at: datetime, force: bool = False) -> bool``
      (moves forward only unless ``force``; returns whether it was written; ``behind`` is kept)
  ``get_watermarks(service_id, source) -> Watermarks`` (``at`` and ``behind``; ``.of(resource_id)``)
  ``set_watermarks(service_id, source, at: datetime, behind: Mapping[str, datetime]) -> bool``
      (one write of both, unless another writer moved ``at`` past ``at``: then nothing, False)
  ``mark_success(service_id, source, at: datetime | None = None) -> None`` (stale = False)
  ``mark_stale(service_id, source, error: str, at: datetime | None = None) -> None``
      (stale = True, keeps every observation)
  ``freshness(service_id) -> dict[str, Freshness]``
  ``last_data_at(service_id) -> datetime | None``; ``last_data_at_many(service_ids) -> dict[str, datetime | None]``
``Watermarks``: ``at`` (the service's), ``behind`` (per resource); ``of(resource_id)`` = ``min(behind, at)``.
``FoldResult``: points_folded, points_skipped, hours_folded, hours_skipped, items_written, retries,
  last_point_at.
``observation_pk(service_id, resource_id, metric)``, ``day_sk(day)``, ``meta_pk(service_id)``.

Query/BatchGet/GetItem only; never a Scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from costopt import clock
from costopt.config import settings
from costopt.domain.observation import Datapoint, Freshness, HourlyAggregate, Metric, Series
from costopt.observe.sketch import DaySummary, MetricSummary, day_start, group_by_day
from costopt.store.base import is_conditional, table_meta
from costopt.store.marks import FoldResult, Watermarks

MAX_FOLD_ATTEMPTS = 5
_ERROR_MAX = 1000


def observation_pk(service_id: str, resource_id: str, metric: Metric | str) -> str:
    return f"{service_id}#{resource_id}#{Metric(metric).value}"


def day_sk(day: date) -> str:
    return f"D#{day.isoformat()}"


def meta_pk(service_id: str) -> str:
    return f"{service_id}#_meta"


class ObservationItem(Model):
    """An item of the Observations table: ``pk`` (hash) and ``sk`` (range) as the module doc says."""

    Meta = table_meta(settings.observations_table)
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class DayItem(ObservationItem):
    period_s = NumberAttribute(default=300)
    n = NumberAttribute(default=0, attr_name="count")
    total = NumberAttribute(default=0, attr_name="sum")
    min = NumberAttribute(null=True)
    max = NumberAttribute(null=True)
    sketch = BinaryAttribute(legacy_encoding=False, null=True)
    hourly = UnicodeAttribute(null=True)
    hours = NumberSetAttribute(null=True)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.sk[2:])

    def to_day(self) -> DaySummary:
        d = self.day
        summary = MetricSummary.decode(self.sketch) if self.sketch else MetricSummary()
        return DaySummary(day=d, period_s=int(self.period_s or 300), summary=summary,
                          hourly=DaySummary.decode_hourly(d, self.hourly),
                          hours={int(h) for h in (self.hours or ())})

    def load(self, day: DaySummary, now: datetime) -> None:
        s = day.summary
        self.period_s = day.period_s
        self.n = s.count
        self.total = s.sum
        self.min = s.min
        self.max = s.max
        self.sketch = s.encode()
        self.hourly = day.encode_hourly()
        self.hours = set(day.hours) or None
        self.updated_at = now


class MetaItem(ObservationItem):
    at = UTCDateTimeAttribute(null=True)
    last_success_at = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_error_at = UTCDateTimeAttribute(null=True)
    stale = BooleanAttribute(null=True)
    behind = UnicodeAttribute(null=True)  # W# items: JSON {resource_id: iso datetime}


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class ObservationRepository:
    # ------------------------------------------------------------------ folding

    def fold(self, service_id: str, series: list[Series], now: datetime | None = None) -> FoldResult:
        now = now or clock.now()
        groups = group_by_day(series)
        result = FoldResult()
        if not groups:
            return result
        keys = {(observation_pk(service_id, rid, metric), day_sk(day)) for rid, metric, day in groups}
        existing = {(i.pk, i.sk): i for i in DayItem.batch_get(keys, consistent_read=True)}
        for (rid, metric, day), (period_s, points) in groups.items():
            key = (observation_pk(service_id, rid, metric), day_sk(day))
            one = self._fold_day(key, day, period_s, points, existing.get(key), now)
            if metric == Metric.COST_USD:
                one.last_point_at = None  # last_data_at tracks telemetry only
            result.add(one)
        if result.last_point_at is not None:
            self._advance(service_id, "L#data", result.last_point_at)
        return result

    def _fold_day(self, key: tuple[str, str], day: date, period_s: int, points: list[Datapoint],
                  item: DayItem | None, now: datetime) -> FoldResult:
        res = FoldResult()
        for attempt in range(MAX_FOLD_ATTEMPTS):
            if attempt:
                res.retries += 1
                item = next(iter(DayItem.batch_get([key], consistent_read=True)), None)
            summary = item.to_day() if item else DaySummary(day=day, period_s=period_s)
            before = set(summary.hours)
            point_hours = {_utc(p.t).hour for p in points}
            skipped_hours = point_hours & before
            added = summary.fold(points, period_s)
            new_hours = summary.hours - before
            res.hours_skipped = len(skipped_hours)
            res.points_skipped = sum(1 for p in points if _utc(p.t).hour in skipped_hours)
            if not new_hours:
                return res
            version = int(item.version) if item else 0
            out = DayItem(pk=key[0], sk=key[1])
            out.load(summary, now)
            out.version = version + 1
            condition = (DayItem.version == version) if item else DayItem.pk.does_not_exist()
            try:
                out.save(condition=condition)
            except PutError as exc:
                if is_conditional(exc):
                    continue
                raise
            res.points_folded = added
            res.hours_folded = len(new_hours)
            res.items_written = 1
            folded = [_utc(p.t) for p in points if _utc(p.t).hour not in before]
            res.last_point_at = max(folded) if folded else None
            return res
        raise RuntimeError(f"could not fold {key} after {MAX_FOLD_ATTEMPTS} attempts (write contention)")

    # ------------------------------------------------------------------ reading

    def summaries(self, service_id: str, resource_id: str, metric: Metric | str, start_day: date,
                  end_day: date) -> list[DaySummary]:
        pk = observation_pk(service_id, resource_id, metric)
        query = DayItem.query(pk, DayItem.sk.between(day_sk(start_day), day_sk(end_day)))
        return [i.to_day() for i in query]

    def hourly(self, service_id: str, resource_id: str, metric: Metric | str, start: datetime,
               end: datetime) -> list[HourlyAggregate]:
        start, end = _utc(start), _utc(end)
        if start >= end:
            return []
        last_day = (end - timedelta(microseconds=1)).date()
        out: list[HourlyAggregate] = []
        for d in self.summaries(service_id, resource_id, metric, start.date(), last_day):
            out.extend(a for a in d.hourly_list() if start <= a.hour < end)
        return out

    def day_summaries(self, service_id: str, keys: Iterable[tuple[str, Metric]], start_day: date,
                      end_day: date) -> dict[tuple[str, Metric], list[DaySummary]]:
        many = self.day_summaries_many(((service_id, rid, m) for rid, m in keys), start_day, end_day)
        return {(rid, m): days for (_, rid, m), days in many.items()}

    def day_summaries_many(self, keys: Iterable[tuple[str, str, Metric]], start_day: date,
                           end_day: date) -> dict[tuple[str, str, Metric], list[DaySummary]]:
        """``day_summaries`` over (service_id, resource_id, metric) keys of several services at once."""
        days = [start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)]
        pks = {observation_pk(sid, rid, m): (sid, rid, Metric(m)) for sid, rid, m in keys}
        wanted = [(pk, day_sk(d)) for pk in pks for d in days]
        out: dict[tuple[str, str, Metric], list[DaySummary]] = {}
        if not wanted:
            return out
        for item in DayItem.batch_get(wanted):
            out.setdefault(pks[item.pk], []).append(item.to_day())
        for items in out.values():
            items.sort(key=lambda d: d.day)
        return out

    # ------------------------------------------------------------------ watermarks & freshness

    def get_watermark(self, service_id: str, source: str) -> datetime | None:
        item = self._meta(service_id, f"W#{source}")
        return item.at if item else None

    def set_watermark(self, service_id: str, source: str, at: datetime, force: bool = False) -> bool:
        if force:
            MetaItem(pk=meta_pk(service_id), sk=f"W#{source}").update(actions=[MetaItem.at.set(_utc(at))])
            return True
        return self._advance(service_id, f"W#{source}", _utc(at))

    def get_watermarks(self, service_id: str, source: str) -> Watermarks:
        item = self._meta(service_id, f"W#{source}")
        if item is None:
            return Watermarks()
        behind = {rid: _utc(datetime.fromisoformat(t)) for rid, t in json.loads(item.behind or "{}").items()}
        return Watermarks(at=item.at, behind=behind)

    def set_watermarks(self, service_id: str, source: str, at: datetime,
                       behind: Mapping[str, datetime]) -> bool:
        """Write ``at`` and ``behind`` together, unless a concurrent pull already moved ``at`` further
        (then it knows more: nothing is written and False is returned; a resource it left behind is
        pulled again next time, which folding makes harmless)."""
        at = _utc(at)
        item = MetaItem(pk=meta_pk(service_id), sk=f"W#{source}")
        actions: list[Any] = [MetaItem.at.set(at)]
        if behind:
            doc = json.dumps({rid: _utc(t).isoformat() for rid, t in sorted(behind.items())})
            actions.append(MetaItem.behind.set(doc))
        else:
            actions.append(MetaItem.behind.remove())
        try:
            item.update(actions=actions, condition=MetaItem.at.does_not_exist() | (MetaItem.at <= at))
        except UpdateError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

    def mark_success(self, service_id: str, source: str, at: datetime | None = None) -> None:
        item = MetaItem(pk=meta_pk(service_id), sk=f"S#{source}")
        item.update(actions=[MetaItem.last_success_at.set(_utc(at or clock.now())),
                             MetaItem.stale.set(False)])

    def mark_stale(self, service_id: str, source: str, error: str, at: datetime | None = None) -> None:
        item = MetaItem(pk=meta_pk(service_id), sk=f"S#{source}")
        item.update(actions=[MetaItem.stale.set(True), MetaItem.last_error.set((error or "error")[:_ERROR_MAX]),
                             MetaItem.last_error_at.set(_utc(at or clock.now()))])

    def freshness(self, service_id: str) -> dict[str, Freshness]:
        out: dict[str, Freshness] = {}
        for item in MetaItem.query(meta_pk(service_id), MetaItem.sk.startswith("S#")):
            source = item.sk[2:]
            out[source] = Freshness(source=source, last_success_at=item.last_success_at,
                                    last_error=item.last_error, last_error_at=item.last_error_at,
                                    stale=bool(item.stale))
        return out

    def last_data_at(self, service_id: str) -> datetime | None:
        item = self._meta(service_id, "L#data")
        return item.at if item else None

    def last_data_at_many(self, service_ids: Iterable[str]) -> dict[str, datetime | None]:
        """``last_data_at`` of several services (one BatchGet, 100 keys a request)."""
        ids = list(dict.fromkeys(service_ids))
        out: dict[str, datetime | None] = dict.fromkeys(ids)
        for item in MetaItem.batch_get([(meta_pk(s), "L#data") for s in ids], consistent_read=True) if ids else ():
            out[item.pk.removesuffix("#_meta")] = item.at
        return out

    # ------------------------------------------------------------------ helpers

    def _meta(self, service_id: str, sk: str) -> MetaItem | None:
        try:
            return MetaItem.get(meta_pk(service_id), sk, consistent_read=True)
        except MetaItem.DoesNotExist:
            return None

    def _advance(self, service_id: str, sk: str, at: datetime) -> bool:
        """Set ``at`` on a meta item only if it moves forward."""
        item = MetaItem(pk=meta_pk(service_id), sk=sk)
        try:
            item.update(actions=[MetaItem.at.set(at)],
                        condition=MetaItem.at.does_not_exist() | (MetaItem.at < at))
        except UpdateError as exc:
            if is_conditional(exc):
                return False
            raise
        return True


__all__ = ["DayItem", "FoldResult", "MetaItem", "ObservationRepository", "Watermarks", "day_sk", "day_start",
           "meta_pk", "observation_pk"]
