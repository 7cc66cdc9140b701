"""One injectable clock (costopt.clock): how it is pinned, event times, and a product that is a: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/test_clock.py``."""


from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt import clock
from costopt.domain.service import ServicePut
from costopt.engine.budget import MIN_HISTORY_DAYS
from tests.pin import MATRIX, PINNED_AT

SPEC = {
    "name": "Checkout", "team": "payments",
    "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                   "config": {"memory_mb": 3008}}],
    "sla": {"latency_p99_ms": 900},
    "budget": {"monthly_usd": 100},
    "telemetry": {"source": "synthetic", "synthetic": {"base_rps": 6, "cpu_ms_per_request": 60,
                                                       "io_ms_per_request": 180, "seed": 42,
                                                       "history_days": 3}},
    "billing": {"source": "synthetic"},
    "policy": {"lookback_days": 3},
}


def register_pull_recommend(at: datetime) -> dict[str, Any]:
    """Register, pull and recommend with the clock standing at ``at``; the figures a user sees."""
    from costopt.jobs.budget import budget_report
    from costopt.jobs.pull_metrics import run as pull
    from costopt.jobs.recommend import run_recommend
    from costopt.store.services import ServiceRepository

    with clock.pinned(at, ticking=False):
        service, _ = ServiceRepository().put("checkout", ServicePut.model_validate(SPEC))
        assert service.created_at == at
        pull(clock.now(), deadline_s=120)
        result = run_recommend("checkout")
        budget = budget_report(ServiceRepository().get("checkout"))
    return {
        "recommendations": [(r.action, r.proposed, r.monthly_cost_current_usd, r.monthly_cost_proposed_usd,
                             r.monthly_savings_usd, r.priority, r.performance_risk) for r in result.recommendations],
        "rejected": [(o.action, o.proposed, o.monthly_savings_usd) for o in result.rejected],
        "current": result.current_monthly_cost_usd, "coverage": result.data_coverage_pct,
        "insufficient": result.insufficient, "warnings": result.warnings,
        "budget": (budget.month, budget.status, budget.month_to_date_usd, budget.forecast_usd, budget.days_in_month,
                   budget.history_days),
    }


@pytest.mark.parametrize("at", [datetime(2026, 12, 1, 0, 30, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)])
def test_the_same_seed_and_clock_give_the_same_figures(tables: Any, at: datetime) -> None:
    from local.tables import clear_tables

    first = register_pull_recommend(at)
    clear_tables(tables)
    second = register_pull_recommend(at)
    assert first == second and first["recommendations"]
    clear_tables(tables)
    assert register_pull_recommend(at + timedelta(days=1)) != first  # the data follows the clock


@pytest.mark.parametrize("at", [*MATRIX, PINNED_AT.isoformat()])
def test_register_pull_recommend_and_budget_hold_at_every_pinned_instant(tables: Any, at: str) -> None:
    """The pinned-clock matrix on the whole path: full coverage, a memory downsize for the 3008 MB function,
    money that adds up, and this month's budget (3 days of history: too few for a forecast, so the status comes
    from month-to-date alone; test_budget_engine has the forecast at every pinned instant with 21 days)."""
    instant = clock.parse_instant(at)
    out = register_pull_recommend(instant)
    assert out["insufficient"] == [] and out["coverage"] == 100.0, out
    memory = [r for r in out["recommendations"] if r[0] == "lambda_memory"]
    assert memory and all(r[1]["memory_mb"] < 3008 for r in memory)
    for _, _, current, proposed, saved, _, _ in out["recommendations"]:
        assert round(proposed + saved, 2) == current
    month, status, mtd, forecast, days, history = out["budget"]
    assert month == f"{instant.year:04d}-{instant.month:02d}" and days == monthrange(instant.year, instant.month)[1]
    # 3 days of history are at most 3 whole billed days (the synthetic origin is created_at's midnight - 3 days,
    # and a day is billed 12 hours after it ends, pull_metrics.BILLING_SETTLE): fewer than a forecast needs
    assert 0 < history <= 3 < MIN_HISTORY_DAYS and forecast is None
    last_billed = (instant - timedelta(hours=12)).date() - timedelta(days=1)
    assert (mtd > 0) == (last_billed.month == instant.month), (at, mtd, last_billed)
    # before a day of this month is billed there is neither a forecast nor a cost: no_data; after, ACTUAL alone
    assert status == ("no_data" if mtd == 0 else "over_budget" if mtd >= 100 else "ok"), (at, status, mtd)
