"""Metric summaries: DDSketch accuracy, merging, encoding, lookback windows, data sufficiency."""

from __future__ import annotations

import base64
import json
import math
import random
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import Service
from costopt.errors import BadRequest
from costopt.observe.sketch import DaySummary, MetricSummary, group_by_day
from costopt.observe.usage import usage_from_series
from costopt.observe.window import MIN_HOURS, Window, merge_days

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _exact(sorted_values: list[float], q: float) -> float:
    """The value at rank floor(q (n-1)), the rank DDSketch answers for."""
    return sorted_values[math.floor(q * (len(sorted_values) - 1))]


def _lognormal(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.lognormvariate(4.0, 0.8) for _ in range(n)]


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0])
def test_quantiles_within_one_percent_of_exact(q: float) -> None:
    values = _lognormal(50_000, seed=11)
    s = MetricSummary()
    s.extend(values)
    exact = _exact(sorted(values), q)
    got = s.quantile(q)
    assert got is not None
    assert abs(got - exact) / exact <= 0.01
    assert s.count == 50_000
    assert s.sum == pytest.approx(math.fsum(values))
    assert (s.min, s.max) == (min(values), max(values))
    assert s.mean == pytest.approx(sum(values) / len(values))


def test_quantiles_of_uniform_integers_and_zeros() -> None:
    values = [float(i) for i in range(0, 1001)]  # 0 .. 1000, one zero
    s = MetricSummary()
    for v in values:
        s.add(v)
    assert s.quantile(0.5) == pytest.approx(500, rel=0.01)
    assert s.percentile(90) == pytest.approx(900, rel=0.01)
    assert s.quantile(0.0) == 0.0
    assert s.quantile(1.0) == 1000.0
    with pytest.raises(ValueError):
        s.quantile(1.5)
    assert MetricSummary().quantile(0.5) is None and MetricSummary().mean is None


def test_extend_equals_add_one_by_one() -> None:
    values = [*_lognormal(5000, seed=2), 0.0, -3.5, -120.0]
    a, b = MetricSummary(), MetricSummary()
    a.extend(values)
    for v in values:
        b.add(v)
    assert a.bins() == b.bins()
    assert a.count == b.count and a.min == b.min and a.max == b.max
    assert a.sum == pytest.approx(b.sum)
    assert a.quantile(0.0) == b.quantile(0.0) == pytest.approx(-120.0, rel=0.01)
    assert a.quantile(0.00025) == b.quantile(0.00025) == pytest.approx(-3.5, rel=0.01)


def test_merging_day_sketches_equals_sketch_of_all_data() -> None:
    days = [_lognormal(2_000, seed=d) for d in range(14)]
    whole = MetricSummary()
    whole.extend(v for day in days for v in day)
    parts = []
    for day in days:
        s = MetricSummary()
        s.extend(day)
        parts.append(s)
    merged = MetricSummary.merged(parts)
    assert merged.bins() == whole.bins()
    assert merged.count == whole.count == 28_000
    assert (merged.min, merged.max) == (whole.min, whole.max)
    assert merged.sum == pytest.approx(whole.sum)
    for q in (0.5, 0.95, 0.99):
        assert merged.quantile(q) == whole.quantile(q)


def test_encoding_round_trips_exactly_and_is_small() -> None:
    values = [*_lognormal(288, seed=5), 0.0, -2.0]
    s = MetricSummary()
    s.extend(values)
    blob = s.encode()
    back = MetricSummary.decode(blob)
    assert back == s
    assert back.bins() == s.bins()
    for q in (0.01, 0.5, 0.99):
        assert back.quantile(q) == s.quantile(q)
    assert len(blob) < 2_000
    # decoded sketches still merge and keep adding
    back.add(1e6)
    assert back.max == 1e6 and back.count == s.count + 1
    empty = MetricSummary.decode(MetricSummary().encode())
    assert empty.count == 0 and empty.quantile(0.5) is None


FORMAT_V1 = Path(__file__).resolve().parents[2] / "fixtures" / "sketch" / "format_v1.json"


@pytest.mark.parametrize("name", sorted(json.loads(FORMAT_V1.read_text())))
def test_items_stored_by_the_ddsketch_codec_decode_to_the_same_quantiles(name: str) -> None:
    """Encoded by the codec that wrote DDSketch's internals (tests/fixtures/sketch/make_format_v1.py)."""
    case = json.loads(FORMAT_V1.read_text())[name]
    data = base64.b64decode(case["encoded"])
    s = MetricSummary.decode(data)
    assert {str(q): s.quantile(float(q)) for q in case["quantiles"]} == case["quantiles"]
    assert {k: {str(b): c for b, c in d.items()} for k, d in s.bins().items()} == case["bins"]
    assert s.to_json() == json.loads(zlib.decompress(data))
    assert MetricSummary.decode(s.encode()) == s


