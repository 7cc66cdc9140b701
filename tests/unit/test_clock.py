"""One injectable clock (costopt.clock): how it is pinned, event times, and a product that is a
deterministic function of (seed, clock) -- the same pinned instant gives the same data and figures."""

from __future__ import annotations

import os
import subprocess
import sys
from calendar import monthrange
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from costopt import clock
from costopt.domain.service import ServicePut
from costopt.engine.budget import MIN_HISTORY_DAYS
from tests.pin import MATRIX, PINNED_AT

ROOT = Path(__file__).resolve().parents[2]


def test_the_session_clock_starts_at_the_pinned_instant() -> None:
    assert os.environ["COSTOPT_CLOCK_AT"] == PINNED_AT.isoformat()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert PINNED_AT <= now < PINNED_AT + timedelta(hours=2)  # a session never runs for 2 hours


def test_a_ticking_clock_advances_and_a_fixed_one_stands_still() -> None:
    at = datetime(2028, 2, 29, 12, tzinfo=UTC)
    with clock.pinned(at) as ticking:
        first, second = clock.now(), clock.now()
        assert at <= first <= second < at + timedelta(seconds=5) and isinstance(ticking, clock.TickingClock)
    with clock.pinned(at, ticking=False) as fixed:
        assert clock.now() == clock.now() == at
        assert isinstance(fixed, clock.FixedClock)
        fixed.advance(timedelta(minutes=90))
        assert clock.now() == datetime(2028, 2, 29, 13, 30, tzinfo=UTC)
    assert clock.now() >= PINNED_AT  # restored


def test_naive_and_offset_instants_are_utc() -> None:
    assert clock.parse_instant("2026-12-31T23:30Z") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.parse_instant("2027-01-01T00:30:00+01:00") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.parse_instant("2026-12-31T23:30:00") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    with clock.pinned(datetime(2026, 12, 1, 0, 30), ticking=False):
        assert clock.now() == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("event", "expected"), [
    ({"time": "2026-12-01T05:00:00Z"}, datetime(2026, 12, 1, 5, tzinfo=UTC)),  # the schedule's own time
    ({"time": "2026-12-01T06:00:00+01:00"}, datetime(2026, 12, 1, 5, tzinfo=UTC)),
    ({"time": "2026-12-01T21:00:00Z"}, datetime(2026, 12, 1, 20, tzinfo=UTC)),  # in the future: now
    ({"time": "yesterday"}, datetime(2026, 12, 1, 20, tzinfo=UTC)),
    ({}, datetime(2026, 12, 1, 20, tzinfo=UTC)),
    ("not an event", datetime(2026, 12, 1, 20, tzinfo=UTC)),
])
def test_event_time_is_the_schedules_time_never_after_now(event: Any, expected: datetime) -> None:
    with clock.pinned(datetime(2026, 12, 1, 20, tzinfo=UTC), ticking=False):
        assert clock.event_time(event) == expected


def test_the_environment_pins_a_new_process() -> None:
    code = "from costopt import clock; print(clock.now().isoformat(), type(clock.current()).__name__)"
    env = {**os.environ, "COSTOPT_CLOCK_AT": "2028-02-29T12:00:00Z"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    stamp, kind = out.stdout.split()
    assert kind == "TickingClock" and stamp.startswith("2028-02-29T12:00:0")
    unset = {k: v for k, v in env.items() if k != "COSTOPT_CLOCK_AT"}
    out = subprocess.run([sys.executable, "-c", code], env=unset, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split()[1] == "SystemClock"


# --------------------------------------------------------------------------- determinism


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


def test_make_test_dates_runs_the_matrix() -> None:
    makefile = (ROOT / "Makefile").read_text()
    line = next(ln for ln in makefile.splitlines() if ln.startswith("DATES :="))
    assert tuple(line.split(":=", 1)[1].split()) == MATRIX
