"""Usage readers: rates, totals, error rates and the spread of a lookback's busy hour (pure, numpy-free)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from costopt.domain.observation import Metric
from costopt.engine.cost_model import SECONDS_PER_MONTH
from costopt.engine.sla import DEFAULT_LOG_SD, SKETCH_LOG_SD

if TYPE_CHECKING:
    from costopt.observe.usage import ResourceUsage


def per_second(u: ResourceUsage, metric: Metric, q: float | None = None) -> float | None:
    """A per-period count (requests, errors) as a rate per second: mean, or quantile ``q`` of the periods."""
    s = u.summaries.get(metric)
    if s is None or not s.count:
        return None
    period = u.period_s.get(metric) or 300
    value = s.mean if q is None else s.quantile(q)
    return None if value is None else value / period


def monthly_count(u: ResourceUsage, metric: Metric) -> float | None:
    rate = per_second(u, metric)
    return None if rate is None else rate * SECONDS_PER_MONTH


def total(u: ResourceUsage, metric: Metric) -> float | None:
    s = u.summaries.get(metric)
    return float(s.sum) if s is not None and s.count else None


def error_rate_pct(u: ResourceUsage) -> float | None:
    req, err = total(u, Metric.REQUESTS), total(u, Metric.ERRORS)
    if not req or err is None:
        return None
    return err / req * 100.0


def busy_hour_log_se(u: ResourceUsage, metric: Metric, min_hours: int = 12) -> float | None:
    """The standard error of the lookback's busy-hour level on a log scale: the standard deviation of
    ln(a day's busiest hourly mean) over the days with ``min_hours`` or more hours of data, over the
    square root of their number -- how much the observed peak would move with other days like these
    (the weekly shape inflates it: conservative). None with fewer than 3 such days."""
    peaks: list[float] = []  # the hourly aggregates come sorted by hour: one pass, a day at a time
    day, hours, peak = (0, 0), 0, 0.0  # (month, day): a lookback is shorter than a year
    for agg in u.hourly.get(metric, ()):
        if not agg.count:
            continue
        hour = agg.hour
        if hour.day != day[1] or hour.month != day[0]:
            if hours >= min_hours:
                peaks.append(peak)
            day, hours, peak = (hour.month, hour.day), 0, 0.0
        hours += 1
        value = agg.sum / agg.count
        if value > peak:
            peak = value
    if hours >= min_hours:
        peaks.append(peak)
    logs = [math.log(v) for v in peaks if v > 0]
    if len(logs) < 3:
        return None
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1) / len(logs))


def observed_log_sd(u: ResourceUsage, metric: Metric) -> float:
    """sigma of a prediction read from ``metric``'s lookback: ``busy_hour_log_se``, at least the sketches'
    accuracy; ``DEFAULT_LOG_SD`` when fewer than 3 full days say how much it moves."""
    spread = busy_hour_log_se(u, metric)
    return DEFAULT_LOG_SD if spread is None else max(SKETCH_LOG_SD, spread)