def test_quantiles_are_ddsketchs() -> None:
    from ddsketch import DDSketch

    rng = random.Random(5)
    values = [rng.gauss(0, 30) for _ in range(400)] + [0.0] * 9 + [rng.lognormvariate(3, 2) for _ in range(400)]
    reference, s = DDSketch(0.01), MetricSummary()
    for v in values:
        reference.add(v)
    s.extend(values[:300])
    s.merge(MetricSummary.merged([_summary_of(values[300:600]), _summary_of(values[600:])]))
    for q in [i / 200 for i in range(201)]:
        expected = min(max(reference.get_quantile_value(q), min(values)), max(values))
        assert s.quantile(q) == expected, q


def _summary_of(values: list[float]) -> MetricSummary:
    out = MetricSummary()
    for v in values:
        out.add(v)
    return out


def test_day_fold_skips_hours_already_folded() -> None:
    day = DaySummary(day=T0.date())
    pts = [Datapoint(t=T0 + timedelta(minutes=5 * i), v=float(i)) for i in range(24)]  # hours 0 and 1
    assert day.fold(pts) == 24
    assert day.fold(pts) == 0
    assert day.hours == {0, 1} and day.summary.count == 24
    agg = day.hourly[1]
    assert (agg.count, agg.sum, agg.min, agg.max) == (12, float(sum(range(12, 24))), 12.0, 23.0)
    assert DaySummary.decode_hourly(day.day, day.encode_hourly()) == day.hourly
    with pytest.raises(ValueError):
        day.fold([Datapoint(t=T0 + timedelta(days=1), v=1.0)])


def test_daily_points_cover_the_whole_day() -> None:
    day = DaySummary(day=T0.date(), period_s=86400)
    assert day.fold([Datapoint(t=T0, v=12.5)], 86400) == 1
    assert day.hours == set(range(24))
    assert day.fold([Datapoint(t=T0 + timedelta(hours=7), v=99.0)], 86400) == 0


def test_group_by_day_keeps_an_hour_from_one_series_only() -> None:
    a = Series(resource_id="r", metric=Metric.CPU_PCT, points=[
        Datapoint(t=T0 + timedelta(minutes=5 * i), v=1.0) for i in range(24)])
    b = Series(resource_id="r", metric=Metric.CPU_PCT, points=[
        Datapoint(t=T0 + timedelta(hours=1, minutes=5 * i), v=2.0) for i in range(24)])  # hours 1 and 2
    groups = group_by_day([a, b])
    [(period, pts)] = groups.values()
    assert period == 300
    assert len(pts) == 36  # hour 0 and 1 from a, hour 2 from b
    assert sum(p.v for p in pts) == 24 * 1.0 + 12 * 2.0


def test_window_bounds_and_days() -> None:
    w = Window.ending(datetime(2026, 3, 15, 10, 42, tzinfo=UTC), 14)
    assert w.end == datetime(2026, 3, 15, 10, tzinfo=UTC)
    assert w.start == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert w.hours == 336
    assert w.days[0] == date(2026, 3, 1) and w.days[-1] == date(2026, 3, 15) and len(w.days) == 15
    midnight = Window.ending(datetime(2026, 3, 15, 0, 0, tzinfo=UTC), 1)
    assert midnight.days == [date(2026, 3, 14)]
    for bad in (0, 94):
        with pytest.raises(BadRequest):
            Window.ending(T0, bad)


def test_merge_days_keeps_only_window_hours() -> None:
    w = Window(start=T0 + timedelta(hours=20), end=T0 + timedelta(days=1, hours=2), lookback_days=1)
    d1, d2, d3 = DaySummary(day=T0.date()), DaySummary(day=(T0 + timedelta(days=1)).date()), \
        DaySummary(day=(T0 + timedelta(days=5)).date())
    d1.fold([Datapoint(t=T0 + timedelta(hours=h), v=1.0) for h in range(24)])
    d2.fold([Datapoint(t=T0 + timedelta(days=1, hours=h), v=2.0) for h in range(24)])
    d3.fold([Datapoint(t=T0 + timedelta(days=5), v=3.0)])
    wm = merge_days([d1, d2, d3], w, Metric.CPU_PCT)
    assert len(wm.hours) == 6  # 20..23 of day 1 and 0..1 of day 2
    assert [a.hour for a in wm.hourly] == [w.start + timedelta(hours=i) for i in range(6)]
    assert wm.summary.count == 48  # whole days' sketches (d3 is outside the window)


def _service() -> Service:
    return Service.model_validate({
        "service_id": "orders", "version": 1, "name": "Orders", "team": "core",
        "created_at": T0, "updated_at": T0,
        "resources": [
            {"kind": "ecs_service", "resource_id": "api", "cluster": "c", "service_name": "api",
             "config": {"cpu_units": 512, "memory_mb": 1024, "desired_count": 2}},
            {"kind": "ebs_volume", "resource_id": "data", "volume_id": "vol-0123456789abcdef0",
             "config": {"volume_type": "gp2", "size_gb": 200}},
        ],
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
    })


