"""A lookback whose oldest days CloudWatch answered hourly, through the observations table (moto DynamoDB):
folded, stored, read back by ``load_usage``, it gives the rates of the same usage at 5 minutes
(tests/support/periods.py computes them by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from costopt.domain.observation import Metric
from costopt.engine.cost_model import usage_stats
from costopt.jobs.usage import load_usage
from costopt.observe.usage import usage_from_series
from costopt.store.observations import ObservationRepository
from tests.support import periods


def test_stored_hourly_days_read_back_at_five_minutes(tables: Any) -> None:
    svc = periods.service()
    series = periods.lookback_series()
    ObservationRepository().fold(svc.service_id, series, now=periods.NOW)
    stored = load_usage(svc, periods.LOOKBACK, periods.NOW)
    fn = stored.resources["fn"]
    assert fn.period_s[Metric.REQUESTS] == 300 and fn.summaries[Metric.REQUESTS].count == 70 * 288
    stats = usage_stats(fn)
    assert stats.requests_per_s == pytest.approx(periods.RATE_MEAN, rel=1e-12)
    assert stats.init_ms_per_s == pytest.approx(periods.INIT_MS_PER_S, rel=1e-12)
    assert stats.duration_mean_ms == pytest.approx(periods.DURATION_MEAN, rel=1e-12)
    in_process = usage_from_series(svc, series, periods.LOOKBACK, periods.NOW)
    for rid, ru in in_process.resources.items():
        for metric, summary in ru.summaries.items():
            assert stored.resources[rid].summaries[metric] == summary, (rid, metric)
            assert stored.resources[rid].hourly[metric] == ru.hourly[metric], (rid, metric)
