"""Where a metrics pull starts and stops: the windows of telemetry and billing, and the watermarks.

``telemetry_window(service, watermark, as_of)``: from the watermark (first pull: the synthetic
source's ``history_days``, else ``REAL_FIRST_PULL``) to ``as_of``, never more than ``MAX_CATCHUP``
behind (older hours are given up: the pull reports them as gaps). ``billing_window(service,
watermark, now)``: complete UTC days settled for ``BILLING_SETTLE``. ``WatermarkState``: the
service's watermark and the resources behind it, written (one item) when they change.
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
REAL_FIRST_PULL = timedelta(days=1)
BILLING_FIRST_DAYS = 14
BILLING_SETTLE = timedelta(hours=12)
HOUR = timedelta(hours=1)


def telemetry_window(service: Service, watermark: datetime | None, as_of: datetime) -> tuple[datetime, datetime]:
    if watermark is None:
        if service.telemetry.source == "synthetic":
            start = floor_day(as_of) - timedelta(days=service.telemetry.synthetic.history_days)
        else:
            start = as_of - REAL_FIRST_PULL
    else:
        start = floor_hour(watermark)
    return max(start, as_of - MAX_CATCHUP), as_of


def billing_window(service: Service, watermark: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = floor_day(now - BILLING_SETTLE)
    if watermark is None:
        days = service.telemetry.synthetic.history_days if service.billing.source == "synthetic" else BILLING_FIRST_DAYS
        start = end - timedelta(days=max(1, days))
    else:
        start = floor_day(watermark)
    return start, end


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
