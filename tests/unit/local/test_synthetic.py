"""The synthetic telemetry/billing source: deterministic, seekable, shaped, consistent with config and prices."""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt.connectors import base
from costopt.connectors.base import BillingSource, TelemetrySource, billing_for, source_for
from costopt.domain.observation import Metric, Series
from costopt.domain.service import Service
from costopt.errors import ConnectorError
from costopt.pricing.catalog import bundled_catalog
from costopt.pricing.costs import fargate_hourly
from costopt.pricing.costs import lambda_cost as price_lambda
from local.synthetic import (
    SyntheticBilling,
    SyntheticTelemetry,
    data_origin,
    generate,
    generate_costs,
)

CREATED = datetime(2026, 3, 16, tzinfo=UTC)  # a Monday
MON = datetime(2026, 3, 9, tzinfo=UTC)       # the Monday before


def make_service(resources: list[dict[str, Any]] | None = None, service_id: str = "shop-api",
                 **synthetic: Any) -> Service:
    return Service.model_validate({
        "service_id": service_id, "version": 1, "name": "Shop", "team": "web",
        "created_at": CREATED, "updated_at": CREATED,
        "telemetry": {"source": "synthetic", "synthetic": synthetic},
        "billing": {"source": "synthetic"},
        "resources": resources if resources is not None else [
            {"kind": "lambda_function", "resource_id": "fn", "function_name": "shop-fn",
             "config": {"memory_mb": 1024}},
            {"kind": "ecs_service", "resource_id": "web", "cluster": "main", "service_name": "web",
             "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}},
            {"kind": "ebs_volume", "resource_id": "vol", "volume_id": "vol-0123456789abcdef0",
             "config": {"volume_type": "gp2", "size_gb": 100}},
            {"kind": "dynamodb_table", "resource_id": "tbl", "table_name": "orders",
             "config": {"billing_mode": "PROVISIONED", "rcu": 200, "wcu": 100}},
        ],
    })


def by_key(series: list[Series]) -> dict[tuple[str, str], list[tuple[datetime, float]]]:
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for s in series:
        out.setdefault((s.resource_id, s.metric.value), []).extend((p.t, p.v) for p in s.points)
    return {k: sorted(v) for k, v in out.items()}


def values(series: list[Series], resource_id: str, metric: Metric) -> list[tuple[datetime, float]]:
    return by_key(series).get((resource_id, metric.value), [])


def test_same_inputs_same_values_and_seed_changes_them() -> None:
    svc = make_service()
    a = generate(svc, MON, MON + timedelta(hours=6))
    b = SyntheticTelemetry().fetch(make_service(), MON, MON + timedelta(hours=6))
    assert by_key(a) == by_key(b)
    other = generate(make_service(seed=12345), MON, MON + timedelta(hours=6))
    assert values(other, "fn", Metric.REQUESTS) != values(a, "fn", Metric.REQUESTS)
    renamed = generate(make_service(service_id="shop-api-2"), MON, MON + timedelta(hours=6))
    assert values(renamed, "fn", Metric.REQUESTS) != values(a, "fn", Metric.REQUESTS)


def test_values_do_not_depend_on_pythons_hash_seed() -> None:
    code = (
        "import hashlib, json; from datetime import UTC, datetime, timedelta;"
        "from tests.unit.local.test_synthetic import make_service, by_key, MON;"
        "from local.synthetic import generate;"
        "s = by_key(generate(make_service(), MON, MON + timedelta(hours=2)));"
        "print(hashlib.sha256(json.dumps(sorted((k, [(t.isoformat(), v) for t, v in p]) "
        "for k, p in s.items())).encode()).hexdigest())"
    )
    digests = set()
    for seed in ("1", "999"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    local = by_key(generate(make_service(), MON, MON + timedelta(hours=2)))
    digests.add(hashlib.sha256(json.dumps(sorted((k, [(t.isoformat(), v) for t, v in p])
                                                 for k, p in local.items())).encode()).hexdigest())
    assert len(digests) == 1


def test_any_window_gives_the_same_values_for_the_same_times() -> None:
    svc = make_service()
    start, end = MON + timedelta(hours=1), MON + timedelta(hours=9)
    whole = by_key(generate(svc, start, end))
    cut = start + timedelta(hours=3, minutes=37)
    pieces = by_key(generate(svc, start, cut) + generate(svc, cut, end))
    assert whole == pieces
    assert len(whole[("fn", "requests")]) == 8 * 12
    assert all(start <= t < end for pts in whole.values() for t, _ in pts)
    assert all(t.minute % 5 == 0 and t.second == 0 for t, _ in whole[("web", "cpu_utilization_pct")])
    shifted = by_key(generate(svc, MON, MON + timedelta(days=1)))
    inner = {k: [(t, v) for t, v in pts if start <= t < end] for k, pts in shifted.items()}
    assert inner == whole


def test_period_follows_the_service_telemetry_setting() -> None:
    svc = make_service().model_copy(update={"telemetry": make_service().telemetry.model_copy(update={"period_s": 60})})
    s = generate(svc, MON, MON + timedelta(hours=1))
    req = next(x for x in s if x.resource_id == "fn" and x.metric == Metric.REQUESTS)
    assert req.period_s == 60 and len(req.points) == 60 and req.stat == "sum"


def test_no_data_before_the_origin() -> None:
    svc = make_service(history_days=2)
    origin = data_origin(svc)
    assert origin == CREATED - timedelta(days=2)
    s = by_key(generate(svc, origin - timedelta(days=3), origin + timedelta(hours=1)))
    assert min(t for t, _ in s[("fn", "requests")]) == origin
    assert generate(svc, origin - timedelta(days=3), origin) == []


def test_business_hours_peak_and_weekend_dip() -> None:
    svc = make_service(noise=0.1, spike_probability=0.0)
    week = generate(svc, MON, MON + timedelta(days=7))
    req = values(week, "web", Metric.REQUESTS)
    per_hour: dict[tuple[int, int], list[float]] = {}
    for t, v in req:
        per_hour.setdefault((t.weekday(), t.hour), []).append(v)
    for weekday in range(5):
        peak, trough = sum(per_hour[(weekday, 14)]), sum(per_hour[(weekday, 3)])
        assert peak > 3 * trough  # daily_amplitude 0.6: peak/trough ~ 4.7
    daily = {d: sum(v for t, v in req if t.weekday() == d) for d in range(7)}
    weekday_mean = statistics.mean(daily[d] for d in range(5))
    assert daily[5] < 0.7 * weekday_mean and daily[6] < 0.7 * weekday_mean  # weekend_factor 0.6
    # base_rps is the weekday mean rate
    assert weekday_mean / 86400 == pytest.approx(20.0, rel=0.05)


def test_spikes_happen_at_the_configured_rate() -> None:
    calm = values(generate(make_service(spike_probability=0.0, noise=0.0), MON, MON + timedelta(days=14)),
                  "web", Metric.REQUESTS)
    spiky = values(generate(make_service(spike_probability=0.2, noise=0.0), MON, MON + timedelta(days=14)),
                   "web", Metric.REQUESTS)
    ratios = [s / c for (_, s), (_, c) in zip(spiky, calm, strict=True) if c > 100]
    spiked_hours = {t.replace(minute=0) for (t, s), (_, c) in zip(spiky, calm, strict=True) if c and s / c > 1.7}
    assert max(ratios) >= 2.0
    assert 0.1 < len(spiked_hours) / (14 * 24) < 0.3


def _lambda(memory_mb: int) -> dict[str, Any]:
    return {"kind": "lambda_function", "resource_id": "fn", "function_name": "fn",
            "config": {"memory_mb": memory_mb}}


def test_lambda_duration_falls_with_memory_for_a_cpu_bound_function() -> None:
    medians = {}
    for mem in (256, 512, 1024, 1769, 3008):
        svc = make_service([_lambda(mem)], cpu_ms_per_request=200.0, io_ms_per_request=10.0)
        d = [v for _, v in values(generate(svc, MON, MON + timedelta(days=1)), "fn", Metric.DURATION_MS)]
        medians[mem] = statistics.median(d)
    assert medians[256] > medians[512] > medians[1024] > medians[1769]
    # CPU share is proportional to memory up to one vCPU: 256 MB gets 256/1769 of it
    expected_ratio = (10 + 200 * 1769 / 256) / (10 + 200 * 1769 / 1024)
    assert medians[256] / medians[1024] == pytest.approx(expected_ratio, rel=0.05)
    # no gain past one vCPU for a single-threaded handler
    assert medians[3008] == pytest.approx(medians[1769], rel=0.05)


def test_lambda_duration_barely_moves_for_an_io_bound_function() -> None:
    small = make_service([_lambda(512)], cpu_ms_per_request=2.0, io_ms_per_request=200.0)
    big = make_service([_lambda(2048)], cpu_ms_per_request=2.0, io_ms_per_request=200.0)
    d_small = statistics.median(v for _, v in values(generate(small, MON, MON + timedelta(hours=12)),
                                                     "fn", Metric.DURATION_MS))
    d_big = statistics.median(v for _, v in values(generate(big, MON, MON + timedelta(hours=12)),
                                                   "fn", Metric.DURATION_MS))
    assert d_small / d_big < 1.05


def test_lambda_insights_metrics_only_when_enabled() -> None:
    on = by_key(generate(make_service([_lambda(1024)]), MON, MON + timedelta(hours=1)))
    off = by_key(generate(make_service([_lambda(1024)], lambda_insights=False), MON, MON + timedelta(hours=1)))
    assert ("fn", "cpu_time_ms") in on and ("fn", "memory_utilization_pct") in on
    assert ("fn", "cpu_time_ms") not in off and ("fn", "memory_utilization_pct") not in off
    cpu = statistics.mean(v for _, v in on[("fn", "cpu_time_ms")])
    assert cpu == pytest.approx(40.0, rel=0.05)


def test_ecs_cpu_is_load_times_cpu_cost_over_cores() -> None:
    def run(count: int) -> tuple[float, float]:
        svc = make_service([{"kind": "ecs_service", "resource_id": "web", "cluster": "c", "service_name": "web",
                             "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": count}}],
                           spike_probability=0.0)
        s = generate(svc, MON, MON + timedelta(days=1))
        rps = sum(v for _, v in values(s, "web", Metric.REQUESTS)) / 86400
        cpu = statistics.mean(v for _, v in values(s, "web", Metric.CPU_PCT))
        return rps, cpu

    rps, cpu2 = run(2)
    assert cpu2 == pytest.approx(100 * rps * 0.040 / 2 + 1.5, rel=0.05)
    _, cpu4 = run(4)
    assert (cpu4 - 1.5) == pytest.approx((cpu2 - 1.5) / 2, rel=0.05)


def test_memory_is_steady_with_slow_drift() -> None:
    s = generate(make_service(memory_utilization_pct=50.0), MON, MON + timedelta(days=7))
    mem = [v for _, v in values(s, "web", Metric.MEMORY_PCT)]
    assert statistics.mean(mem) == pytest.approx(50.0, rel=0.1)
    assert statistics.pstdev(mem) < 5.0
    assert max(mem) - min(mem) > 2.0  # it does drift


def test_ebs_and_dynamodb_stay_within_their_limits() -> None:
    s = generate(make_service(), MON, MON + timedelta(days=7))
    iops = [v for _, v in values(s, "vol", Metric.IOPS)]
    assert max(iops) < 3000 and statistics.mean(iops) > 100
    tp = [v for _, v in values(s, "vol", Metric.THROUGHPUT_MBPS)]
    assert 0 < max(tp) < 125
    rcu = [v for _, v in values(s, "tbl", Metric.CONSUMED_RCU)]
    wcu = [v for _, v in values(s, "tbl", Metric.CONSUMED_WCU)]
    assert max(rcu) < 200 and max(wcu) < 100
    assert statistics.mean(rcu) == pytest.approx(0.5 * 20.0 * 0.886, rel=0.15)  # 5 weekdays + 2 weekend days


def test_billing_is_daily_complete_days_and_window_independent() -> None:
    svc = make_service()
    start = MON + timedelta(hours=5)
    costs = generate_costs(svc, start, MON + timedelta(days=3, hours=7))
    fn = next(c for c in costs if c.resource_id == "fn")
    assert fn.metric == Metric.COST_USD and fn.period_s == 86400 and fn.stat == "sum"
    assert [p.t for p in fn.points] == [MON + timedelta(days=1), MON + timedelta(days=2)]
    again = SyntheticBilling().fetch_costs(svc, MON, MON + timedelta(days=3))
    fn_again = next(c for c in again if c.resource_id == "fn")
    assert fn_again.points[1:] == fn.points


def test_billing_matches_usage_times_public_prices() -> None:
    svc = make_service()
    day = MON + timedelta(days=1)
    costs = {c.resource_id: c.points[0].v for c in generate_costs(svc, day, day + timedelta(days=1))}
    cat = bundled_catalog()
    # ECS: 2 tasks of 1 vCPU / 2 GB all day, $0.04048/vCPU-h + $0.004445/GB-h
    assert costs["web"] == pytest.approx(2 * 24 * fargate_hourly(cat, 1024, 2048), rel=1e-6)
    assert costs["web"] == pytest.approx(2 * 24 * (0.04048 + 2 * 0.004445), rel=1e-3)
    # gp2 100 GB at $0.10/GB-month, billed over the hours of the calendar month the day is in
    month_days = calendar.monthrange(day.year, day.month)[1]
    assert costs["vol"] == pytest.approx(100 * 0.10 / month_days, rel=1e-5)
    # provisioned 200 RCU / 100 WCU at $0.00013 / $0.00065 per hour
    assert costs["tbl"] == pytest.approx(24 * (200 * 0.00013 + 100 * 0.00065), rel=1e-6)
    # Lambda: the day's invocations at the mean duration (io + cpu x 1769/1024 ms) at 1 GB, each invocation
    # rounded up to 1 ms (+0.5 ms on average for durations spread over many ms), plus INIT: 0.5 % cold
    # starts x 350 ms = 1.75 ms per invocation (the profile's defaults)
    tele = generate(svc, day, day + timedelta(days=1))
    n = sum(v for _, v in values(tele, "fn", Metric.REQUESTS))
    mean_ms = 30 + 40 * 1769 / 1024
    billed_ms = mean_ms + 0.5 + 0.005 * 350
    expected = price_lambda(cat, invocations=n, avg_duration_ms=billed_ms, memory_mb=1024, hours=24).total_usd
    assert costs["fn"] == pytest.approx(expected, rel=0.03)
    assert costs["fn"] == pytest.approx(n * 0.2e-6 + n * billed_ms / 1000 * 1.0 * 0.0000166667, rel=0.03)
    # the bill's duration is the mean duration it reports, to 1 ms rounding and INIT (exact, per slot)
    means = dict(values(tele, "fn", Metric.DURATION_MEAN_MS))
    reqs = dict(values(tele, "fn", Metric.REQUESTS))
    billed_gb_s = sum(reqs[t] * (means[t] + 0.5 + 1.75) / 1000 for t in reqs if reqs[t])
    assert costs["fn"] == pytest.approx(n * 0.2e-6 + billed_gb_s * 0.0000166667, rel=2e-4)


def test_registry_builds_sources_lazily_and_reports_missing_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = make_service()
    src, bill = source_for(svc), billing_for(svc)
    assert isinstance(src, SyntheticTelemetry) and isinstance(src, TelemetrySource)
    assert isinstance(bill, SyntheticBilling) and isinstance(bill, BillingSource)
    assert source_for(svc) is src  # one instance per process
    monkeypatch.setitem(base._TELEMETRY_CLASSES, "synthetic", "costopt.connectors.not_written_yet:Nope")
    base.register_telemetry("synthetic", None)  # drop the cached instance
    with pytest.raises(ConnectorError) as err:
        source_for(svc)
    assert err.value.source == "synthetic" and err.value.status == 503
    monkeypatch.undo()
    base.register_telemetry("synthetic", None)
    assert isinstance(source_for(svc), SyntheticTelemetry)


def test_registry_override_for_tests() -> None:
    class Fixed(TelemetrySource):
        name = "synthetic"

        def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
            return []

    base.register_telemetry("synthetic", Fixed)
    try:
        assert isinstance(source_for(make_service()), Fixed)
    finally:
        base.register_telemetry("synthetic", None)
    assert isinstance(source_for(make_service()), SyntheticTelemetry)
