"""What the cost model reads: the means of a lookback (or of a simulation's history) that a cost needs.

Cost uses means, never percentiles (percentiles serve only the SLA clauses). ``engine.simulation`` builds
the same ``UsageStats`` from its hourly history when no lookback is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.observation import Metric

if TYPE_CHECKING:
    from costopt.observe.usage import ResourceUsage

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0

Observed = float | None
"""A mean (or rate) read from the usage; None = not observed."""


@dataclass(frozen=True)
class UsageStats:
    """The means of a lookback (or of a simulation's history) that cost needs; None = not observed."""

    requests_per_s: Observed = None
    """Mean requests (invocations) per second."""
    duration_mean_ms: Observed = None
    """Mean duration per invocation (CloudWatch ``Duration`` Average)."""
    duration_p99_mean_ms: Observed = None
    """Mean of the per-period p99 durations (an upper bound on the mean when that is missing)."""
    cpu_time_ms: Observed = None
    """Mean CPU time per invocation (Lambda Insights ``cpu_total_time``)."""
    init_ms_per_s: Observed = None
    """INIT milliseconds per second (Lambda Insights ``init_duration``, Sum per period, as a rate)."""
    rcu_per_s: Observed = None
    wcu_per_s: Observed = None
    """Mean consumed read / write capacity units per second (DynamoDB)."""
    billed_usd_per_day: Observed = None
    """Mean billed day (USD) over ``billed_days`` days of bill (an hourly bill's hours / 24, rounded)."""
    billed_days: int = 0
    cpu_pct_hourly: tuple[float, ...] = ()
    """Hourly mean CPU utilization (% of today's allocation): an autoscaled pool's load."""


def usage_stats(ru: ResourceUsage) -> UsageStats:
    """``UsageStats`` of one resource's lookback."""

    def rate(metric: Metric) -> float | None:
        s = ru.summaries.get(metric)
        if s is None or not s.count or s.mean is None:
            return None
        return s.mean / float(ru.period_s.get(metric) or 300)

    def mean(metric: Metric) -> float | None:
        s = ru.summaries.get(metric)
        return s.mean if s is not None and s.count else None

    cost = ru.summaries.get(Metric.COST_USD)
    billed = billed_days = None
    if cost is not None and cost.count and cost.mean is not None:
        per_day = 86_400.0 / float(ru.period_s.get(Metric.COST_USD) or 86_400)
        billed, billed_days = cost.mean * per_day, round(cost.count / per_day)  # days of bill (hourly: 24 a day)
    cpu_hourly = tuple(a.mean for a in ru.hourly.get(Metric.CPU_PCT, ()) if a.count)
    return UsageStats(requests_per_s=rate(Metric.REQUESTS), duration_mean_ms=mean(Metric.DURATION_MEAN_MS),
                      duration_p99_mean_ms=mean(Metric.DURATION_MS), cpu_time_ms=mean(Metric.CPU_TIME_MS),
                      init_ms_per_s=rate(Metric.INIT_MS), rcu_per_s=mean(Metric.CONSUMED_RCU),
                      wcu_per_s=mean(Metric.CONSUMED_WCU), billed_usd_per_day=billed,
                      billed_days=billed_days or 0, cpu_pct_hourly=cpu_hourly)


__all__ = ["SECONDS_PER_MONTH", "UsageStats", "usage_stats"]
