"""Telemetry and billing as costopt stores and reasons about it.

Canonical metric names are the same for every source; connectors translate.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from costopt.domain.common import Model


class Metric(StrEnum):
    REQUESTS = "requests"                 # count per datapoint period
    ERRORS = "errors"                     # count per datapoint period
    THROTTLES = "throttles"
    LATENCY_MS = "latency_ms"             # per-period latency (p99 where the source has it)
    DURATION_MS = "duration_ms"           # Lambda duration per invocation (p99 per period)
    DURATION_MEAN_MS = "duration_mean_ms" # Lambda mean duration per invocation (Average per period)
    INIT_MS = "init_duration_ms"          # Lambda INIT ms per period, all cold starts (Lambda Insights, Sum)
    CPU_PCT = "cpu_utilization_pct"       # of the allocated CPU
    MEMORY_PCT = "memory_utilization_pct" # of the allocated memory
    CPU_TIME_MS = "cpu_time_ms"           # Lambda Insights cpu_total_time per invocation
    CONCURRENCY = "concurrency"
    IOPS = "iops"
    THROUGHPUT_MBPS = "throughput_mbps"
    CONSUMED_RCU = "consumed_rcu"         # per second average
    CONSUMED_WCU = "consumed_wcu"
    COST_USD = "cost_usd"                 # billed cost per period


class Datapoint(Model):
    """One value at the source's resolution (e.g. a 5-minute CloudWatch period)."""

    t: datetime
    v: float


class Series(Model):
    """What a telemetry/billing connector returns for one (resource, metric)."""

    resource_id: str
    metric: Metric
    stat: str = Field(default="avg", description="avg|sum|max|p50|p95|p99 as pulled")
    period_s: int = 300
    points: list[Datapoint] = Field(default_factory=list)


class HourlyAggregate(Model):
    """One hour of one metric of one resource: what simulation replays."""

    hour: datetime
    count: int
    sum: float
    min: float
    max: float

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0


class Freshness(Model):
    """How fresh one source's data is for a service (what the metrics health route reports)."""

    source: str = Field(description="telemetry|billing, or a connector name")
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    stale: bool = False
