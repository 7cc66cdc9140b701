"""Merging day summaries of different periods into one window (observe.window.merge_days).

CloudWatch answers the days of a lookback older than 63 days at 3600 s and the younger ones at 300 s.
Every expected figure below is computed by hand from the traffic the test writes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from costopt.connectors.base import METRIC_STAT
from costopt.domain.observation import Datapoint, Metric
from costopt.observe.sketch import DaySummary, MetricSummary, day_start
from costopt.observe.window import PER_PERIOD_SUMS, Window, merge_days

NOW = datetime(2026, 11, 20, tzinfo=UTC)  # a midnight: a 70-day window is exactly 70 whole days
LOOKBACK = 70
COARSE_DAYS = 7  # the 7 oldest days are older than 63 days: hourly datapoints


def day_items(per_5min: float, coarse_value: float | None = None, coarse_days: int = COARSE_DAYS,
              window: Window | None = None) -> tuple[Window, list[DaySummary]]:
    """A DaySummary per day of the window, the first ``coarse_days`` at 3600 s with ``coarse_value`` per
    hour, the others at 300 s with ``per_5min`` per 5 minutes."""
    window = window or Window.ending(NOW, LOOKBACK)
    out = []
    for i, d in enumerate(window.days):
        period, value = (3600, coarse_value) if i < coarse_days else (300, per_5min)
        item = DaySummary(day=d, period_s=period)
        start = day_start(d)
        item.fold([Datapoint(t=start + timedelta(seconds=k * period), v=float(value))  # type: ignore[arg-type]
                   for k in range(86400 // period)], period)
        out.append(item)
    return window, out


def test_the_sum_metrics_are_the_sources_sum_statistic() -> None:
    assert {m for m, stat in METRIC_STAT.items() if stat == "sum"} == PER_PERIOD_SUMS


def test_constant_traffic_reads_the_same_with_hourly_old_days() -> None:
    # 2 requests/s: 600 per 5 minutes, 7,200 per hour.
    window, fine = day_items(600.0, coarse_days=0)
    _, mixed = day_items(600.0, 7200.0)
    assert [d.period_s for d in mixed[:8]] == [3600] * 7 + [300]
    for wm in (merge_days(fine, window, Metric.REQUESTS), merge_days(mixed, window, Metric.REQUESTS)):
        assert wm.period_s == 300
        assert wm.summary.count == 70 * 288 == 20_160  # each hourly datapoint counts as twelve 5-min ones
        assert wm.summary.sum == 2.0 * 70 * 86_400 == 12_096_000  # every request once
        assert wm.summary.mean == 600.0 and wm.summary.mean / wm.period_s == 2.0
        assert wm.summary.quantile(0.5) == wm.summary.quantile(0.99) == 600.0
        assert (wm.summary.min, wm.summary.max) == (600.0, 600.0)
        assert len(wm.hours) == len(wm.hourly) == 70 * 24
    old_hour = merge_days(mixed, window, Metric.REQUESTS).hourly[0]
    assert (old_hour.count, old_hour.sum, old_hour.min, old_hour.max) == (12, 7200.0, 600.0, 600.0)


def test_a_gauge_counts_every_day_for_its_duration() -> None:
    # CPU 80 % on the 7 hourly days, 20 % on the 63 five-minute days: per day, the mean is
    # (7 x 80 + 63 x 20) / 70 = 26 (merged as datapoints it would be (168 x 80 + 18,144 x 20) / 18,312 = 20.55).
    window, mixed = day_items(20.0, 80.0)
    wm = merge_days(mixed, window, Metric.CPU_PCT)
    assert wm.period_s == 300
    assert wm.summary.count == 20_160 and wm.summary.sum == 7 * 288 * 80.0 + 63 * 288 * 20.0
    assert wm.summary.mean == pytest.approx(26.0, rel=1e-12)
    # 10 % of the time at 80: the top 5 % is 80 (rank 0.95 x 20,159 = 19,151 > the 18,144 values of 20), p50 20
    assert wm.summary.quantile(0.95) == pytest.approx(80.0, rel=0.01)
    assert wm.summary.quantile(0.5) == pytest.approx(20.0, rel=0.01)
    assert (wm.summary.min, wm.summary.max) == (20.0, 80.0)  # a level is not divided
    old_hour = wm.hourly[0]
    assert (old_hour.count, old_hour.sum, old_hour.min, old_hour.max, old_hour.mean) == (12, 960.0, 80.0, 80.0, 80.0)


def test_one_period_merges_the_days_as_they_are() -> None:
    window, fine = day_items(600.0, coarse_days=0)
    wm = merge_days(fine, window, Metric.REQUESTS)
    assert wm.summary == MetricSummary.merged(d.summary for d in fine)
    assert all(a is b for a, b in zip(wm.hourly, [a for d in fine for a in d.hourly_list()], strict=True))
    _, hourly_only = day_items(600.0, 7200.0, coarse_days=LOOKBACK)  # e.g. a source pulled at 3600 s
    wm = merge_days(hourly_only, window, Metric.REQUESTS)
    assert wm.period_s == 3600 and wm.summary.count == 70 * 24 and wm.summary.mean == 7200.0
    assert all(a is b for a, b in zip(wm.hourly, [a for d in hourly_only for a in d.hourly_list()], strict=True))


def test_periods_that_do_not_divide_meet_at_their_gcd() -> None:
    # A service pulled at 120 s: CloudWatch answers 15-63 days old at 300 s. 1 request/s: 120 and 300 a period.
    window = Window.ending(NOW, 2)
    a, b = DaySummary(day=window.days[0], period_s=300), DaySummary(day=window.days[1], period_s=120)
    a.fold([Datapoint(t=day_start(a.day) + timedelta(seconds=300 * k), v=300.0) for k in range(288)], 300)
    b.fold([Datapoint(t=day_start(b.day) + timedelta(seconds=120 * k), v=120.0) for k in range(720)], 120)
    wm = merge_days([a, b], window, Metric.REQUESTS)
    assert wm.period_s == 60
    assert wm.summary.count == 288 * 5 + 720 * 2 == 2 * 1440
    assert wm.summary.sum == 2 * 86_400.0 and wm.summary.mean / wm.period_s == 1.0
    assert [(h.count, h.sum, h.max) for h in (wm.hourly[0], wm.hourly[24])] == [(60, 3600.0, 60.0)] * 2


def test_only_days_with_data_set_the_period() -> None:
    window, mixed = day_items(600.0, 7200.0)
    empty_coarse = DaySummary(day=window.days[0], period_s=3600)  # an idle old day: nothing folded
    wm = merge_days([empty_coarse, *mixed[COARSE_DAYS:]], window, Metric.REQUESTS)
    assert wm.period_s == 300 and wm.summary.count == 63 * 288 and wm.summary.mean == 600.0
    assert merge_days([], window, Metric.REQUESTS).period_s == 300
