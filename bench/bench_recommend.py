"""Recommendation engine benchmarks (in process, no I/O; timings are reported, never asserted).

1. One service with one ECS resource and 14 days of 5-minute synthetic data for six metrics (cpu, memory,
   requests, latency, errors telemetry + daily cost): the time to fold the series into summaries
   (usage_from_series) and the time of ``recommend()`` on the merged summaries (median of many runs).
2. 10,000 services in process: the usage of (1) is built once and reused; each service is a different
   config of the same shape (task size, count, architecture, capacity cycled over 240 variants), so the
   engine does the full work per service -- services per second.
3. The same for 1,000 services with six resources each (one of every kind), for scale.

Times are CPU time of this process (``time.process_time``): the bench machine is shared, and wall time
there measures the neighbours as much as the engine.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from typing import Any

NOW = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 14

ECS = {"resource_id": "web", "kind": "ecs_service", "cluster": "c", "service_name": "web",
       "config": {"cpu_units": 2048, "memory_mb": 8192, "desired_count": 6}}
SIX = [
    {"resource_id": "fn", "kind": "lambda_function", "function_name": "f", "config": {"memory_mb": 3008}},
    ECS,
    {"resource_id": "vm", "kind": "ec2_instance", "instance_id": "i-0123456789abcdef0",
     "config": {"instance_type": "m5.2xlarge"}},
    {"resource_id": "vol", "kind": "ebs_volume", "volume_id": "vol-0123456789abcdef0",
     "config": {"volume_type": "gp2", "size_gb": 500}},
    {"resource_id": "tbl", "kind": "dynamodb_table", "table_name": "tbl",
     "config": {"billing_mode": "PROVISIONED", "rcu": 500, "wcu": 200}},
    {"resource_id": "k8s", "kind": "generic", "workload": "ns/app",
     # unit prices: Fargate on-demand Linux/x86 us-east-1 (https://aws.amazon.com/fargate/pricing/)
     "config": {"replicas": 8, "cpu_cores": 2, "memory_gb": 8,
                "price_per_core_hour_usd": 0.04048, "price_per_gb_hour_usd": 0.004445}},
]
SLA = {"latency_p99_ms": 400, "availability_pct": 99.9, "max_error_rate_pct": 1}


def _service(resources: list[dict[str, Any]], service_id: str = "bench") -> Any:
    from costopt.domain.service import Service

    return Service.model_validate({"service_id": service_id, "name": "Bench", "team": "t", "version": 1,
                                   "created_at": NOW - timedelta(days=1), "updated_at": NOW, "sla": SLA,
                                   "resources": resources,
                                   "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}})


def _variants(base: Any, n: int) -> list[Any]:
    pairs = [(512, 2048), (1024, 4096), (2048, 8192), (4096, 16384), (1024, 8192), (2048, 4096)]
    out = []
    for i in range(n):
        cpu, mem = pairs[i % len(pairs)]
        cfg = {**ECS["config"], "cpu_units": cpu, "memory_mb": mem, "desired_count": 2 + i % 10,
               "architecture": "arm64" if i % 4 == 3 else "x86_64"}
        out.append(base.model_copy(update={"resources": [base.resources[0].model_copy(
            update={"config": base.resources[0].config.model_validate(cfg)})]}))
    return out


def median_cpu_ms(fn: Any, runs: int) -> float:
    """The median CPU time of ``fn()`` over ``runs`` runs, in ms."""
    times = []
    for _ in range(runs):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) * 1000.0


def main() -> list[tuple[str, float, str]]:
    from costopt.engine.recommend import recommend
    from costopt.observe.usage import usage_from_series
    from costopt.pricing import bundled_catalog
    from local.synthetic import generate, generate_costs

    catalog = bundled_catalog()
    one = _service([ECS])
    series = generate(one, NOW - timedelta(days=DAYS), NOW) + generate_costs(one, NOW - timedelta(days=DAYS), NOW)
    points = sum(len(s.points) for s in series)
    metrics = len({s.metric for s in series})
    t = time.process_time()
    usage = usage_from_series(one, series, DAYS, NOW)
    fold_ms = (time.process_time() - t) * 1000.0
    recommend(one, usage, catalog, now=NOW)  # warm
    rec_ms = median_cpu_ms(lambda: recommend(one, usage, catalog, now=NOW), 200)
    rows: list[tuple[str, float, str]] = [
        (f"one service: {metrics} metrics, {points} points folded (usage_from_series)", fold_ms, "ms"),
        ("one service: recommend() on 14-day summaries (median of 200)", rec_ms, "ms/service"),
    ]

    services = _variants(one, 240)
    n = 10_000
    t = time.process_time()
    produced = 0
    for svc in islice(cycle(services), n):
        produced += len(recommend(svc, usage, catalog, now=NOW).recommendations)
    dt = time.process_time() - t
    rows += [(f"{n} services (1 ECS resource each, 240 config variants), in process", dt, "s"),
             (f"{n} services: throughput ({produced} recommendations)", n / dt, "services/s")]

    six = _service(SIX)
    six_usage = usage_from_series(six, generate(six, NOW - timedelta(days=DAYS), NOW), DAYS, NOW)
    m = 1_000
    t = time.process_time()
    for _ in range(m):
        recommend(six, six_usage, catalog, now=NOW)
    dt = time.process_time() - t
    rows += [(f"{m} services with six resources (one of every kind)", m / dt, "services/s"),
             ("six-resource service: recommend()", dt / m * 1000.0, "ms/service")]
    return rows


if __name__ == "__main__":
    for name, value, unit in main():
        print(f"{name:<70} {value:>12.3f} {unit}")
