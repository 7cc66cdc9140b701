"""Money that adds up: one rounding rule (half up to the cent, costopt.domain.money.round_usd) and
savings derived from the rounded current and proposed costs, so that proposed + savings == current to
the cent as displayed, in every recommendation and rejected option."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costopt import clock
from costopt.domain.money import round_usd, savings
from costopt.domain.service import Service
from costopt.engine.recommend import priority_of, recommend, unconfirmed_assumptions
from costopt.observe.usage import usage_from_series
from costopt.pricing import bundled_catalog
from local import demo
from local.synthetic import generate
from tests.support.demo import demo_service

CATALOG = bundled_catalog()
def shown(value: float) -> Decimal:
    """A USD figure as a client displays it: two decimals."""
    return Decimal(f"{value:.2f}")


def assert_adds_up(current: float, proposed: float, saved: float) -> None:
    for figure in (current, proposed, saved):
        assert figure == round_usd(figure), f"{figure!r} is not rounded to the cent"
    assert shown(proposed) + shown(saved) == shown(current), (current, proposed, saved)


@pytest.mark.parametrize(("value", "expected"), [
    (28.835, 28.84), (2.700005, 2.70), (0.125, 0.13), (0.124999, 0.12), (-0.125, -0.13),
    (33.214999999999996, 33.22),  # 100 x 730 x 0.00013 + 50 x 730 x 0.00065, binary noise below 1e-9
    (173.30 - 120.88, 52.42),  # the issue's figures: 52.42000000000002
    (1e15 + 0.005, 1e15 + 0.01), (0.0, 0.0), (-0.001, 0.0),
])
def test_round_usd_is_half_up_to_the_cent(value: float, expected: float) -> None:
    assert round_usd(value) == expected


def test_round_usd_never_publishes_negative_zero() -> None:
    assert str(round_usd(-0.001)) == "0.0" and str(round_usd(-0.0)) == "0.0"


def test_round_usd_refuses_what_is_not_money() -> None:
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError):
            round_usd(bad)


def test_the_issue_example_adds_up() -> None:
    s = savings(173.2960, 120.8849)  # rounded separately before: 173.30 - 120.88 shown as 52.43
    assert (s.current_usd, s.proposed_usd, s.savings_usd) == (173.30, 120.88, 52.42)
    assert s.savings_pct == 30.25  # 52.42 / 173.30, from the published figures


money = st.floats(min_value=0, max_value=5e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=2000, deadline=None)
@given(current=money, proposed=money)
def test_savings_add_up_to_the_cent_as_displayed(current: float, proposed: float) -> None:
    s = savings(current, proposed)
    assert_adds_up(s.current_usd, s.proposed_usd, s.savings_usd)
    assert s.current_usd == round_usd(current) and s.proposed_usd == round_usd(proposed)
    if s.current_usd > 0:
        assert s.savings_pct == round(s.savings_usd / s.current_usd * 100.0, 2)


def check_result(result: Any) -> int:
    """The money invariant over every recommendation and rejected option of a result; returns how many."""
    for rec in result.recommendations:
        assert_adds_up(rec.monthly_cost_current_usd, rec.monthly_cost_proposed_usd, rec.monthly_savings_usd)
        assert rec.savings_pct == round(rec.monthly_savings_usd / rec.monthly_cost_current_usd * 100.0, 2)
        assumed = unconfirmed_assumptions(rec.evidence.cost_model.assumptions if rec.evidence.cost_model else [],
                                          CATALOG)
        assert rec.priority == priority_of(rec.monthly_savings_usd, rec.performance_risk,
                                           rests_on_assumption=bool(assumed))
    for opt in result.rejected:
        assert_adds_up(opt.monthly_cost_current_usd, opt.monthly_cost_proposed_usd, opt.monthly_savings_usd)
    per_resource = {r.resource_id: r.monthly_cost_current_usd for r in [*result.recommendations, *result.rejected]}
    if per_resource and not result.insufficient:
        assert shown(result.current_monthly_cost_usd) >= sum(shown(v) for v in per_resource.values())
    return len(result.recommendations) + len(result.rejected)


@pytest.mark.parametrize("service_id", sorted(demo.DEMO_SERVICES))
def test_every_demo_option_adds_up(service_id: str) -> None:
    service = demo_service(service_id)
    now = clock.now()
    usage = usage_from_series(service, generate(service, now - timedelta(days=14), now), 14, now)
    result = recommend(service, usage, CATALOG, now=now)
    assert check_result(result) >= 1
    assert result.current_monthly_cost_usd == round_usd(result.current_monthly_cost_usd)


@settings(max_examples=40, deadline=None)
@given(memory_mb=st.integers(min_value=2, max_value=160).map(lambda k: k * 64),
       base_rps=st.floats(min_value=0.05, max_value=400), cpu_ms=st.floats(min_value=1, max_value=400),
       io_ms=st.floats(min_value=0, max_value=600), arm=st.booleans())
def test_lambda_options_add_up_over_random_costs(memory_mb: int, base_rps: float, cpu_ms: float, io_ms: float,
                                                 arm: bool) -> None:
    now = clock.now()
    service = Service.model_validate({
        "service_id": "prop-fn", "name": "Property", "team": "t", "version": 1,
        "created_at": now - timedelta(days=1), "updated_at": now, "sla": {"latency_p99_ms": 2000},
        "resources": [{"resource_id": "fn", "kind": "lambda_function", "function_name": "f",
                       "config": {"memory_mb": memory_mb, "architecture": "arm64" if arm else "x86_64"}}],
        "telemetry": {"source": "synthetic", "synthetic": {"base_rps": base_rps, "cpu_ms_per_request": cpu_ms,
                                                           "io_ms_per_request": io_ms}},
        "billing": {"source": "synthetic"},
        "policy": {"rightsizing": {"min_savings_usd": 0, "min_savings_pct": 0}}})
    usage = usage_from_series(service, generate(service, now - timedelta(days=3), now), 3, now)
    check_result(recommend(service, usage, CATALOG, now=now))
