"""Lookback windows: which days/hours a lookback covers, merging day summaries, data sufficiency.

Public API
----------
``MIN_HOURS = 30`` (Compute Optimizer's minimum), ``MIN_LOOKBACK_DAYS = 1``, ``MAX_LOOKBACK_DAYS = 93``.

``Window(start: datetime, end: datetime, lookback_days: int)`` (frozen dataclass)
    ``Window.ending(now: datetime, lookback_days: int = 14) -> Window`` — end = ``now`` floored to the hour
    (the last complete hour), start = end - lookback_days days. Raises BadRequest outside 1-93 days.
    ``hours -> int`` (lookback hours), ``days -> list[date]`` (every UTC day the window touches, oldest
    first), ``contains(t) -> bool``.

``PER_PERIOD_SUMS: frozenset[Metric]`` -- the metrics whose datapoint is a sum over its period (requests,
    errors, throttles, INIT ms, cost: the sources' ``sum`` statistic); every other metric is a level
    (average, percentile or maximum of its period) that does not grow with the period.

``WindowedMetric`` (dataclass): ``summary: MetricSummary`` (merge of the day sketches of every day the window
    touches), ``hourly: list[HourlyAggregate]`` (sorted, only hours inside the window),
    ``hours: set[datetime]`` (covered hour starts inside the window), ``period_s: int`` (the one period
    every value of ``summary`` and ``hourly`` is at).
``merge_days(days: Iterable[DaySummary], window: Window, metric: Metric) -> WindowedMetric``
    When the days have one period (the common case) their sketches and aggregates are merged as they are.
    When they mix periods (CloudWatch answers days older than 63 days hourly only) the window is at the
    gcd of the periods (the finest one: CloudWatch's periods divide each other) and a day of period
    ``p`` enters with weight ``p / period_s``, so every day counts for its duration: each datapoint
    counts ``weight`` times and, for ``PER_PERIOD_SUMS``, its value is divided by the weight (an hour's
    7,200 requests are twelve 5-minute periods of 600; totals are kept). Its hourly aggregates likewise:
    count x weight, and sum x weight (levels) or min/max / weight (sums). A coarse day adds no
    information below its period: its percentiles are those of evenly spread sub-periods.

``insufficient(resource_id, metric, hours_available, min_hours=MIN_HOURS) -> InsufficientData | None``
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from costopt.clock import floor_hour
from costopt.domain.observation import HourlyAggregate, Metric
from costopt.domain.recommendation import InsufficientData
from costopt.errors import BadRequest
from costopt.observe.sketch import DaySummary, MetricSummary, day_start

MIN_HOURS = 30
MIN_LOOKBACK_DAYS = 1
MAX_LOOKBACK_DAYS = 93
DEFAULT_LOOKBACK_DAYS = 14
PER_PERIOD_SUMS: frozenset[Metric] = frozenset({Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES, Metric.INIT_MS,
                                                Metric.COST_USD})


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    lookback_days: int

    @classmethod
    def ending(cls, now: datetime, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> Window:
        if not MIN_LOOKBACK_DAYS <= int(lookback_days) <= MAX_LOOKBACK_DAYS:
            raise BadRequest(f"lookback_days must be between {MIN_LOOKBACK_DAYS} and {MAX_LOOKBACK_DAYS}",
                             errors=[{"loc": ["lookback_days"], "msg": f"got {lookback_days}"}])
        end = floor_hour(now)
        return cls(start=end - timedelta(days=int(lookback_days)), end=end, lookback_days=int(lookback_days))

    @property
    def hours(self) -> int:
        return int((self.end - self.start).total_seconds() // 3600)

    @property
    def days(self) -> list[date]:
        first = self.start.astimezone(UTC).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass
class WindowedMetric:
    summary: MetricSummary = field(default_factory=MetricSummary)
    hourly: list[HourlyAggregate] = field(default_factory=list)
    hours: set[datetime] = field(default_factory=set)
    period_s: int = 300


def merge_days(days: Iterable[DaySummary], window: Window, metric: Metric) -> WindowedMetric:
    out = WindowedMetric()
    wanted = set(window.days)
    items = sorted((d for d in days if d.day in wanted), key=lambda x: x.day)
    periods = {d.period_s for d in items if d.summary.count}
    if periods:
        out.period_s = math.gcd(*periods)
    mixed, divide = len(periods) > 1, metric in PER_PERIOD_SUMS
    for d in items:
        hourly = [a for a in d.hourly_list() if window.contains(a.hour)]
        weight = d.period_s // out.period_s if mixed and d.summary.count else 1
        if weight > 1:
            out.summary.merge_weighted(d.summary, weight, divide)
            hourly = [_weighted(a, weight, divide) for a in hourly]
        else:
            out.summary.merge(d.summary)
        start = day_start(d.day)
        for h in d.hours:
            t = start + timedelta(hours=h)
            if window.contains(t):
                out.hours.add(t)
        out.hourly.extend(hourly)
    return out


def _weighted(a: HourlyAggregate, weight: int, divide: bool) -> HourlyAggregate:
    """One hour of a coarser day as ``weight`` datapoints per datapoint (see ``merge_days``)."""
    if divide:
        return HourlyAggregate(hour=a.hour, count=a.count * weight, sum=a.sum, min=a.min / weight,
                               max=a.max / weight)
    return HourlyAggregate(hour=a.hour, count=a.count * weight, sum=a.sum * weight, min=a.min, max=a.max)


def insufficient(resource_id: str | None, metric: str | None, hours_available: int,
                 min_hours: int = MIN_HOURS) -> InsufficientData | None:
    if hours_available >= min_hours:
        return None
    what = f"{metric} of {resource_id}" if metric else str(resource_id)
    return InsufficientData(
        resource_id=resource_id, metric=metric, hours_available=hours_available, hours_required=min_hours,
        detail=f"{what}: {hours_available} hours of data in the lookback, {min_hours} needed "
               f"({min_hours - hours_available} missing)",
    )