def _hours_of(resource_id: str, metric: Metric, start: datetime, hours: int) -> Series:
    return Series(resource_id=resource_id, metric=metric, points=[
        Datapoint(t=start + timedelta(minutes=5 * i), v=10.0 + i % 5) for i in range(hours * 12)])


def test_insufficient_data_names_what_is_missing() -> None:
    now = T0 + timedelta(days=3)
    series = [
        _hours_of("api", Metric.CPU_PCT, now - timedelta(hours=20), 20),
        _hours_of("api", Metric.MEMORY_PCT, now - timedelta(hours=40), 40),
        _hours_of("data", Metric.IOPS, now - timedelta(hours=48), 48),
        _hours_of("data", Metric.THROUGHPUT_MBPS, now - timedelta(hours=48), 48),
    ]
    usage = usage_from_series(_service(), series, lookback_days=14, now=now)
    api, data = usage.resource("api"), usage.resource("data")
    assert api is not None and data is not None
    assert not api.sufficient and data.sufficient
    [gap] = api.insufficient
    assert gap.resource_id == "api" and gap.metric == "cpu_utilization_pct"
    assert (gap.hours_available, gap.hours_required) == (20, MIN_HOURS)
    assert "10 missing" in gap.detail
    assert api.hours_covered == 20 and api.metric_hours[Metric.MEMORY_PCT] == 40
    assert data.hours_covered == 48
    assert data.coverage == pytest.approx(48 / 336)
    assert usage.coverage == pytest.approx(20 / 336)
    assert usage.insufficient == [gap] and not usage.sufficient
    assert api.quantile(Metric.MEMORY_PCT, 0.5) == pytest.approx(12.0, rel=0.01)
    assert api.max(Metric.CPU_PCT) == 14.0 and api.mean(Metric.CPU_PCT) == pytest.approx(12.0)
    assert api.period_s[Metric.CPU_PCT] == 300


def test_a_metric_never_seen_is_insufficient_with_zero_hours() -> None:
    now = T0 + timedelta(days=3)
    usage = usage_from_series(_service(), [_hours_of("api", Metric.CPU_PCT, now - timedelta(hours=48), 48)],
                              lookback_days=7, now=now)
    api = usage.resource("api")
    assert api is not None
    assert [(g.metric, g.hours_available) for g in api.insufficient] == [("memory_utilization_pct", 0)]
    assert api.hours_covered == 0
    data = usage.resource("data")
    assert data is not None and {g.metric for g in data.insufficient} == {"iops", "throughput_mbps"}


def test_merge_weighted_counts_each_value_weight_times() -> None:
    values = [float(v) for v in range(1, 300)]  # integers: the sums are exact
    one, twelve, weighted = _summary_of(values), MetricSummary(), MetricSummary()
    for _ in range(12):
        twelve.merge(one)
    weighted.merge_weighted(one, 12)
    assert weighted == twelve and weighted.count == 12 * 299 and weighted.sum == 12 * sum(values)
    for q in (0.0, 0.3, 0.5, 0.99, 1.0):
        assert weighted.quantile(q) == twelve.quantile(q)


def test_merge_weighted_divide_spreads_each_value_over_its_sub_periods() -> None:
    hourly = _lognormal(5_000, seed=9)
    spread = sorted(v / 12 for v in hourly for _ in range(12))  # each hour's total as twelve equal 5-min values
    s = MetricSummary()
    s.merge(_summary_of([1.0]))  # into a summary that already has data
    s.merge_weighted(_summary_of(hourly), 12, divide=True)
    assert s.count == 1 + 60_000
    assert s.sum == pytest.approx(1.0 + math.fsum(hourly), rel=1e-12)  # the total is kept
    assert (s.min, s.max) == (min(1.0, min(hourly) / 12), max(1.0, max(hourly) / 12))
    exact = sorted([1.0, *spread])
    for q in (0.01, 0.25, 0.5, 0.9, 0.99):
        got = s.quantile(q)
        assert got is not None and abs(got - _exact(exact, q)) / _exact(exact, q) <= 0.02, q


def test_merge_weighted_divide_keeps_signs_and_zeros() -> None:
    s = MetricSummary()
    s.merge_weighted(_summary_of([-50.0, 0.0, 30.0]), 4, divide=True)
    assert (s.count, s.sum, s.min, s.max) == (12, -20.0, -12.5, 7.5)
    assert s.bins()["zero"] == {0: 4.0}
    assert s.quantile(0.0) == -12.5 and s.quantile(0.5) == 0.0 and s.quantile(1.0) == 7.5
    assert sum(s.bins()["negative"].values()) == sum(s.bins()["positive"].values()) == 4.0
    empty = MetricSummary()
    empty.merge_weighted(MetricSummary(), 12, divide=True)
    assert empty.count == 0 and empty.min is None
