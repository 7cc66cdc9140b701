"""The queueing model (costopt.engine.queueing): Erlang C against textbook values, the response time of
M/M/c in closed form, the M/G/c decomposition's limits, and the scalar and vectorised halves agreeing.
(Against a discrete-event simulation: test_queueing_des.py.)"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from costopt.engine.queueing import (
    ServiceTime,
    erlang_b,
    erlang_c,
    response_time_quantile,
    response_time_survival,
    wait_model,
)
from costopt.engine.queueing.erlang_array import erlang_c_array, erlang_c_fast
from costopt.engine.queueing.response_array import (
    response_time_quantiles_array,
    response_time_survival_array,
    solve_quantiles_array,
)
from tests.support.mmc_reference import erlang_c_sum, mmc_response_quantile, mmc_response_survival

EXP, DET, LOGN = ServiceTime(1.0, 1.0), ServiceTime(1.0, 0.0), ServiceTime(1.0, 4.0)


def test_importing_the_module_does_not_import_numpy():
    code = ("import sys; sys.path[:0]=['layers/core','.']; import costopt.engine.queueing as q;"
            "q.response_time_quantile(0.99, 4, 30.0, q.ServiceTime(0.05, 4.0)); print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- Erlang B / C


def test_erlang_c_two_servers_one_erlang_is_one_third():
    # Kleinrock / any queueing text: M/M/2 with a = λ/μ = 1 -> P(wait) = 1/3; Erlang B for it: 1/5
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9, 0.99])
def test_erlang_c_single_server_is_rho(rho):
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(10, 7.0), (4, 2.0), (16, 7.6), (8, 7.6)])
def test_erlang_c_matches_the_direct_sum(c, a):
    assert erlang_c(c, a) == pytest.approx(erlang_c_sum(c, a), rel=1e-10)


def test_erlang_c_is_stable_for_large_c():
    value = erlang_c(2000, 1900.0)
    assert 0 < value < 1 and math.isfinite(value)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 0.0) == 0.0


def test_erlang_c_vectorised_matches_scalar_on_a_grid():
    cs = np.arange(1, 41)
    rhos = np.array([0.0, 0.05, 0.2, 0.5, 0.7, 0.85, 0.95, 0.99, 1.0, 1.3])
    k, rho = np.meshgrid(cs, rhos, indexing="ij")
    exact, fast = erlang_c_array(k, k * rho), erlang_c_fast(k, k * rho)
    for i, c in enumerate(cs):
        for j, r in enumerate(rhos):
            want = erlang_c(int(c), float(c * r))
            assert exact[i, j] == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert fast[i, j] == pytest.approx(want, abs=2e-4)


def test_erlang_c_tables_for_many_servers_stay_close_to_exact():
    for c in (300, 1000, 3000):
        rhos = np.array([0.5, 0.9, 0.95, 0.99])
        fast = erlang_c_fast(np.full(4, c), c * rhos)
        for r, got in zip(rhos, fast, strict=True):
            assert got == pytest.approx(erlang_c(c, c * float(r)), abs=0.01)


# --------------------------------------------------------------------------- exact M/M/c


@pytest.mark.parametrize(("lam", "mu"), [(0.3, 1.0), (7.0, 10.0), (9.5, 10.0), (2.0, 10.0)])
@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_mm1_response_time_is_exponential(lam, mu, q):
    # M/M/1: T ~ Exp(μ - λ), so its q-quantile is -ln(1 - q) / (μ - λ)
    assert response_time_quantile(q, 1, lam, ServiceTime(1 / mu)) == pytest.approx(-math.log(1 - q) / (mu - lam),
                                                                                   rel=1e-9)


@pytest.mark.parametrize(("c", "lam", "mean_s"), [(2, 1.0, 1.0), (4, 80.0, 0.04), (8, 100.0, 0.05),
                                                   (16, 4.8, 1.0), (3, 100.0 / 3.5, 0.1)])
@pytest.mark.parametrize("q", [0.95, 0.99])
def test_mmc_response_time_matches_the_closed_form(c, lam, mean_s, q):
    svc = ServiceTime(mean_s)
    assert response_time_quantile(q, c, lam, svc) == pytest.approx(mmc_response_quantile(q, c, lam, mean_s),
                                                                   rel=1e-8)
    t = response_time_quantile(q, c, lam, svc)
    assert response_time_survival(t, c, lam, svc) == pytest.approx(mmc_response_survival(t, c, lam, mean_s),
                                                                   rel=1e-9)


def test_mm2_textbook_wait():
    # M/M/2, λ = 1, μ = 1: C = 1/3 and W | wait ~ Exp(2μ - λ) = Exp(1): P(W > 1) = e^-1 / 3
    w = wait_model(2, 1.0, EXP)
    assert w is not None
    assert w.delay_probability == pytest.approx(1 / 3)
    assert w.survival(1.0) == pytest.approx(math.exp(-1.0) / 3, rel=1e-12)
    assert w.mean_s == pytest.approx((1 / 3) / 1.0, rel=1e-12)  # E[W] = C / (cμ - λ)


def test_unstable_and_idle():
    assert response_time_quantile(0.99, 2, 2.0, EXP) == math.inf  # rho = 1
    assert wait_model(2, 3.0, EXP) is None
    assert response_time_quantile(0.99, 2, 0.0, EXP) == pytest.approx(-math.log(0.01))  # no load: T = S
    assert response_time_quantile(0.99, 4, 1.0, ServiceTime(0.0)) == 0.0


# --------------------------------------------------------------------------- M/G/c decomposition


def test_mg1_mean_wait_is_pollaczek_khinchine():
    # M/G/1: E[W] = λ E[S²] / (2 (1 - rho)), E[S²] = m² (1 + SCV), for any service distribution
    for svc in (DET, LOGN, ServiceTime(1.0, 0.5)):
        for rho in (0.3, 0.7, 0.95):
            w = wait_model(1, rho, svc)
            assert w is not None
            assert w.mean_s == pytest.approx(rho * (1 + svc.scv) / (2 * (1 - rho)), rel=1e-9)
            assert w.delay_probability == pytest.approx(rho)


def test_md1_and_mdc_light_traffic_first_departure():
    # deterministic service: residuals are U(0, m); the first of c departures has mean m / (c + 1)
    for c in (1, 2, 4, 16):
        w = wait_model(c, 0.2 * c, DET)
        assert w is not None
        assert w.first_departure_mean_s == pytest.approx(1 / (c + 1), rel=1e-12)
        assert w.first_departure_scv == pytest.approx(c / (c + 2), rel=1e-9)  # min of c uniforms
    # lognormal (SCV 4): one residual has mean E[S²]/2m = 2.5, the numeric integral reproduces it
    w1, w2 = wait_model(1, 0.5, LOGN), wait_model(2, 1.0, LOGN)
    assert w1 is not None and w2 is not None
    assert w1.first_departure_mean_s == pytest.approx(2.5, rel=1e-12)
    assert 0 < w2.first_departure_mean_s < 2.5 / 2  # the min of two is less than half one of them


def test_deterministic_service_light_load_is_the_service_time():
    # c = 8 at rho = 0.3: P(wait) = 0.4 % < 1 %, so p99 = p95 = the service time itself
    assert response_time_quantile(0.99, 8, 2.4, DET) == pytest.approx(1.0)
    assert response_time_quantile(0.95, 8, 2.4, DET) == pytest.approx(1.0)


def test_lognormal_light_load_is_the_service_quantile():
    # c = 16 at rho = 0.3: P(wait) ~ 4e-5: the p99 of T is the lognormal's (mean 1, SCV 4) p99
    sigma = math.sqrt(math.log(5.0))
    want = math.exp(-sigma * sigma / 2 + sigma * 2.3263478740408408)
    assert response_time_quantile(0.99, 16, 4.8, LOGN) == pytest.approx(want, rel=1e-3)


@pytest.mark.parametrize("svc", [EXP, DET, LOGN, ServiceTime(1.0, 0.5), ServiceTime(1.0, 2.0)])
def test_quantiles_grow_with_load_and_shrink_with_servers(svc):
    by_load = [response_time_quantile(0.99, 4, 4 * rho, svc) for rho in (0.3, 0.5, 0.7, 0.9, 0.97)]
    assert by_load == sorted(by_load) and by_load[-1] > 3 * by_load[0]
    # the same load on twice the servers waits less
    assert response_time_quantile(0.99, 8, 2.8, svc) < response_time_quantile(0.99, 4, 2.8, svc)


def test_survival_is_the_quantiles_inverse():
    for svc in (DET, LOGN, ServiceTime(1.0, 2.0)):
        for c, rho in ((1, 0.5), (4, 0.85), (16, 0.95)):
            for q in (0.95, 0.99):
                t = response_time_quantile(q, c, c * rho, svc)
                assert response_time_survival(t, c, c * rho, svc) == pytest.approx(1 - q, rel=1e-5)


# --------------------------------------------------------------------------- scalar == vectorised


@pytest.mark.parametrize("svc", [EXP, DET, LOGN, ServiceTime(0.05, 0.5)])
def test_vectorised_quantiles_match_scalar(svc):
    servers = np.array([1, 2, 4, 8, 16, 4, 3, 0, 2])
    rho = np.array([0.3, 0.5, 0.7, 0.85, 0.95, 0.0, 0.99, 0.5, 1.2])
    lam = rho * np.maximum(servers, 1) / svc.mean_s
    for solve, rel in ((solve_quantiles_array, 1e-7), (response_time_quantiles_array, 1e-3)):
        fast = solve is response_time_quantiles_array
        got = solve(servers, lam, svc, (0.95, 0.99))
        for qi, q in enumerate((0.95, 0.99)):
            for i in range(servers.size):
                want = response_time_quantile(q, int(servers[i]), float(lam[i]), svc)
                if math.isinf(want):
                    assert math.isinf(got[qi][i]), (fast, q, i)
                else:
                    assert got[qi][i] == pytest.approx(want, rel=rel), (fast, q, i)


@pytest.mark.parametrize("svc", [EXP, DET, LOGN])
def test_vectorised_survival_matches_scalar(svc):
    t = np.array([0.5, 1.0, 2.0, 5.0, 12.0, 40.0])
    servers = np.array([1, 2, 4, 8, 16, 4])
    lam = np.array([0.5, 1.4, 2.8, 6.8, 15.2, 3.8])
    got = response_time_survival_array(t, servers, lam, svc)
    for i in range(t.size):
        assert got[i] == pytest.approx(response_time_survival(float(t[i]), int(servers[i]), float(lam[i]), svc),
                                       rel=1e-6, abs=1e-12)
