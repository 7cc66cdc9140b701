"""The observed hourly history on a day grid: ``series[resource_id][metric]`` is a (days x 24) array.

Every (resource, metric) becomes a (days x 24) array of hourly values: totals for count metrics
(requests, errors), the hour's mean otherwise (latency/duration are p99 per period, utilizations and
rates are averages). Days with fewer than ``MIN_DAY_HOURS`` observed hours are dropped; gaps in kept
days are filled with that hour-of-day's mean over the days. Also the cost model's ``UsageStats`` read
from it, for a resource the caller gives no ``CostInputs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from costopt.domain.observation import HourlyAggregate, Metric
from costopt.engine.cost_model import UsageStats
from costopt.errors import Conflict
from costopt.observe.window import PER_PERIOD_SUMS

if TYPE_CHECKING:
    from costopt.observe.usage import ServiceUsage

Array = NDArray[np.float64]

HOURS_PER_DAY = 24
MIN_DAY_HOURS = 12
DEFAULT_MIN_HISTORY_HOURS = 48
SUM_METRICS = PER_PERIOD_SUMS  # totals per hour; every other metric is the hour's mean
DEFAULT_PERIOD_S = 300


class InsufficientHistory(Conflict):
    title = "Not enough history"
    type_slug = "insufficient-history"


@dataclass
class History:
    """Observed hourly history on a day grid: ``series[resource_id][metric]`` is (days x 24)."""

    days: list[date]
    series: dict[str, dict[Metric, Array]]
    hours_available: int

    @property
    def weekend(self) -> NDArray[np.bool_]:
        return np.array([d.weekday() >= 5 for d in self.days], dtype=bool)

    def get(self, resource_id: str, metric: Metric) -> Array | None:
        return self.series.get(resource_id, {}).get(metric)


def _fill(arr: Array) -> Array | None:
    mask = ~np.isnan(arr)
    total = int(mask.sum())
    if total == 0:
        return None
    if total == arr.size:
        return arr
    counts = mask.sum(axis=0)
    sums = np.where(mask, arr, 0.0).sum(axis=0)
    overall = float(sums.sum() / total)
    col = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    return np.where(mask, arr, col[None, :])


def history_from_hourly(
    hourly: Mapping[str, Mapping[Metric, Sequence[HourlyAggregate]]],
    period_s: Mapping[str, Mapping[Metric, int]] | None = None,
    *,
    min_hours: int = DEFAULT_MIN_HISTORY_HOURS,
) -> History:
    """Build the day grid from hourly aggregates. Raises ``InsufficientHistory`` (409) with the hours
    available vs required when fewer than ``min_hours`` hours or no day with ``MIN_DAY_HOURS`` hours exist."""
    hours_seen: set[datetime] = set()
    for metrics in hourly.values():
        for metric, aggs in metrics.items():
            if metric == Metric.COST_USD:
                continue
            hours_seen.update(a.hour for a in aggs if a.count)
    per_day: dict[date, int] = {}
    for h in hours_seen:
        per_day[h.date()] = per_day.get(h.date(), 0) + 1
    days = sorted(d for d, n in per_day.items() if n >= MIN_DAY_HOURS)
    if len(hours_seen) < min_hours or not days:
        raise InsufficientHistory(
            f"the service has {len(hours_seen)} hours of hourly history; simulation needs at least {min_hours} "
            f"(and one day with {MIN_DAY_HOURS}+ hours)",
            extra={"hours_available": len(hours_seen), "hours_required": min_hours},
        )
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, dict[Metric, Array]] = {}
    for rid, metrics in hourly.items():
        for metric, aggs in metrics.items():
            if metric == Metric.COST_USD or not aggs:
                continue
            arr = np.full((len(days), HOURS_PER_DAY), np.nan)
            per_hour = 3600.0 / float((period_s or {}).get(rid, {}).get(metric) or DEFAULT_PERIOD_S)
            for agg in aggs:
                i = index.get(agg.hour.date())
                if i is None or not agg.count:
                    continue
                mean = agg.sum / agg.count
                arr[i, agg.hour.hour] = mean * per_hour if metric in SUM_METRICS else mean
            filled = _fill(arr)
            if filled is not None:
                series.setdefault(rid, {})[Metric(metric)] = filled
    return History(days=days, series=series, hours_available=len(hours_seen))


def history_from_usage(usage: ServiceUsage, *, min_hours: int = DEFAULT_MIN_HISTORY_HOURS) -> History:
    """From a lookback's ``ServiceUsage``: each resource's hourly aggregates and their periods."""
    return history_from_hourly({rid: ru.hourly for rid, ru in usage.resources.items()},
                               {rid: ru.period_s for rid, ru in usage.resources.items()}, min_hours=min_hours)


def stats_from_history(history: History, resource_id: str) -> UsageStats:
    """The cost model's ``UsageStats`` read from the hourly history (no bill: it is not replayed)."""

    def per_s(metric: Metric) -> float | None:
        arr = history.get(resource_id, metric)
        return None if arr is None else float(arr.mean()) / 3600.0

    def mean(metric: Metric) -> float | None:
        arr = history.get(resource_id, metric)
        return None if arr is None else float(arr.mean())

    cpu = history.get(resource_id, Metric.CPU_PCT)
    return UsageStats(requests_per_s=per_s(Metric.REQUESTS), duration_mean_ms=mean(Metric.DURATION_MEAN_MS),
                      duration_p99_mean_ms=mean(Metric.DURATION_MS), cpu_time_ms=mean(Metric.CPU_TIME_MS),
                      init_ms_per_s=per_s(Metric.INIT_MS), rcu_per_s=mean(Metric.CONSUMED_RCU),
                      wcu_per_s=mean(Metric.CONSUMED_WCU),
                      cpu_pct_hourly=() if cpu is None else tuple(float(v) for v in cpu.ravel()))
