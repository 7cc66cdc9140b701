"""The SLA engine: the residual-calibrated latency prediction, every clause, breach probabilities, the
performance-risk bands at their edges and the probability that every clause holds. (The queueing math
itself: test_queueing.py and test_queueing_des.py.)"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from costopt.domain.recommendation import SlaClauseVerdict, SlaVerdict
from costopt.domain.service import Sla
from costopt.engine.queueing.capacity import Capacity
from costopt.engine.queueing.latency import (
    QueueLoad,
    calibrate_residual_ms,
    model_latency_ms,
    predict_queue,
    utilization,
)
from costopt.engine.sla import (
    BREACH_PROBABILITY_BANDS,
    DEFAULT_LOG_SD,
    LATENCY_MODEL_LOG_SD,
    CapacityClause,
    Prediction,
    breach_probability,
    evaluate,
    hold_probability,
    latency_log_sd,
    performance_risk,
    scale_cpu_pct,
    scale_memory_pct,
)
from tests.support.mmc_reference import mmc_response_quantile

PHI = NormalDist()


def upper_tail(limit: float, predicted: float, sd: float) -> float:
    """1 - Phi(ln(limit / predicted) / sd), by the standard library's normal distribution."""
    return 1.0 - PHI.cdf(math.log(limit / predicted) / sd)


# --------------------------------------------------------------------------- latency: residual calibration


def test_predict_queue_adds_the_residual_calibrated_at_the_current_config():
    # 4 servers, λ = 40/s, S = 50 ms: M/M/4's p99 of wait + service is 238.21 ms, p95 157.49 ms; the
    # observed 300 ms leaves 61.79 ms of non-queueing time, added (not multiplied) at every option
    load = QueueLoad(arrival_rate_per_s=40.0, cpu_seconds_per_request=0.05, observed_latency_p99_ms=300.0)
    current = Capacity(replicas=4, cores=1.0)
    model99 = mmc_response_quantile(0.99, 4, 40.0, 0.05) * 1000
    model95 = mmc_response_quantile(0.95, 4, 40.0, 0.05) * 1000
    residual = 300.0 - model99
    assert residual == pytest.approx(61.79, abs=0.01)
    same = predict_queue(load, current, current)
    assert same.residual_ms == pytest.approx(residual, rel=1e-9)
    assert same.latency_p99_ms == pytest.approx(300.0, rel=1e-9)  # today's config reproduces the observation
    assert same.latency_p95_ms == pytest.approx(model95 + residual, rel=1e-9)
    assert same.rho == pytest.approx(0.5)
    assert same.extrapolated_p99 == 0.0 and same.model_excess_ms == 0.0
    # 3 servers: M/M/3's p99 294.56 ms + the same residual; rho = 40 x 0.05 / 3
    smaller = predict_queue(load, current, Capacity(replicas=3, cores=1.0))
    assert smaller.latency_p99_ms == pytest.approx(mmc_response_quantile(0.99, 3, 40.0, 0.05) * 1000 + residual,
                                                   rel=1e-8)
    assert smaller.latency_p95_ms == pytest.approx(mmc_response_quantile(0.95, 3, 40.0, 0.05) * 1000 + residual,
                                                   rel=1e-8)
    assert smaller.rho == pytest.approx(40 * 0.05 / 3)
    # the share the model extrapolates: |294.56 - 238.21| / 356.35
    assert smaller.extrapolated_p99 == pytest.approx((294.5587 - 238.2124) / (294.5587 + residual), rel=1e-4)
    unstable = predict_queue(load, current, Capacity(replicas=2, cores=0.5))
    assert unstable.rho >= 1 and unstable.latency_p99_ms is None


def test_model_above_the_observation_means_no_residual_and_says_so():
    load = QueueLoad(arrival_rate_per_s=40.0, cpu_seconds_per_request=0.05, observed_latency_p99_ms=180.0)
    current = Capacity(replicas=4, cores=1.0)
    residual, excess = calibrate_residual_ms(load, current)
    assert residual == 0.0 and excess == pytest.approx(238.2124 - 180.0, rel=1e-5)
    same = predict_queue(load, current, current)
    assert same.latency_p99_ms == pytest.approx(238.2124, rel=1e-5)  # the model alone: conservative
    assert same.model_excess_ms == pytest.approx(excess)


def test_no_observation_is_the_model_alone():
    load = QueueLoad(arrival_rate_per_s=40.0, cpu_seconds_per_request=0.05)
    cap = Capacity(replicas=4, cores=1.0)
    assert calibrate_residual_ms(load, cap) == (0.0, 0.0)
    assert predict_queue(load, cap, cap).latency_p99_ms == pytest.approx(238.2124, rel=1e-5)


