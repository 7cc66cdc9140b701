"""The simulation's hourly history (engine.simulation.history) from a lookback that mixes periods: the days
older than 63 days come hourly from CloudWatch; the history must be the one of the same usage pulled at
5 minutes (tests/support/periods.py)."""

from __future__ import annotations

import numpy as np
import pytest

from costopt.domain.observation import Metric
from costopt.engine.simulation.history import history_from_usage, stats_from_history
from costopt.observe.usage import usage_from_series
from tests.support import periods


def test_a_mixed_window_replays_the_same_hours_as_an_all_five_minute_one() -> None:
    svc = periods.service()
    fine, mixed = (history_from_usage(usage_from_series(svc, periods.lookback_series(coarse), periods.LOOKBACK,
                                                        periods.NOW)) for coarse in (0, periods.COARSE_DAYS))
    assert mixed.days == fine.days and len(mixed.days) == 70 and mixed.hours_available == 70 * 24
    requests = mixed.get("fn", Metric.REQUESTS)
    assert requests is not None
    # an hour's total: rate x 3600 -- day 0 (hourly from CloudWatch) hour 5: 1 + 2.5 + 0; day 8 hour 3: 1 + 1.5 + 2
    assert (requests[0, 5], requests[8, 3]) == (pytest.approx(3.5 * 3600), pytest.approx(4.5 * 3600))
    for rid, metric in (("fn", Metric.REQUESTS), ("fn", Metric.INIT_MS), ("fn", Metric.DURATION_MEAN_MS),
                        ("api", Metric.CPU_PCT)):
        np.testing.assert_allclose(mixed.get(rid, metric), fine.get(rid, metric), rtol=1e-12)  # type: ignore[arg-type]
    for history in (fine, mixed):
        stats = stats_from_history(history, "fn")
        assert stats.requests_per_s == pytest.approx(periods.RATE_MEAN, rel=1e-12)
        assert stats.init_ms_per_s == pytest.approx(periods.INIT_MS_PER_S, rel=1e-12)
        assert stats.duration_mean_ms == pytest.approx(periods.DURATION_MEAN, rel=1e-12)
        monthly_requests = stats.requests_per_s * 730 * 3600  # type: ignore[operator]
        assert monthly_requests == pytest.approx(periods.RATE_MEAN * 730 * 3600, rel=1e-12)
