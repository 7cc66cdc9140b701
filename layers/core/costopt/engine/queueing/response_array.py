"""The response time T = S + W element-wise (numpy): survival, the exact solve and the cached quantile tables.

The vectorised counterpart of ``engine.queueing.response`` for the simulation's (horizon_days x
observed_days x 24) grids, with the same formulas; only the simulate path imports it (it imports numpy).
``tests/unit/engine/queueing/test_queueing.py`` checks that both agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.engine.queueing.erlang_array import _erfc_array, erlang_c_array, erlang_c_fast
from costopt.engine.queueing.service import _GL_W, _GL_X, _SQRT2, _SQRT2PI, _Z_LO, ServiceTime, _unit_first_departure

Array = NDArray[np.float64]
ErlangC = Callable[[Any, Any], Array]

@dataclass
class _WaitArrays:
    """``WaitModel`` element-wise (rho < 1 where ``stable``)."""

    servers: Array
    rho: Array
    delay_probability: Array
    first_mean: Array
    queue_mean: Array
    p1: Array
    r1: Array
    p2: Array
    r2: Array
    erlang_k: Array  # 0: H2
    stable: NDArray[np.bool_]


def _wait_arrays(servers: Array, lam: Array, service: ServiceTime, erlang_c: ErlangC) -> _WaitArrays:
    m = service.mean_s
    c = np.maximum(servers, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(c >= 1, lam * m / np.maximum(c, 1.0), np.inf)
    stable = (rho < 1.0) & (c >= 1)
    rho_s = np.where(stable, rho, 0.0)
    cs = np.where(stable, c, 1.0)
    cw = erlang_c(cs, lam * m * stable)
    cw = np.where(stable, cw, 1.0)
    unique = np.unique(cs.astype(np.int64))
    lookup = np.array([_unit_first_departure(int(k), service.scv) for k in unique]).reshape(-1, 2)
    idx = np.searchsorted(unique, cs.astype(np.int64))
    m1, m2 = lookup[idx, 0] * m, lookup[idx, 1] * m * m
    scv_m = np.maximum(0.0, m2 / np.maximum(m1 * m1, 1e-300) - 1.0)
    ey = m * (1.0 + service.scv) / (2.0 * cs * (1.0 - rho_s))
    scv_y = (1.0 - rho_s) * (cw * service.residual_scv + (1.0 - cw) * scv_m) + rho_s
    g_mean = m1 + ey
    g_scv = ((m2 - m1 * m1) + scv_y * ey * ey) / (g_mean * g_mean)
    # H2 where SCV >= 1
    h2 = g_scv >= 1.0
    p1h = 0.5 * (1.0 + np.sqrt(np.maximum(g_scv - 1.0, 0.0) / (g_scv + 1.0)))
    # Erlang(k-1, k) mixture below
    k = np.maximum(2.0, np.ceil(1.0 / np.maximum(g_scv, 1e-3) - 1e-9))
    v = np.maximum(g_scv, 1.0 / k)
    pe = np.maximum(0.0, (k * v - np.sqrt(np.maximum(0.0, k * (1.0 + v) - k * k * v))) / (1.0 + v))
    re = (k - pe) / g_mean
    return _WaitArrays(
        servers=cs, rho=rho_s, delay_probability=cw, first_mean=m1, queue_mean=ey,
        p1=np.where(h2, p1h, pe), r1=np.where(h2, 2.0 * p1h / g_mean, re),
        p2=np.where(h2, 1.0 - p1h, 1.0 - pe), r2=np.where(h2, 2.0 * (1.0 - p1h) / g_mean, re),
        erlang_k=np.where(h2, 0.0, k), stable=stable)


def _erlang_survival_array(n: Array, y: Array) -> Array:
    term = np.ones(y.shape)
    total = np.ones(y.shape)
    nmax = int(n.max()) if n.size else 0
    for j in range(1, nmax):
        term = term * y / j
        total = total + np.where(j < n, term, 0.0)
    return np.where(n > 0, np.exp(-y) * total, 0.0)


def _residual_survival_array(x: Array, service: ServiceTime) -> Array:
    m = service.mean_s
    fam = service.family
    if fam == "deterministic":
        return np.clip(1.0 - x / m, 0.0, 1.0)
    if fam == "exponential":
        return np.exp(-np.maximum(x, 0.0) / m)
    sd, mu = service.log_sd, service.log_mean
    with np.errstate(divide="ignore"):
        lx = np.log(np.maximum(x, 1e-300))
    biased = 0.5 * _erfc_array((lx - mu - sd * sd) / (sd * _SQRT2))
    value = biased - x / m * 0.5 * _erfc_array((lx - mu) / (sd * _SQRT2))
    return np.where(x <= 0, 1.0, np.maximum(value, 0.0))


def _conditional_survival_array(x: Array, w: _WaitArrays, service: ServiceTime) -> Array:
    """P(W > x | W > 0), element-wise (x broadcast against the wait's arrays)."""
    xx = np.maximum(x, 0.0)
    if service.family == "exponential":
        return np.exp(-(w.servers / service.mean_s) * (1.0 - w.rho) * xx)
    first = _residual_survival_array(xx, service) ** w.servers
    h2 = w.erlang_k == 0
    combined_h2 = w.p1 * np.exp(-w.r1 * xx) + w.p2 * np.exp(-w.r2 * xx)
    if bool((~h2).any()):
        combined_e = (w.p1 * _erlang_survival_array(w.erlang_k - 1.0, w.r1 * xx)
                      + w.p2 * _erlang_survival_array(w.erlang_k, w.r2 * xx))
        combined = np.where(h2, combined_h2, combined_e)
    else:
        combined = combined_h2
    return np.where(x <= 0, 1.0, (1.0 - w.rho) * first + w.rho * combined)


def _service_survival_array(t: Array, service: ServiceTime) -> Array:
    m = service.mean_s
    fam = service.family
    if fam == "deterministic":
        return np.where(t < m, 1.0, 0.0)
    if fam == "exponential":
        return np.exp(-np.maximum(t, 0.0) / m)
    with np.errstate(divide="ignore"):
        z = (np.log(np.maximum(t, 1e-300)) - service.log_mean) / (service.log_sd * _SQRT2)
    return np.where(t <= 0, 1.0, 0.5 * _erfc_array(z))


def _lognormal_convolution_array(t: Array, w: _WaitArrays, service: ServiceTime) -> Array:
    """``_lognormal_convolution`` element-wise: nodes along a trailing axis."""
    sd, mu = service.log_sd, service.log_mean
    gx = np.asarray(_GL_X)
    gw = np.asarray(_GL_W)
    half = 0.5 * t

    def density(s: Array) -> Array:
        z = (np.log(s) - mu) / sd
        return np.exp(-0.5 * z * z) / (s * sd * _SQRT2PI)

    sub = _WaitArrays(*(np.asarray(getattr(w, f))[..., None] for f in w.__dataclass_fields__))
    scale = np.minimum(w.first_mean, half)
    x_lo = np.maximum(1e-6 * scale, 1e-12 * t)
    near = x_lo < half
    a = np.log(np.where(near, x_lo, 1.0))
    b = np.log(np.where(near, half, 2.0))
    hw = 0.5 * (b - a)
    x = np.exp(a[..., None] + (gx + 1.0) * hw[..., None])
    tt = t[..., None]
    piece = (gw * hw[..., None] * x * density(np.maximum(tt - x, 1e-300))
             * _conditional_survival_array(x, sub, service)).sum(axis=-1)
    total = np.where(near, x_lo * density(t) + piece, 0.0)
    z_half = (np.log(half) - mu) / sd
    far = z_half > _Z_LO
    hz = 0.5 * (np.where(far, z_half, _Z_LO + 1.0) - _Z_LO)
    z = _Z_LO + (gx + 1.0) * hz[..., None]
    s = np.exp(mu + sd * z)
    piece = (gw * hz[..., None] * np.exp(-0.5 * z * z) / _SQRT2PI
             * _conditional_survival_array(tt - s, sub, service)).sum(axis=-1)
    return total + np.where(far, piece, 0.0)


def _survival_array(t: Array, service: ServiceTime, w: _WaitArrays) -> Array:
    p = w.delay_probability
    m = service.mean_s
    fam = service.family
    if fam == "exponential":
        mu = 1.0 / m
        theta = w.servers * mu * (1.0 - w.rho)
        lo, hi = np.minimum(mu, theta), np.maximum(mu, theta)
        x = (hi - lo) * t
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(x < 1e-12, 1.0, -np.expm1(-x) / np.where(x < 1e-12, 1.0, x))
        hyp = np.exp(-lo * t) * (1.0 + lo * t * h)
        value = (1.0 - p) * np.exp(-mu * t) + p * hyp
    elif fam == "deterministic":
        value = np.where(t < m, 1.0, p * _conditional_survival_array(t - m, w, service))
    else:
        value = _service_survival_array(t, service) + p * _lognormal_convolution_array(t, w, service)
    return np.where(t <= 0, 1.0, value)


def response_time_survival_array(t: Any, servers: Any, arrival_rate_per_s: Any, service: ServiceTime) -> Array:
    """``response_time_survival`` element-wise, with exact Erlang C."""
    tt, c, lam = np.broadcast_arrays(np.asarray(t, dtype=np.float64), np.asarray(servers, dtype=np.float64),
                                     np.asarray(arrival_rate_per_s, dtype=np.float64))
    w = _wait_arrays(np.rint(c), lam, service, erlang_c_array)
    value = _survival_array(tt, service, w)
    value = np.where(lam <= 0, _service_survival_array(tt, service), value)
    return np.where((lam > 0) & ~w.stable, 1.0, value)


def response_time_quantiles_array(servers: Any, arrival_rate_per_s: Any, service: ServiceTime,
                                  qs: Sequence[float]) -> list[Array]:
    """``response_time_quantile`` element-wise over servers and arrival rate, for each q (seconds;
    inf where unstable).

    Linear interpolation in rho on cached per-server-count tables of the scaled quantile
    (1 - rho)·t_q/m (``RESPONSE_GRID`` + 1 points; T/m depends only on servers, rho, SCV and q; the
    last point is the heavy-traffic limit (1 + s)/(2c)·ln(1/(1-q))); agrees with the exact solve
    (``solve_quantiles_array``) to ~1e-4 and suits the simulation's grids, where servers take a few
    integer values."""
    return _quantiles_from_tables(servers, arrival_rate_per_s, service, qs)


def solve_quantiles_array(servers: Any, arrival_rate_per_s: Any, service: ServiceTime, qs: Sequence[float], *,
                          erlang_c: ErlangC = erlang_c_array) -> list[Array]:
    """The quantiles of ``response_time_quantiles_array`` solved, not interpolated: the Illinois method
    on ln t inside the scalar function's bounds, a fixed number of steps (relative precision ~1e-8),
    with ``erlang_c`` (exact by default; the tables are built with ``erlang_c_fast``)."""
    c, lam = np.broadcast_arrays(np.asarray(servers, dtype=np.float64),
                                 np.asarray(arrival_rate_per_s, dtype=np.float64))
    c = np.rint(c)
    shape = c.shape
    if service.mean_s == 0:
        return [np.zeros(shape) for _ in qs]
    w = _wait_arrays(c, lam, service, erlang_c)
    idle = lam <= 0
    mean_wait = w.delay_probability * (w.first_mean + w.rho * w.queue_mean)
    out: list[Array] = []
    for q in qs:
        if not 0 < q < 1:
            raise ValueError("q must be in (0, 1)")
        tail = 1.0 - q
        log_tail = math.log(tail)
        s_q = service.quantile(q)
        lo = np.full(shape, s_q * (1.0 + 1e-12) if service.family == "deterministic" else s_q)
        hi = np.maximum(service.quantile(1.0 - 0.5 * tail) + mean_wait / (0.5 * tail), lo * (1.0 + 1e-9))

        def excess(t: Array, log_tail: float = log_tail) -> Array:
            with np.errstate(divide="ignore"):
                return np.log(np.maximum(_survival_array(t, service, w), 1e-300)) - log_tail

        f_lo = excess(lo)
        busy = w.stable & ~idle & (w.delay_probability > 0) & (f_lo > 0)
        f_hi = excess(hi)
        for _ in range(60):
            grow = busy & (f_hi > 0)
            if not grow.any():
                break
            hi = np.where(grow, hi * 2.0, hi)
            f_hi = np.where(grow, excess(hi), f_hi)
        a, b, fa, fb = np.log(lo), np.log(hi), f_lo, f_hi
        side = np.zeros(shape)
        for _ in range(ILLINOIS_STEPS):
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (a * fb - b * fa) / (fb - fa)
            x = np.where((x > a) & (x < b), x, 0.5 * (a + b))
            fx = excess(np.exp(x))
            up = fx > 0
            a, fa = np.where(up, x, a), np.where(up, fx, fa)
            b, fb = np.where(up, b, x), np.where(up, fb, fx)
            fb = np.where(up & (side == 1), 0.5 * fb, fb)
            fa = np.where(~up & (side == -1), 0.5 * fa, fa)
            side = np.where(up, 1.0, -1.0)
        t = np.where(busy, np.exp(np.where(np.abs(fa) < np.abs(fb), a, b)), lo)
        out.append(np.where(~w.stable & ~idle, np.inf, t))
    return out


ILLINOIS_STEPS = 14


RESPONSE_GRID = 512
_RESPONSE_ROWS: dict[tuple[int, float, float], Any] = {}


def _response_rows(ks: Sequence[int], scv: float, q: float) -> Array:
    """Rows of (1 - rho)·t_q/m on rho = i/RESPONSE_GRID for each server count in ``ks`` (cached)."""
    missing = [k for k in ks if (k, scv, q) not in _RESPONSE_ROWS]
    if missing:
        if len(_RESPONSE_ROWS) + len(missing) > 4096:
            _RESPONSE_ROWS.clear()
        rho = np.arange(RESPONSE_GRID, dtype=np.float64) / RESPONSE_GRID
        kk = np.asarray(missing, dtype=np.float64)[:, None]
        unit = ServiceTime(1.0, scv)
        (t,) = solve_quantiles_array(np.broadcast_to(kk, (len(missing), RESPONSE_GRID)), rho[None, :] * kk, unit,
                                     (q,), erlang_c=erlang_c_fast)
        limit = (1.0 + scv) / (2.0 * kk[:, 0]) * -math.log1p(-q)
        rows = np.hstack([(1.0 - rho)[None, :] * t, limit[:, None]])
        for k, row in zip(missing, rows, strict=True):
            _RESPONSE_ROWS[(k, scv, q)] = row
    return np.stack([_RESPONSE_ROWS[(k, scv, q)] for k in ks])


def _quantiles_from_tables(servers: Any, arrival_rate_per_s: Any, service: ServiceTime,
                           qs: Sequence[float]) -> list[Array]:
    c, lam = np.broadcast_arrays(np.asarray(servers, dtype=np.float64),
                                 np.asarray(arrival_rate_per_s, dtype=np.float64))
    m = service.mean_s
    ki = np.maximum(np.rint(c), 0).astype(np.int64)
    if m == 0 or ki.size == 0:
        return [np.zeros(ki.shape) for _ in qs]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(ki >= 1, lam * m / np.maximum(ki, 1), np.inf)
    stable = rho < 1.0
    present = np.unique(ki[stable & (lam > 0)]) if bool((stable & (lam > 0)).any()) else np.zeros(0, np.int64)
    ks = [int(k) for k in present]
    pos = np.clip(np.where(stable, rho, 0.0), 0.0, 1.0) * RESPONSE_GRID
    i0 = np.minimum(pos.astype(np.int64), RESPONSE_GRID - 1)
    frac = pos - i0
    row_index = (np.searchsorted(present, np.where(stable, ki, present[0])) if ks
                 else np.zeros(ki.shape, dtype=np.int64))
    out: list[Array] = []
    for q in qs:
        if not 0 < q < 1:
            raise ValueError("q must be in (0, 1)")
        s_q = service.quantile(q)
        if ks:
            table = _response_rows(ks, service.scv, q)
            flat = table.ravel()
            base = np.minimum(row_index, len(ks) - 1) * (RESPONSE_GRID + 1) + i0
            scaled = flat[base] * (1.0 - frac) + flat[base + 1] * frac
            with np.errstate(divide="ignore", invalid="ignore"):
                t = scaled * m / (1.0 - np.where(stable, rho, 0.0))
        else:
            t = np.full(ki.shape, s_q)
        t = np.where(lam <= 0, s_q, t)
        out.append(np.where((lam > 0) & ~stable, np.inf, t))
    return out
