"""The latency of a queueing service: the queueing part at a capacity plus a residual calibrated at today's.

A request's latency is a queueing part -- the wait for one of ``c`` parallel servers (replicas x
cores) and its CPU service time S (``response``) -- plus a non-queueing part (I/O, downstream calls)
that does not change with the number of servers, calibrated once, at the current config, as a
residual::

    residual = observed p99 - model p99 of the queueing part (current)      (never below 0)
    predicted q-latency (option) = model q-quantile (option) + residual      (q = p95, p99)

No factor multiplies the queueing delay. When the model's p99 at the current config exceeds the
observation, the residual is 0 and the prediction says so (the model excess). rho = λS / total cores;
rho >= 1 is unstable. The SLA engine predicts with this module (scalar, at the busy hour); the
simulation with ``latency_array`` (the same calibration over every observed hour, the median gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costopt.engine.queueing.capacity import Capacity
from costopt.engine.queueing.response import response_time_quantile
from costopt.engine.queueing.service import ServiceTime


def split_gap(gap_ms: float) -> tuple[float, float]:
    """(residual, model excess) of observed - model p99: the gap when positive, else 0 and by how much
    the model overshoots."""
    return (gap_ms, 0.0) if gap_ms >= 0 else (0.0, -gap_ms)


@dataclass(frozen=True, kw_only=True)
class QueueLoad:
    """The observed load of a queueing service at its current config: λ, S (mean and SCV), the latency."""

    arrival_rate_per_s: float
    """λ in the busy hours."""
    cpu_seconds_per_request: float
    """S at the speed of one full core."""
    service_scv: float = 1.0
    """Squared coefficient of variation of S: 1 (exponential) unless known. CloudWatch's per-period
    statistics carry only the mean CPU per request; the SCV would come from a per-request
    distribution -- tracing / APM spans or a profiler's per-request CPU histogram (0: deterministic,
    4: lognormal with CV 2)."""
    observed_latency_p99_ms: float | None = None
    """The busy-hour observation of the per-period p99 latency the residual is calibrated on (None: none)."""

    @property
    def service(self) -> ServiceTime:
        return ServiceTime(self.cpu_seconds_per_request, self.service_scv)


@dataclass(frozen=True)
class QueuePrediction:
    rho: float
    latency_p95_ms: float | None  # None when unstable
    latency_p99_ms: float | None
    residual_ms: float
    """The non-queueing time calibrated at the current config (>= 0), added to every quantile."""
    model_excess_ms: float = 0.0
    """By how much the model's p99 at the current config exceeds the observation (the residual is then 0)."""
    extrapolated_p95: float = 0.0
    """|model p95 (option) - model p95 (current)| / predicted p95: the share of the prediction the
    queueing model extrapolates from today's observation (0 at today's capacity)."""
    extrapolated_p99: float = 0.0


def model_latency_ms(load: QueueLoad, cap: Capacity, q: float) -> float:
    """The model's q-quantile of the queueing part (wait + CPU service) in ms at ``cap`` (inf when unstable)."""
    if cap.servers < 1:
        return math.inf
    service = load.service.at_speed(cap.speed)
    return response_time_quantile(q, cap.servers, load.arrival_rate_per_s, service) * 1000.0


def utilization(load: QueueLoad, cap: Capacity) -> float:
    if cap.total_cores <= 0:
        return math.inf if load.arrival_rate_per_s > 0 else 0.0
    return load.arrival_rate_per_s * load.cpu_seconds_per_request / cap.total_cores


def calibrate_residual_ms(load: QueueLoad, current: Capacity) -> tuple[float, float]:
    """(residual, model excess) in ms at the current config: residual = observed p99 - model p99 when
    positive; otherwise 0, and the excess says by how much the model overshoots the observation."""
    observed = load.observed_latency_p99_ms
    if observed is None or not observed > 0:
        return 0.0, 0.0
    model = model_latency_ms(load, current, 0.99)
    if not math.isfinite(model):
        return 0.0, 0.0
    return split_gap(observed - model)


def predict_queue(load: QueueLoad, current: Capacity, option: Capacity) -> QueuePrediction:
    """Latency quantiles at ``option``: the model's queueing part plus the residual calibrated at ``current``."""
    residual, excess = calibrate_residual_ms(load, current)
    rho = utilization(load, option)
    if rho >= 1:
        return QueuePrediction(rho=rho, latency_p95_ms=None, latency_p99_ms=None, residual_ms=residual,
                               model_excess_ms=excess)
    out: dict[str, float] = {}
    for name, q in (("p95", 0.95), ("p99", 0.99)):
        at_option = model_latency_ms(load, option, q)
        predicted = at_option + residual
        today = model_latency_ms(load, current, q)
        out[name] = predicted
        share = abs(at_option - today) / predicted if predicted > 0 and math.isfinite(today) else 1.0
        out[f"extrapolated_{name}"] = min(1.0, share)
    return QueuePrediction(rho=rho, latency_p95_ms=out["p95"], latency_p99_ms=out["p99"], residual_ms=residual,
                           model_excess_ms=excess, extrapolated_p95=out["extrapolated_p95"],
                           extrapolated_p99=out["extrapolated_p99"])
