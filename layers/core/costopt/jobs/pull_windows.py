"""Where a metrics pull starts and stops: the windows of telemetry and billing, and the watermarks.

``telemetry_window(service, watermark, as_of)``: from the watermark to ``as_of``; the first pull (no
watermark) goes ``policy.lookback_days`` back (at most ``MAX_FIRST_PULL_DAYS``, 93) from the start of
``as_of``'s day, for every source (a source answers what it has); a later catch-up is never more than
``MAX_CATCHUP`` behind (older hours are given up: the pull reports them as gaps). ``billing_window(
service, watermark, now)``: complete UTC days settled for ``BILLING_SETTLE``; the first pull the same
``policy.lookback_days`` back. A first pull cut short by its time budget (``backfilling``: the
service's watermark is before its creation hour) resumes where it stopped, uncapped; the cap applies to
later catch-ups (so a resource that never sends data is not asked for the whole lookback every hour).
``WatermarkState``: the service's watermark and the resources behind it, written (one item) when they change.
``fetch_groups`` / ``latest_points``: which resources a chunk asks for, and how far each got.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from costopt.clock import floor_day, floor_hour
from costopt.connectors.base import TELEMETRY
from costopt.domain.observation import Series
from costopt.domain.resources import Resource
from costopt.domain.service import Service

if TYPE_CHECKING:
    from costopt.ports import Observations
    from costopt.store.marks import Watermarks

CHUNK = timedelta(days=1)
MAX_CATCHUP = timedelta(days=14)
MAX_FIRST_PULL_DAYS = 93
BILLING_SETTLE = timedelta(hours=12)
HOUR = timedelta(hours=1)


def telemetry_window(service: Service, watermark: datetime | None, as_of: datetime, *,
                     backfilling: bool = False) -> tuple[datetime, datetime]:
    if watermark is None:  # the first pull: the whole lookback, not cut by the catch-up cap
        return floor_day(as_of) - first_pull(service), as_of
    if backfilling:  # the first pull ran out of time before its end: it resumes where it stopped, uncapped
        return floor_hour(watermark), as_of
    return max(floor_hour(watermark), as_of - MAX_CATCHUP), as_of


def backfilling(service: Service, service_watermark: datetime | None) -> bool:
    """The first pull has not reached its end yet (the service's watermark is before its creation hour)."""
    return service_watermark is not None and service_watermark < floor_hour(service.created_at)


def first_pull(service: Service) -> timedelta:
    """How far back a source's first pull goes: the service's ``policy.lookback_days`` (at most 93)."""
    return timedelta(days=max(1, min(MAX_FIRST_PULL_DAYS, service.policy.lookback_days)))


def billing_window(service: Service, watermark: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = floor_day(now - BILLING_SETTLE)
    return (end - first_pull(service) if watermark is None else floor_day(watermark)), end


class WatermarkState:
    """The service's watermark and the resources behind it; written (one item) when they change."""

    def __init__(self, obs: Observations, service_id: str, marks: Watermarks, own: dict[str, datetime]) -> None:
        self.obs, self.service_id, self.own = obs, service_id, own
        self.at = marks.at
        self.behind: dict[str, datetime] = dict(marks.behind)
        self._stored = (marks.at, dict(marks.behind))

    def save(self, reached: datetime | None) -> None:
        """Every served resource was asked for up to ``reached`` (None: only the per-resource ones moved)."""
        if reached is not None and (self.at is None or reached > self.at):
            self.at = reached
        if self.at is None:
            return
        at = self.at
        self.behind = {rid: t for rid, t in self.own.items() if t < at}
        if (at, self.behind) != self._stored:
            self.obs.set_watermarks(self.service_id, TELEMETRY, at, self.behind)
            self._stored = (at, dict(self.behind))


def fetch_groups(served: list[Resource], own: dict[str, datetime], cursor: datetime,
                  chunk_end: datetime) -> list[tuple[datetime, list[Resource]]]:
    """The resources due in [cursor, chunk_end), grouped by where their fetch starts (usually one group)."""
    groups: dict[datetime, list[Resource]] = {}
    for r in served:
        if own[r.resource_id] < chunk_end:
            groups.setdefault(max(cursor, own[r.resource_id]), []).append(r)
    return sorted(groups.items(), key=lambda g: g[0])


def latest_points(series: list[Series], members: list[Resource], start: datetime,
                   end: datetime) -> dict[str, datetime]:
    """The latest point in [start, end) the source returned per resource (absent: it returned nothing)."""
    wanted = {r.resource_id for r in members}
    latest: dict[str, datetime] = {}
    for s in series:
        if s.resource_id not in wanted:
            continue
        for p in s.points:
            t = p.t.astimezone(UTC) if p.t.tzinfo else p.t.replace(tzinfo=UTC)
            if start <= t < end and (s.resource_id not in latest or t > latest[s.resource_id]):
                latest[s.resource_id] = t
    return latest
