"""The cost model's usage means (engine.cost_model.usage) from lookbacks that mix periods: CloudWatch answers
the days older than 63 days hourly; the means must be those of the same usage pulled at 5 minutes
(tests/support/periods.py computes them by hand)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.engine.cost_model import SECONDS_PER_MONTH, cost_inputs, monthly, usage_stats
from costopt.observe.usage import ServiceUsage, usage_from_series
from costopt.pricing import bundled_catalog
from tests.support import periods

CAT = bundled_catalog()


@pytest.fixture(scope="module")
def lookbacks() -> dict[str, ServiceUsage]:
    svc = periods.service()
    return {name: usage_from_series(svc, periods.lookback_series(coarse), periods.LOOKBACK, periods.NOW)
            for name, coarse in (("fine", 0), ("mixed", periods.COARSE_DAYS))}


def test_a_mixed_window_gives_the_same_means_as_an_all_five_minute_one(lookbacks: dict[str, ServiceUsage]) -> None:
    assert lookbacks["mixed"].resources["fn"].period_s[Metric.REQUESTS] == 300
    for usage in lookbacks.values():
        fn, api = usage_stats(usage.resources["fn"]), usage_stats(usage.resources["api"])
        assert fn.requests_per_s == pytest.approx(periods.RATE_MEAN, rel=1e-12)
        assert fn.init_ms_per_s == pytest.approx(periods.INIT_MS_PER_S, rel=1e-12)
        assert fn.duration_mean_ms == pytest.approx(periods.DURATION_MEAN, rel=1e-12)
        assert (fn.billed_usd_per_day, fn.billed_days) == (24.0, 70)
        assert len(api.cpu_pct_hourly) == 70 * 24
        assert sum(api.cpu_pct_hourly) / len(api.cpu_pct_hourly) == pytest.approx(periods.CPU_MEAN, rel=1e-12)
    fine, mixed = (usage_stats(lookbacks[k].resources["api"]) for k in ("fine", "mixed"))
    assert mixed.cpu_pct_hourly == pytest.approx(fine.cpu_pct_hourly, rel=1e-12)


def test_the_monthly_cost_of_a_mixed_window_is_the_all_five_minute_one(lookbacks: dict[str, ServiceUsage]) -> None:
    fn = periods.service().resource("fn")
    inputs = {k: cost_inputs(fn, usage_stats(u.resources["fn"]), CAT) for k, u in lookbacks.items()}
    for one in inputs.values():
        assert one.lambda_run is not None
        assert one.lambda_run.invocations_per_month == pytest.approx(periods.RATE_MEAN * SECONDS_PER_MONTH, rel=1e-12)
    assert monthly(fn, inputs["mixed"], CAT) == pytest.approx(monthly(fn, inputs["fine"], CAT), rel=1e-12)


def test_an_hourly_bill_after_daily_ones_reads_per_day() -> None:
    # 5 days billed daily at $24 and 2 days billed hourly at $1: $24 a day over 7 days of bill
    # (merged as datapoints it read (5 x 24 + 48) / 53 datapoints x 24 = $76 a day over 53 "days").
    start = periods.NOW - timedelta(days=7)
    series = [Series(resource_id="fn", metric=Metric.COST_USD, stat="sum", period_s=86_400,
                     points=[Datapoint(t=start + timedelta(days=d), v=24.0) for d in range(5)]),
              Series(resource_id="fn", metric=Metric.COST_USD, stat="sum", period_s=3600,
                     points=[Datapoint(t=start + timedelta(days=5, hours=h), v=1.0) for h in range(48)])]
    usage = usage_from_series(periods.service(), series, 7, periods.NOW)
    stats = usage_stats(usage.resources["fn"])
    assert usage.resources["fn"].period_s[Metric.COST_USD] == 3600
    assert stats.billed_usd_per_day == pytest.approx(24.0, rel=1e-12) and stats.billed_days == 7
