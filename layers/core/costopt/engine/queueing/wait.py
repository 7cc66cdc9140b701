"""The wait W of an arrival at c servers: Erlang B / C and the M/G/c decomposition of W's law.

Part of ``engine.queueing`` (the model: that package's doc). Pure Python, no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from costopt.engine.queueing.service import ServiceTime, _unit_first_departure

# =========================================================================== Erlang B / C


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability, by the stable recursion B(k) = a·B(k-1) / (k + a·B(k-1))."""
    if c < 0:
        raise ValueError("c must be >= 0")
    if a < 0:
        raise ValueError("offered load must be >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a = λm`` (Erlangs).

    From Erlang B: C = B / (1 - rho(1 - B)), rho = a/c. Returns 1.0 when rho >= 1 (every arrival waits).
    """
    if c < 1:
        raise ValueError("c must be >= 1")
    if a <= 0:
        return 0.0
    rho = a / c
    if rho >= 1:
        return 1.0
    b = erlang_b(c, a)
    return b / (1.0 - rho * (1.0 - b))


# =========================================================================== the wait


def _phase_type(mean: float, scv: float) -> tuple[tuple[float, float, float, float], int]:
    """Two-moment phase-type fit (Tijms): ((p1, rate1, p2, rate2), 0) balanced-means H2 for SCV >= 1;
    ((p, rate, 1-p, rate), k) a mixture of Erlang(k-1) w.p. p and Erlang(k) for SCV < 1."""
    if scv >= 1.0:
        p1 = 0.5 * (1.0 + math.sqrt((scv - 1.0) / (scv + 1.0)))
        return (p1, 2.0 * p1 / mean, 1.0 - p1, 2.0 * (1.0 - p1) / mean), 0
    k = max(2, math.ceil(1.0 / max(scv, 1e-3) - 1e-9))
    v = max(scv, 1.0 / k)
    p = max(0.0, (k * v - math.sqrt(max(0.0, k * (1.0 + v) - k * k * v))) / (1.0 + v))
    rate = (k - p) / mean
    return (p, rate, 1.0 - p, rate), k


def _erlang_survival(n: int, y: float) -> float:
    """P(Erlang(n, 1) > y) = e^{-y} Σ_{j<n} y^j / j!."""
    if n <= 0:
        return 0.0
    term = total = 1.0
    for j in range(1, n):
        term *= y / j
        total += term
    return math.exp(-y) * total


@dataclass(frozen=True)
class WaitModel:
    """The wait W of an arrival at ``servers`` servers (see the module doc); rho < 1."""

    servers: int
    rho: float
    delay_probability: float
    """Erlang C: P(W > 0)."""
    service: ServiceTime
    first_departure_mean_s: float
    """E[M_c]: the first of c departures, the minimum of c equilibrium residual service times."""
    first_departure_scv: float
    queue_ahead_mean_s: float
    """E[Y], the wait for the queue ahead when there is one (probability rho): m(1+s) / (2c(1-rho))."""
    queue_ahead_scv: float
    """SCV(Y) = (1-rho)·[C·SCV(R) + (1-C)·SCV(M_c)] + rho."""
    combined_phases: tuple[float, float, float, float] = (1.0, 1.0, 0.0, 1.0)
    """M_c + Y as (p1, rate1, p2, rate2): an H2, or Erlang(k-1) w.p. p1 and Erlang(k) (same rate)."""
    combined_erlang_k: int = 0
    """k of the Erlang mixture; 0: the H2."""

    @property
    def mean_s(self) -> float:
        """E[W] = C (E[M_c] + rho E[Y])."""
        return self.delay_probability * (self.first_departure_mean_s + self.rho * self.queue_ahead_mean_s)

    def _combined_survival(self, x: float) -> float:
        """P(M_c + Y > x) by the phase-type fit."""
        p1, r1, p2, r2 = self.combined_phases
        if self.combined_erlang_k == 0:
            return p1 * math.exp(-r1 * x) + p2 * math.exp(-r2 * x)
        k = self.combined_erlang_k
        return p1 * _erlang_survival(k - 1, r1 * x) + p2 * _erlang_survival(k, r2 * x)

    def conditional_survival(self, x: float) -> float:
        """P(W > x | W > 0)."""
        if x <= 0:
            return 1.0
        if self.service.family == "exponential":
            return math.exp(-(self.servers / self.service.mean_s) * (1.0 - self.rho) * x)
        first = self.service.residual_survival(x) ** self.servers
        return (1.0 - self.rho) * first + self.rho * self._combined_survival(x)

    def survival(self, x: float) -> float:
        """P(W > x)."""
        if x < 0:
            return 1.0
        return self.delay_probability * self.conditional_survival(x)


@lru_cache(maxsize=4096)
def wait_model(servers: int, arrival_rate_per_s: float, service: ServiceTime) -> WaitModel | None:
    """The wait at ``servers`` servers, or None when the queue is unstable (rho >= 1)."""
    if servers < 1:
        return None
    m = service.mean_s
    a = arrival_rate_per_s * m
    rho = a / servers
    if rho >= 1:
        return None
    cw = erlang_c(servers, a)
    unit_m1, unit_m2 = _unit_first_departure(servers, service.scv)
    m1, m2 = unit_m1 * m, unit_m2 * m * m
    scv_m = max(0.0, m2 / (m1 * m1) - 1.0) if m1 > 0 else 1.0
    ey = m * (1.0 + service.scv) / (2.0 * servers * (1.0 - rho)) if m > 0 else 0.0
    scv_y = (1.0 - rho) * (cw * service.residual_scv + (1.0 - cw) * scv_m) + rho
    g_mean = m1 + ey
    g_var = (m2 - m1 * m1) + scv_y * ey * ey
    phase, k = _phase_type(g_mean, g_var / (g_mean * g_mean)) if g_mean > 0 else ((1.0, 1.0, 0.0, 1.0), 0)
    return WaitModel(servers=servers, rho=rho, delay_probability=cw, service=service,
                     first_departure_mean_s=m1, first_departure_scv=scv_m, queue_ahead_mean_s=ey,
                     queue_ahead_scv=scv_y, combined_phases=phase, combined_erlang_k=k)
