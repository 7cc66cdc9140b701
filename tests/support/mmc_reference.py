"""Textbook M/M/c, written independently of ``costopt.engine.queueing`` for tests to check it against.

Erlang C by the direct sum (Kleinrock, Queueing Systems I, eq. 3.40), the response time T = S + W of
M/M/c in closed form (S ~ Exp(μ); W = 0 with probability 1 - C, else Exp(cμ - λ)), its quantiles by
plain bisection.
"""

from __future__ import annotations

import math


def erlang_c_sum(c: int, a: float) -> float:
    """P(wait) = [a^c/c! · c/(c-a)] / [Σ_{k<c} a^k/k! + a^c/c! · c/(c-a)] (a < c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_response_survival(t: float, c: int, lam: float, mean_s: float) -> float:
    """P(T > t) = (1-C) e^{-μt} + C (θ e^{-μt} - μ e^{-θt}) / (θ - μ), θ = cμ - λ; when θ = μ the
    sum of the two exponentials is Erlang-2: (1 + μt) e^{-μt}."""
    mu = 1.0 / mean_s
    theta = c * mu - lam
    cw = erlang_c_sum(c, lam * mean_s)
    if theta == mu:
        both = (1 + mu * t) * math.exp(-mu * t)
    else:
        both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
    return (1 - cw) * math.exp(-mu * t) + cw * both


def mmc_response_quantile(q: float, c: int, lam: float, mean_s: float) -> float:
    """The q-quantile of T by bisection on [0, 1e6 · mean]."""
    lo, hi = 0.0, 1e6 * mean_s
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mmc_response_survival(mid, c, lam, mean_s) > 1 - q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
