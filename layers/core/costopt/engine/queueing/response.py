"""The response time T = S + W of the queueing part: its survival and quantiles, scalar (pure Python).

Part of ``engine.queueing`` (the model and its validated error: that package's doc).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from costopt.engine.queueing.service import _GL_W, _GL_X, _SQRT2, _SQRT2PI, _Z_LO, ServiceTime
from costopt.engine.queueing.wait import WaitModel, _erlang_survival, wait_model

# =========================================================================== response time T = S + W


def _hypoexp_survival(t: float, a: float, b: float) -> float:
    """P(Exp(a) + Exp(b) > t), stable when a ≈ b: e^{-lo t}(1 + lo·t·h((hi-lo)t)), h(x) = (1-e^{-x})/x."""
    lo, hi = (a, b) if a <= b else (b, a)
    x = (hi - lo) * t
    h = 1.0 if x < 1e-12 else -math.expm1(-x) / x
    return math.exp(-lo * t) * (1.0 + lo * t * h)


def _hypoexp_density(t: float, a: float, b: float) -> float:
    lo, hi = (a, b) if a <= b else (b, a)
    x = (hi - lo) * t
    h = 1.0 if x < 1e-12 else -math.expm1(-x) / x
    return a * b * t * math.exp(-lo * t) * h


def _lognormal_convolution(t: float, w: WaitModel) -> float:
    """∫_0^t f_S(s) P(W > t - s | W > 0) ds for lognormal S, in two pieces: s in [t/2, t] on a log
    scale of x = t - s (where the wait's survival falls off), s in (0, t/2] on the standard-normal
    scale of ln s (where the lognormal density is peaked). Written out for speed (the recommender's
    hot loop): the same formulas as ``ServiceTime.residual_survival`` and ``WaitModel``."""
    svc = w.service
    sd, mu, m = svc.log_sd, svc.log_mean, svc.mean_s
    inv = 1.0 / (sd * _SQRT2)
    norm = 1.0 / (sd * _SQRT2PI)
    c, rho = w.servers, w.rho
    p1, r1, p2, r2 = w.combined_phases
    k = w.combined_erlang_k
    erfc, exp, log = math.erfc, math.exp, math.log

    def cond(x: float) -> float:
        lx = log(x)
        first = 0.5 * erfc((lx - mu - sd * sd) * inv) - x / m * 0.5 * erfc((lx - mu) * inv)
        first = first**c if first > 0 else 0.0
        if k == 0:
            combined = p1 * exp(-r1 * x) + p2 * exp(-r2 * x)
        else:
            combined = p1 * _erlang_survival(k - 1, r1 * x) + p2 * _erlang_survival(k, r2 * x)
        return (1.0 - rho) * first + rho * combined

    half = 0.5 * t
    total = 0.0
    scale = min(w.first_departure_mean_s, half)
    x_lo = max(1e-6 * scale, 1e-12 * t)
    if x_lo < half:
        z = (log(t) - mu) / sd
        total += x_lo * exp(-0.5 * z * z) * norm / t  # x in [0, x_lo]: the conditional survival is 1
        a = log(x_lo)
        hw = 0.5 * (log(half) - a)
        for xi, wi in zip(_GL_X, _GL_W, strict=True):
            x = exp(a + (xi + 1.0) * hw)
            s = t - x
            z = (log(s) - mu) / sd
            total += wi * hw * x * exp(-0.5 * z * z) * norm / s * cond(x)
    z_half = (log(half) - mu) / sd
    if z_half > _Z_LO:
        hw = 0.5 * (z_half - _Z_LO)
        for xi, wi in zip(_GL_X, _GL_W, strict=True):
            z = _Z_LO + (xi + 1.0) * hw
            total += wi * hw * exp(-0.5 * z * z) / _SQRT2PI * cond(t - exp(mu + sd * z))
    return total


def _survival(t: float, service: ServiceTime, w: WaitModel | None) -> float:
    if w is None or w.delay_probability <= 0:
        return service.survival(t)
    if t <= 0:
        return 1.0
    p, m = w.delay_probability, service.mean_s
    fam = service.family
    if fam == "exponential":
        mu = 1.0 / m
        theta = (w.servers * mu) * (1.0 - w.rho)
        return (1.0 - p) * math.exp(-mu * t) + p * _hypoexp_survival(t, mu, theta)
    if fam == "deterministic":
        return 1.0 if t < m else p * w.conditional_survival(t - m)
    return service.survival(t) + p * _lognormal_convolution(t, w)


def response_time_survival(t: float, servers: int, arrival_rate_per_s: float, service: ServiceTime) -> float:
    """P(T > t) for the queueing part T = S + W (1.0 when the queue is unstable)."""
    if arrival_rate_per_s <= 0:
        return service.survival(t)
    w = wait_model(servers, arrival_rate_per_s, service)
    if w is None:
        return 1.0
    return _survival(t, service, w)


def _illinois(f: Any, lo: float, hi: float, f_lo: float, f_hi: float, rel: float = 1e-7) -> float:
    """Root of a decreasing f on [lo, hi] (f(lo) >= 0 >= f(hi)) by the Illinois method on ln t."""
    a, b, fa, fb = math.log(lo), math.log(hi), f_lo, f_hi
    side = 0
    for _ in range(200):
        if b - a < rel:
            break
        x = (a * fb - b * fa) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not a < x < b:
            x = 0.5 * (a + b)
        fx = f(math.exp(x))
        if abs(fx) < 1e-12:
            return math.exp(x)
        if fx > 0:
            a, fa = x, fx
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            b, fb = x, fx
            if side == -1:
                fa *= 0.5
            side = -1
    return math.exp(0.5 * (a + b))


@lru_cache(maxsize=8192)
def response_time_quantile(q: float, servers: int, arrival_rate_per_s: float, service: ServiceTime) -> float:
    """The q-quantile of T = S + W in seconds; ``math.inf`` when the queue is unstable (rho >= 1)."""
    if not 0 < q < 1:
        raise ValueError("q must be in (0, 1)")
    if service.mean_s == 0:
        return 0.0
    if arrival_rate_per_s <= 0:
        return service.quantile(q)
    w = wait_model(servers, arrival_rate_per_s, service)
    if w is None:
        return math.inf
    tail = 1.0 - q
    lo = service.quantile(q)  # T >= S
    if w.delay_probability <= 0 or _survival(lo, service, w) <= tail:
        return lo
    fam = service.family
    if fam == "deterministic":
        return service.mean_s + _wait_quantile(w, tail)  # T = m + W
    # T >= W, and by the union bound P(T > S_{1-tail/2} + W_{1-tail/2}) <= tail
    if w.delay_probability > tail:
        lo = max(lo, _wait_quantile(w, tail))
    hi = service.quantile(1.0 - 0.5 * tail) + _wait_quantile(w, 0.5 * tail)
    hi = max(hi, lo * (1.0 + 1e-9))
    while _survival(hi, service, w) > tail:
        hi *= 2.0
    if fam == "exponential":
        return _newton_exponential(w, service, tail, lo, hi)

    def excess(t: float) -> float:
        return math.log(max(_survival(t, service, w), 1e-300) / tail)

    return _illinois(excess, lo, hi, excess(lo), excess(hi))


def _wait_quantile(w: WaitModel, tail: float) -> float:
    """x with P(W > x) = tail (0 when the wait is shorter than that): closed-form survival, inverted."""
    if w.delay_probability <= tail:
        return 0.0
    if w.service.family == "exponential":  # W | W > 0 ~ Exp(cμ - λ)
        return math.log(w.delay_probability / tail) / (w.servers / w.service.mean_s * (1.0 - w.rho))
    x_hi = max(w.mean_s / tail, w.service.mean_s)  # Markov: P(W > E[W] / tail) <= tail
    while w.survival(x_hi) > tail:
        x_hi *= 2.0
    x_lo = w.service.mean_s * 1e-12
    return _illinois(lambda x: math.log(max(w.survival(x), 1e-300) / tail), x_lo, x_hi,
                     math.log(w.survival(x_lo) / tail), math.log(max(w.survival(x_hi), 1e-300) / tail))


def _newton_exponential(w: WaitModel, service: ServiceTime, tail: float, lo: float, hi: float) -> float:
    """Bracketed Newton on ln P(T > t) = ln(tail) for exact M/M/c."""
    mu = 1.0 / service.mean_s
    theta = w.servers * mu * (1.0 - w.rho)
    p = w.delay_probability
    target = math.log(tail)
    t = lo
    for _ in range(100):
        surv = (1.0 - p) * math.exp(-mu * t) + p * _hypoexp_survival(t, mu, theta)
        dens = (1.0 - p) * mu * math.exp(-mu * t) + p * _hypoexp_density(t, mu, theta)
        g = math.log(surv) - target
        if abs(g) < 1e-12:
            return t
        if g > 0:
            lo = t
        else:
            hi = t
        step = g * surv / dens if dens > 0 else math.inf
        nxt = t + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - t) <= 1e-12 * t or hi - lo <= 1e-12 * hi:
            return nxt
        t = nxt
    return t


def response_time_quantiles(qs: Sequence[float], servers: int, arrival_rate_per_s: float,
                            service: ServiceTime) -> list[float]:
    return [response_time_quantile(q, servers, arrival_rate_per_s, service) for q in qs]
