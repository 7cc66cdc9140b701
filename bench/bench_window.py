"""Window merge benchmarks (``observe.window.merge_days``, in process; timings are reported, never asserted).

One (resource, metric) of log-normal values, one DaySummary per day: 14 and 93 days all at 300 s (the
common path: the days merge as they are), and 93 days whose 30 oldest are hourly (CloudWatch answers days
older than 63 days at 3600 s: those days are weighted and, for a per-period sum, spread to 300 s).
CPU time of this process (``time.process_time``), median of many runs.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.bench_recommend import median_cpu_ms

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _days(n: int, coarse: int = 0) -> tuple[Any, list[Any]]:
    from costopt.domain.observation import Datapoint
    from costopt.observe.sketch import DaySummary, day_start
    from costopt.observe.window import Window

    rng = random.Random(1)
    window = Window.ending(NOW, n)
    out = []
    for i, d in enumerate(window.days):
        period = 3600 if i < coarse else 300
        item = DaySummary(day=d, period_s=period)
        item.fold([Datapoint(t=day_start(d) + timedelta(seconds=period * k), v=rng.lognormvariate(5, 0.5))
                   for k in range(86_400 // period)], period)
        out.append(item)
    return window, out


def main() -> list[tuple[str, float, str]]:
    from costopt.domain.observation import Metric
    from costopt.observe.window import merge_days

    rows: list[tuple[str, float, str]] = []
    for label, n, coarse in (("14 days at 300 s", 14, 0), ("93 days at 300 s", 93, 0),
                             ("93 days, 30 oldest at 3600 s", 93, 30)):
        window, days = _days(n, coarse)
        for metric in (Metric.REQUESTS, Metric.CPU_PCT):
            rows.append((f"merge_days {label}, {metric.value} (median of 300)",
                         median_cpu_ms(lambda: merge_days(days, window, metric), 300), "ms"))  # noqa: B023
    return rows


if __name__ == "__main__":
    for name, value, unit in main():
        print(f"{name:<70} {value:>12.3f} {unit}")