def test_fractional_cores_slow_the_server():
    load = QueueLoad(arrival_rate_per_s=0.1, cpu_seconds_per_request=0.1)
    half = Capacity(replicas=2, cores=0.5)
    assert half.servers == 2 and half.speed == 0.5
    assert utilization(load, half) == pytest.approx(0.01)
    # two servers at half speed: S = 200 ms exponential, light load: p99 of M/M/2 (μ = 5/s, λ = 0.1/s)
    assert model_latency_ms(load, half, 0.99) == pytest.approx(mmc_response_quantile(0.99, 2, 0.1, 0.2) * 1000,
                                                               rel=1e-8)
    assert model_latency_ms(load, half, 0.99) == pytest.approx(-math.log(0.01) * 200, rel=1e-3)  # ~ S's own p99
    one_and_half = Capacity(replicas=1, cores=1.5)
    assert one_and_half.servers == 1 and one_and_half.speed == pytest.approx(1.5)


def test_service_scv_changes_the_queueing_part():
    # the same mean CPU time, deterministic (SCV 0) vs exponential: far less wait and spread
    det = QueueLoad(arrival_rate_per_s=70.0, cpu_seconds_per_request=0.05, service_scv=0.0)
    exp = QueueLoad(arrival_rate_per_s=70.0, cpu_seconds_per_request=0.05)
    cap = Capacity(replicas=4, cores=1.0)
    assert model_latency_ms(det, cap, 0.99) < 0.6 * model_latency_ms(exp, cap, 0.99)
    assert model_latency_ms(det, Capacity(replicas=16, cores=1.0), 0.99) == pytest.approx(50.0)  # no wait at all


def test_scaling_helpers():
    assert scale_cpu_pct(35.0, 4 * 1.0, 2 * 1.0) == pytest.approx(70.0)
    assert scale_memory_pct(30.0, 4096, 2048) == pytest.approx(60.0)


def test_latency_uncertainty_combines_observation_and_model_share():
    assert latency_log_sd(0.03, 0.0) == pytest.approx(0.03)
    assert latency_log_sd(0.03, 0.5) == pytest.approx(math.sqrt(0.03**2 + (0.5 * math.log(1.15)) ** 2))
    assert math.log(1.15) == pytest.approx(LATENCY_MODEL_LOG_SD)


# --------------------------------------------------------------------------- clauses


def test_every_clause_margins_and_breach_probabilities():
    sla = Sla(latency_p95_ms=150, latency_p99_ms=200, availability_pct=99.95, max_error_rate_pct=1.0)
    p = Prediction(latency_p95_ms=100.0, latency_p99_ms=150.0, rho=0.5, cpu_utilization_pct=60.0,
                   memory_utilization_pct=45.0, error_rate_pct=0.2, replicas=3, spot=True,
                   capacity=[CapacityClause("provisioned_iops", 3000, 2400)],
                   uncertainty={"latency_p99_ms": 0.2, "max_cpu_utilization_pct": 0.1})
    v = evaluate(sla, p, allow_spot=False)
    by = {c.clause: c for c in v.clauses}
    assert set(by) == {"latency_p95_ms", "latency_p99_ms", "queue_utilization", "max_cpu_utilization_pct",
                       "max_memory_utilization_pct", "max_error_rate_pct", "min_replicas", "availability_pct",
                       "provisioned_iops"}
    assert by["latency_p99_ms"].margin_pct == pytest.approx(25.0)
    assert by["max_cpu_utilization_pct"].margin_pct == pytest.approx(25.0)  # (80-60)/80
    assert by["max_memory_utilization_pct"].margin_pct == pytest.approx(50.0)
    # p = 1 - Phi(ln(limit / predicted) / sigma): 1 - Phi(ln(4/3) / 0.2) = 1 - Phi(1.438) = 0.07515 and
    # 1 - Phi(ln(4/3) / 0.1) = 1 - Phi(2.877) = 0.00201
    assert by["latency_p99_ms"].breach_probability == pytest.approx(upper_tail(200, 150, 0.2), abs=1e-6)
    assert by["latency_p99_ms"].breach_probability == pytest.approx(0.07515, abs=1e-5)
    assert by["max_cpu_utilization_pct"].breach_probability == pytest.approx(0.00201, abs=1e-5)
    # clauses without their own sigma get DEFAULT_LOG_SD = ln 1.25
    assert by["provisioned_iops"].breach_probability == pytest.approx(upper_tail(3000, 2400, math.log(1.25)),
                                                                      abs=1e-6)
    assert by["latency_p95_ms"].breach_probability == pytest.approx(upper_tail(150, 100, DEFAULT_LOG_SD), abs=1e-6)
    assert by["min_replicas"].ok and by["min_replicas"].limit == 2 and by["min_replicas"].breach_probability is None
    assert not by["availability_pct"].ok and by["availability_pct"].breach_probability is None  # a rule
    assert not v.compliant and [c.clause for c in v.failing] == ["availability_pct"]
    assert evaluate(sla, p, allow_spot=True).compliant


