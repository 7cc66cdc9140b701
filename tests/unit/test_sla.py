"""The SLA engine: Erlang C against textbook values, the calibrated M/M/c latency, every clause."""

from __future__ import annotations

import math

import pytest

from costopt.domain.service import Sla
from costopt.engine.sla import (
    Capacity,
    CapacityClause,
    Prediction,
    QueueLoad,
    erlang_b,
    erlang_c,
    evaluate,
    performance_risk,
    predict_queue,
    scale_cpu_pct,
    scale_memory_pct,
    utilization,
    wait_quantile_ms,
)


def test_erlang_c_two_servers_one_erlang_is_one_third():
    # Kleinrock / any queueing text: M/M/2 with a = λ/μ = 1 -> P(wait) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    # Erlang B for the same system: 1/5
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.99])
def test_erlang_c_single_server_is_rho(rho):
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


def test_erlang_c_closed_form_many_servers():
    # direct sum formula for c=10, a=7
    c, a = 10, 7.0
    top = a**c / math.factorial(c) * c / (c - a)
    bottom = sum(a**k / math.factorial(k) for k in range(c)) + top
    assert erlang_c(c, a) == pytest.approx(top / bottom, rel=1e-10)


def test_erlang_c_is_stable_for_large_c():
    value = erlang_c(2000, 1900.0)
    assert 0 < value < 1 and math.isfinite(value)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 0.0) == 0.0


@pytest.mark.parametrize(("lam", "mu", "q"), [(5.0, 10.0, 0.99), (9.0, 10.0, 0.95), (2.0, 10.0, 0.99)])
def test_mm1_wait_quantile_closed_form(lam, mu, q):
    rho = lam / mu
    expected_s = max(0.0, -math.log((1 - q) / rho) / (mu - lam))
    assert wait_quantile_ms(1, lam, 1 / mu, q) == pytest.approx(expected_s * 1000, rel=1e-9)


def test_wait_quantile_zero_when_rarely_waiting_and_inf_when_unstable():
    assert wait_quantile_ms(8, 1.0, 0.1, 0.99) == 0.0  # C tiny < 1%
    assert wait_quantile_ms(2, 30.0, 0.1, 0.99) == math.inf  # rho = 1.5


def test_predict_queue_calibrates_to_observed_p99_at_current():
    load = QueueLoad(arrival_rate_per_s=40.0, cpu_seconds_per_request=0.05, observed_latency_p99_ms=180.0)
    current = Capacity(replicas=4, cores=1.0)
    same = predict_queue(load, current, current)
    assert same.latency_p99_ms == pytest.approx(180.0)
    assert same.rho == pytest.approx(0.5)
    smaller = predict_queue(load, current, Capacity(replicas=3, cores=1.0))
    assert smaller.latency_p99_ms is not None and smaller.latency_p99_ms > 180.0
    assert smaller.rho == pytest.approx(40 * 0.05 / 3)
    unstable = predict_queue(load, current, Capacity(replicas=2, cores=0.5))
    assert unstable.rho >= 1 and unstable.latency_p99_ms is None


def test_fractional_cores_slow_the_server():
    load = QueueLoad(arrival_rate_per_s=0.1, cpu_seconds_per_request=0.1)
    half = Capacity(replicas=2, cores=0.5)
    assert half.servers == 2 and half.speed == 0.5
    assert utilization(load, half) == pytest.approx(0.01)
    # light load (C(2, 0.02) < 1 %): latency = service time at half speed = 200 ms
    assert predict_queue(load, half, half).latency_p99_ms == pytest.approx(200.0)
    one_and_half = Capacity(replicas=1, cores=1.5)
    assert one_and_half.servers == 1 and one_and_half.speed == pytest.approx(1.5)


def test_scaling_helpers():
    assert scale_cpu_pct(35.0, 4 * 1.0, 2 * 1.0) == pytest.approx(70.0)
    assert scale_memory_pct(30.0, 4096, 2048) == pytest.approx(60.0)


def test_every_clause_and_margins():
    sla = Sla(latency_p95_ms=150, latency_p99_ms=200, availability_pct=99.95, max_error_rate_pct=1.0)
    p = Prediction(latency_p95_ms=100.0, latency_p99_ms=150.0, rho=0.5, cpu_utilization_pct=60.0,
                   memory_utilization_pct=45.0, error_rate_pct=0.2, replicas=3, spot=True,
                   capacity=[CapacityClause("provisioned_iops", 3000, 2400)])
    v = evaluate(sla, p, allow_spot=False)
    by = {c.clause: c for c in v.clauses}
    assert set(by) == {"latency_p95_ms", "latency_p99_ms", "queue_utilization", "max_cpu_utilization_pct",
                       "max_memory_utilization_pct", "max_error_rate_pct", "min_replicas", "availability_pct",
                       "provisioned_iops"}
    assert by["latency_p99_ms"].margin_pct == pytest.approx(25.0)
    assert by["max_cpu_utilization_pct"].margin_pct == pytest.approx(25.0)  # (80-60)/80
    assert by["max_memory_utilization_pct"].margin_pct == pytest.approx(50.0)
    assert by["min_replicas"].ok and by["min_replicas"].limit == 2
    assert not by["availability_pct"].ok  # Spot at 99.95 without allow_spot
    assert not v.compliant and [c.clause for c in v.failing] == ["availability_pct"]
    assert evaluate(sla, p, allow_spot=True).compliant


def test_min_replicas_rule():
    sla = Sla(availability_pct=99.9)
    assert sla.effective_min_replicas == 2
    v = evaluate(sla, Prediction(replicas=1))
    assert not v.compliant and v.failing[0].clause == "min_replicas"


def test_rho_at_or_above_one_always_fails():
    sla = Sla(latency_p99_ms=10_000)
    v = evaluate(sla, Prediction(rho=1.0, latency_p99_ms=None))
    assert not v.compliant
    assert {c.clause for c in v.failing} == {"queue_utilization", "latency_p99_ms"}


def test_unknown_latency_fails_a_capacity_cut_but_not_a_neutral_change():
    sla = Sla(latency_p99_ms=200)
    assert not evaluate(sla, Prediction(reduces_capacity=True)).compliant
    assert evaluate(sla, Prediction(reduces_capacity=False)).compliant


def test_performance_risk_bands():
    sla = Sla(max_cpu_utilization_pct=80)

    def risk(cpu):
        return performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=cpu)))

    assert risk(40) == 0    # margin 50 %
    assert risk(56) == 1    # 30 %
    assert risk(64) == 2    # 20 %
    assert risk(76) == 3    # 5 %
    assert risk(79) == 4    # 1.25 %
    assert risk(90) == 4    # failing
    assert performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=10)), floor=2) == 2
