"""Usage readers (engine.recommend.readers) on a lookback that mixes periods (days older than 63 days hourly
from CloudWatch): rates, totals and the busy-hour spread are those of the same usage at 5 minutes."""

from __future__ import annotations

import pytest

from costopt.domain.observation import Metric
from costopt.engine.cost_model import SECONDS_PER_MONTH
from costopt.engine.recommend.readers import busy_hour_log_se, monthly_count, per_second, total
from costopt.observe.usage import usage_from_series
from tests.support import periods


def test_rates_of_a_mixed_window_are_the_five_minute_ones() -> None:
    svc = periods.service()
    fine, mixed = (usage_from_series(svc, periods.lookback_series(coarse), periods.LOOKBACK, periods.NOW)
                   .resources["fn"] for coarse in (0, periods.COARSE_DAYS))
    for u in (fine, mixed):
        assert per_second(u, Metric.REQUESTS) == pytest.approx(periods.RATE_MEAN, rel=1e-12)
        assert monthly_count(u, Metric.REQUESTS) == pytest.approx(periods.RATE_MEAN * SECONDS_PER_MONTH, rel=1e-12)
        assert total(u, Metric.REQUESTS) == pytest.approx(periods.RATE_MEAN * 70 * 86_400, rel=1e-12)
    # the busiest 5 minutes run at 1 + 2.5 + 2 = 5.5/s (hour % 6 = 5 on days % 3 = 2: 5.5 % of the periods);
    # an hourly datapoint spread over its 5-minute periods re-enters the sketch within 2 %
    assert per_second(fine, Metric.REQUESTS, 0.99) == pytest.approx(5.5, rel=0.01)
    assert per_second(mixed, Metric.REQUESTS, 0.99) == pytest.approx(5.5, rel=0.02)
    assert per_second(mixed, Metric.REQUESTS, 0.5) == pytest.approx(per_second(fine, Metric.REQUESTS, 0.5), rel=0.02)
    fine_se, mixed_se = busy_hour_log_se(fine, Metric.REQUESTS), busy_hour_log_se(mixed, Metric.REQUESTS)
    assert fine_se is not None and mixed_se == pytest.approx(fine_se, rel=1e-12)