def test_breach_probability_edges():
    assert breach_probability(100.0, 100.0, 0.1) == pytest.approx(0.5)  # at the limit: a coin toss
    assert breach_probability(100.0, 0.0, 0.1) == 0.0
    assert breach_probability(0.0, 5.0, 0.1) == 1.0
    assert breach_probability(100.0, 120.0, 0.0) == 1.0 and breach_probability(100.0, 80.0, 0.0) == 0.0
    assert breach_probability(100.0, 50.0, 0.1) == pytest.approx(upper_tail(100, 50, 0.1), rel=1e-6)


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
    lat = next(c for c in v.clauses if c.clause == "latency_p99_ms")
    assert lat.breach_probability == 1.0


def test_unknown_latency_fails_a_capacity_cut_but_not_a_neutral_change():
    sla = Sla(latency_p99_ms=200)
    cut = evaluate(sla, Prediction(reduces_capacity=True))
    assert not cut.compliant and cut.clauses[0].breach_probability == 1.0
    neutral = evaluate(sla, Prediction(reduces_capacity=False))
    assert neutral.compliant and neutral.clauses[0].breach_probability is None


# --------------------------------------------------------------------------- risk and hold probability


def _cpu_at(probability: float, sd: float = 0.1, limit: float = 80.0) -> float:
    """The predicted CPU % whose breach probability against ``limit`` is ``probability``."""
    return limit * math.exp(-sd * PHI.inv_cdf(1.0 - probability))


@pytest.mark.parametrize(("edge", "below", "at_or_above"), [(0.001, 0, 1), (0.01, 1, 2), (0.05, 2, 3), (0.20, 3, 4)])
def test_performance_risk_band_edges(edge, below, at_or_above):
    sla = Sla(max_cpu_utilization_pct=80)

    def risk(p: float) -> int:
        return performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=_cpu_at(p),
                                                         uncertainty={"max_cpu_utilization_pct": 0.1})))

    assert risk(edge * 0.99) == below
    assert risk(edge * 1.01) == at_or_above
    assert (edge, below) in BREACH_PROBABILITY_BANDS


def test_performance_risk_extremes_floor_and_failure():
    sla = Sla(max_cpu_utilization_pct=80)
    sd = {"max_cpu_utilization_pct": 0.1}
    assert performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=40, uncertainty=sd))) == 0  # p ~ 2e-12
    assert performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=79, uncertainty=sd))) == 4  # p = 0.45
    assert performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=90, uncertainty=sd))) == 4  # failing
    assert performance_risk(evaluate(sla, Prediction(cpu_utilization_pct=10, uncertainty=sd)), floor=2) == 2
    assert performance_risk(evaluate(sla, Prediction())) == 0  # nothing to predict
    # the largest probability decides: memory at p = 3 % beats CPU at p ~ 0
    both = Prediction(cpu_utilization_pct=10, memory_utilization_pct=90 * math.exp(-0.1 * PHI.inv_cdf(0.97)),
                      uncertainty={"max_cpu_utilization_pct": 0.1, "max_memory_utilization_pct": 0.1})
    assert performance_risk(evaluate(sla, both)) == 2


def test_hold_probability_is_the_product_over_clauses():
    def clause(name: str, p: float | None, ok: bool = True) -> SlaClauseVerdict:
        return SlaClauseVerdict(clause=name, limit=1.0, ok=ok, breach_probability=p)

    v = SlaVerdict(compliant=True, clauses=[clause("latency_p99_ms", 0.1), clause("max_cpu_utilization_pct", 0.02),
                                            clause("min_replicas", None)])
    assert hold_probability(v) == pytest.approx(0.9 * 0.98)
    failing_rule = SlaVerdict(compliant=False, clauses=[clause("latency_p99_ms", 0.1),
                                                        clause("availability_pct", None, ok=False)])
    assert hold_probability(failing_rule) == 0.0
    assert hold_probability(SlaVerdict(compliant=True)) == 1.0
    # from evaluate: the two clauses' probabilities, independently
    sla = Sla(latency_p99_ms=200, max_cpu_utilization_pct=80)
    ev = evaluate(sla, Prediction(latency_p99_ms=150, cpu_utilization_pct=60, reduces_capacity=False,
                                  uncertainty={"latency_p99_ms": 0.2, "max_cpu_utilization_pct": 0.1}))
    want = (1 - upper_tail(200, 150, 0.2)) * (1 - upper_tail(80, 60, 0.1))
    assert hold_probability(ev) == pytest.approx(want, abs=1e-5)
