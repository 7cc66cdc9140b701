"""A 70-day lookback as CloudWatch answers it: the 7 oldest days (older than 63 days) hourly, the rest at
5 minutes; or the same traffic all at 5 minutes. Traffic is constant within each hour, so both describe
exactly the same usage, and the figures read from them are hand-computable:

- requests: ``rate(day, hour) = 1 + 0.5 (hour % 6) + (day % 3)`` per second; over 70 whole days the mean is
  1 + 0.5 x 2.5 + (23 x 1 + 23 x 2) / 70 = 2.25 + 69/70 (days 0..69: 24 with day % 3 = 0, 23 each of 1, 2);
- INIT ms: 50 ms per second (a Sum per period); Duration Average: 100 ms on even days, 110 on odd (35
  each: mean 105); CPU: 20 % + hour % 4 (hourly means 20..23, mean 21.5); cost: $24 a day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import Service

NOW = datetime(2026, 11, 20, tzinfo=UTC)
LOOKBACK = 70
COARSE_DAYS = 7
RATE_MEAN = 2.25 + 69 / 70
INIT_MS_PER_S = 50.0
DURATION_MEAN = 105.0
CPU_MEAN = 21.5


def service() -> Service:
    return Service.model_validate({
        "service_id": "periods", "name": "Periods", "team": "t", "version": 1, "created_at": NOW,
        "updated_at": NOW, "sla": {"latency_p99_ms": 1000},
        "resources": [
            {"resource_id": "fn", "kind": "lambda_function", "function_name": "fn", "config": {"memory_mb": 1024}},
            {"resource_id": "api", "kind": "ecs_service", "cluster": "c", "service_name": "api",
             "config": {"cpu_units": 512, "memory_mb": 1024, "desired_count": 2}},
        ],
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}})


def _rate(day: int, hour: int) -> float:
    return 1.0 + 0.5 * (hour % 6) + (day % 3)


# metric -> (resource, value per second of a sum or the level, is a per-period sum)
_METRICS: dict[Metric, tuple[str, Any, bool]] = {
    Metric.REQUESTS: ("fn", _rate, True),
    Metric.INIT_MS: ("fn", lambda day, hour: INIT_MS_PER_S, True),
    Metric.DURATION_MEAN_MS: ("fn", lambda day, hour: 100.0 + 10.0 * (day % 2), False),
    Metric.CPU_PCT: ("api", lambda day, hour: 20.0 + hour % 4, False),
}


def lookback_series(coarse_days: int = COARSE_DAYS) -> list[Series]:
    """Every metric of ``service()`` over the 70 days before ``NOW``, the first ``coarse_days`` at 3600 s."""
    start = NOW - timedelta(days=LOOKBACK)
    out: list[Series] = []
    for metric, (rid, value, summed) in _METRICS.items():
        for period, days in ((3600, range(coarse_days)), (300, range(coarse_days, LOOKBACK))):
            points = []
            for day in days:
                for k in range(86_400 // period):
                    t = start + timedelta(days=day, seconds=k * period)
                    v = value(day, t.hour)
                    points.append(Datapoint(t=t, v=v * period if summed else v))
            if points:
                out.append(Series(resource_id=rid, metric=metric, stat="sum" if summed else "avg", period_s=period,
                                  points=points))
    out.append(Series(resource_id="fn", metric=Metric.COST_USD, stat="sum", period_s=86_400,
                      points=[Datapoint(t=start + timedelta(days=d), v=24.0) for d in range(LOOKBACK)]))
    return out
