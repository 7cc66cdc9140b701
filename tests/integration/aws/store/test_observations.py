"""Observations table: idempotent folding, reads, watermarks, freshness (moto DynamoDB)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import Service
from costopt.jobs.usage import load_usage
from costopt.observe.usage import usage_from_series
from costopt.store.observations import DayItem, ObservationRepository, observation_pk
from local.synthetic import generate, generate_costs

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday


def _series(resource_id: str, metric: Metric, start: datetime, hours: int, value: float = 10.0,
            period_s: int = 300) -> Series:
    per_hour = 3600 // period_s
    pts = [Datapoint(t=start + timedelta(seconds=i * period_s), v=value + i % 7) for i in range(hours * per_hour)]
    return Series(resource_id=resource_id, metric=metric, period_s=period_s, points=pts)


def _service(**synthetic: Any) -> Service:
    return Service.model_validate({
        "service_id": "checkout", "version": 1, "name": "Checkout", "team": "payments",
        "created_at": T0, "updated_at": T0,
        "telemetry": {"source": "synthetic", "synthetic": synthetic}, "billing": {"source": "synthetic"},
        "resources": [
            {"kind": "lambda_function", "resource_id": "fn", "function_name": "checkout-fn",
             "config": {"memory_mb": 1024}},
            {"kind": "ecs_service", "resource_id": "web", "cluster": "main", "service_name": "web",
             "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}},
        ],
    })


def test_fold_twice_leaves_counts_unchanged(tables: Any) -> None:
    repo = ObservationRepository()
    s = _series("web", Metric.CPU_PCT, T0, hours=3)
    first = repo.fold("checkout", [s])
    assert first.points_folded == 36 and first.hours_folded == 3 and first.items_written == 1
    again = repo.fold("checkout", [s])
    assert again.points_folded == 0 and again.points_skipped == 36 and again.hours_skipped == 3
    assert again.items_written == 0
    [day] = repo.summaries("checkout", "web", Metric.CPU_PCT, T0.date(), T0.date())
    assert day.summary.count == 36
    assert day.summary.sum == pytest.approx(sum(p.v for p in s.points))
    assert day.hours == {0, 1, 2}
    # an overlapping replay (hours 2-4) only adds the two new hours
    more = repo.fold("checkout", [_series("web", Metric.CPU_PCT, T0 + timedelta(hours=2), hours=3)])
    assert more.hours_folded == 2 and more.hours_skipped == 1 and more.points_folded == 24
    [day] = repo.summaries("checkout", "web", Metric.CPU_PCT, T0.date(), T0.date())
    assert day.summary.count == 60 and day.hours == {0, 1, 2, 3, 4}


def test_fold_splits_days_and_hourly_round_trips(tables: Any) -> None:
    repo = ObservationRepository()
    start = T0 + timedelta(hours=22)
    s = _series("fn", Metric.REQUESTS, start, hours=4, value=100.0)
    res = repo.fold("checkout", [s])
    assert res.items_written == 2 and res.hours_folded == 4
    hourly = repo.hourly("checkout", "fn", Metric.REQUESTS, start, start + timedelta(hours=4))
    assert [h.hour for h in hourly] == [start + timedelta(hours=i) for i in range(4)]
    for i, h in enumerate(hourly):
        values = [p.v for p in s.points[i * 12:(i + 1) * 12]]
        assert (h.count, h.sum, h.min, h.max) == (12, sum(values), min(values), max(values))
    assert repo.last_data_at("checkout") == s.points[-1].t


def test_stale_version_write_is_retried_not_double_counted(tables: Any) -> None:
    repo = ObservationRepository()
    s = _series("web", Metric.MEMORY_PCT, T0, hours=1)
    repo.fold("checkout", [s])
    # Simulate a concurrent pull that read the empty item before our write: it must re-read and skip.
    key = (observation_pk("checkout", "web", Metric.MEMORY_PCT), "D#2026-03-02")
    res = repo._fold_day(key, T0.date(), 300, s.points, None, T0)
    assert res.retries == 1 and res.points_folded == 0 and res.hours_skipped == 1
    assert DayItem.get(*key).n == 12


def test_watermark_moves_forward_only(tables: Any) -> None:
    repo = ObservationRepository()
    assert repo.get_watermark("checkout", "telemetry") is None
    assert repo.set_watermark("checkout", "telemetry", T0 + timedelta(hours=5))
    assert not repo.set_watermark("checkout", "telemetry", T0 + timedelta(hours=2))
    assert repo.get_watermark("checkout", "telemetry") == T0 + timedelta(hours=5)
    assert repo.set_watermark("checkout", "telemetry", T0, force=True)
    assert repo.get_watermark("checkout", "telemetry") == T0
    assert repo.get_watermark("checkout", "billing") is None


def test_stale_keeps_data_and_success_clears_it(tables: Any) -> None:
    repo = ObservationRepository()
    repo.fold("checkout", [_series("web", Metric.CPU_PCT, T0, hours=2)])
    repo.mark_success("checkout", "telemetry", at=T0 + timedelta(hours=2))
    repo.mark_stale("checkout", "telemetry", "cloudwatch: throttled", at=T0 + timedelta(hours=3))
    fresh = repo.freshness("checkout")
    assert set(fresh) == {"telemetry"}
    f = fresh["telemetry"]
    assert f.stale and f.last_error == "cloudwatch: throttled"
    assert f.last_success_at == T0 + timedelta(hours=2) and f.last_error_at == T0 + timedelta(hours=3)
    [day] = repo.summaries("checkout", "web", Metric.CPU_PCT, T0.date(), T0.date())
    assert day.summary.count == 24  # old data kept
    repo.mark_success("checkout", "telemetry", at=T0 + timedelta(hours=4))
    assert not repo.freshness("checkout")["telemetry"].stale


def test_load_usage_equals_usage_from_series(tables: Any) -> None:
    service = _service(history_days=5, seed=7)
    now = T0 + timedelta(hours=10)
    start = T0 - timedelta(days=5)
    series = generate(service, start, now) + generate_costs(service, start, now)
    repo = ObservationRepository()
    # fold in two overlapping pulls: replays must not change anything
    mid = start + timedelta(days=2, hours=3)
    repo.fold(service.service_id, generate(service, start, mid))
    repo.fold(service.service_id, series)
    stored = load_usage(service, lookback_days=7, now=now, repo=repo)
    direct = usage_from_series(service, series, lookback_days=7, now=now)
    for rid in ("fn", "web"):
        a, b = stored.resource(rid), direct.resource(rid)
        assert a is not None and b is not None
        assert a.hours_covered == b.hours_covered == 5 * 24 + 10
        assert set(a.summaries) == set(b.summaries)
        for m in a.summaries:
            assert a.summaries[m].count == b.summaries[m].count
            assert a.summaries[m].bins() == b.summaries[m].bins()
            assert a.summaries[m].quantile(0.95) == b.summaries[m].quantile(0.95)
            assert [h.sum for h in a.hourly[m]] == pytest.approx([h.sum for h in b.hourly[m]])
    assert stored.resource("fn").summaries[Metric.COST_USD].count == 5  # type: ignore[union-attr]
    assert stored.coverage == pytest.approx((5 * 24 + 10) / (7 * 24))
    assert stored.sufficient


def test_day_item_stays_small(tables: Any) -> None:
    service = _service(seed=3)
    series = generate(service, T0, T0 + timedelta(days=1))
    ObservationRepository().fold(service.service_id, series)
    item = DayItem.get(observation_pk("checkout", "web", Metric.LATENCY_MS), "D#2026-03-02")
    size = len(item.sketch or b"") + len(item.hourly or "") + 24 * 3
    assert item.n == 288
    assert size < 8_000  # DynamoDB's limit is 400 KB
    assert date.fromisoformat(item.sk[2:]) == T0.date()
