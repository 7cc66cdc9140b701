"""The SLA engine: will an option keep the service inside its SLA? (DESIGN §4)

Pure and numpy-free (the recommend path must not import numpy).

Latency (queueing services: ECS, EC2, generic). A service with ``c`` parallel servers
(replicas x cores), arrival rate ``λ`` in the busy hours and a mean per-request service
time ``S`` behaves as M/M/c. Erlang C gives the probability that a request waits and the
q-quantile of the wait::

    W_q(q) = ln(C(c, λS) / (1 - q)) / (c/S - λ)      (0 when the log is negative)

and the model's latency quantile is ``S + W_q(q)``. The model is calibrated once against
the observed p99 at the current config: ``factor = observed p99 / model p99 (current)``,
and every option's model latency is multiplied by that factor (conservative: I/O time the
model does not see is scaled along with the queueing delay). rho = λS/c ≥ 1 always fails.

Fractional cores: a replica with k cores is ``max(1, floor(k))`` servers, each running at
``k / servers`` of a core, so the service time at that speed is ``S / speed``.

Utilization clauses use the predicted p99 utilization under the option: the observed p99
(CPU) or max (memory working set) scaled by the ratio of allocations (see ``scale_cpu_pct``
and ``scale_memory_pct``).

Availability: replicas ≥ ``sla.effective_min_replicas``; no Spot when availability_pct ≥
99.95 unless ``policy.allow_spot``. Error rate: the observed rate must stay under the limit
(a capacity cut never lowers it), and an unstable queue (rho ≥ 1) fails it too.

Performance risk (0 very low … 4 very high, as Compute Optimizer) from the smallest margin of
the *continuous* clauses (latency, utilization, queue, error rate, capacity):

    any clause failing          -> 4
    smallest margin < 3 %       -> 4
    3 % ≤ margin < 10 %         -> 3
    10 % ≤ margin < 25 %        -> 2
    25 % ≤ margin < 40 %        -> 1
    margin ≥ 40 % (or no margin) -> 0

Availability clauses (min replicas, Spot) are rules, not margins: they pass or fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from costopt.domain.recommendation import SlaClauseVerdict, SlaVerdict
from costopt.domain.service import Sla

SPOT_MAX_AVAILABILITY_PCT = 99.95
RISK_BANDS: tuple[tuple[float, int], ...] = ((40.0, 0), (25.0, 1), (10.0, 2), (3.0, 3))
"""(smallest margin % at least, risk); below the last band -> 4."""

# clauses whose margin feeds performance_risk
_RULE_CLAUSES = frozenset({"min_replicas", "availability_pct"})


# --------------------------------------------------------------------------- queueing math


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
    """Probability that an arrival waits in M/M/c with offered load ``a = λS`` (Erlangs).

    From Erlang B: C = B / (1 - rho(1 - B)), rho = a/c. Returns 1.0 when rho ≥ 1 (every arrival waits).
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


def wait_quantile_ms(c: int, lam: float, s: float, q: float) -> float:
    """q-quantile of the M/M/c waiting time, in ms, for λ per second and S in seconds.

    ``ln(C/(1-q)) / (c/S - λ)`` clipped at 0; ``math.inf`` when the queue is unstable (rho ≥ 1).
    """
    if not 0 < q < 1:
        raise ValueError("q must be in (0, 1)")
    if s <= 0 or lam <= 0:
        return 0.0
    rate = c / s - lam
    if rate <= 0:
        return math.inf
    cw = erlang_c(c, lam * s)
    if cw <= 1 - q:
        return 0.0
    return max(0.0, math.log(cw / (1 - q)) / rate) * 1000.0


# --------------------------------------------------------------------------- load and capacity


@dataclass(frozen=True)
class Capacity:
    """What a config gives the queue: ``replicas`` copies of ``cores`` each."""

    replicas: int
    cores: float

    @property
    def servers_per_replica(self) -> int:
        return max(1, math.floor(self.cores + 1e-9))

    @property
    def servers(self) -> int:
        return self.replicas * self.servers_per_replica

    @property
    def speed(self) -> float:
        """Fraction of a core each server runs at."""
        return self.cores / self.servers_per_replica

    @property
    def total_cores(self) -> float:
        return self.replicas * self.cores


@dataclass(frozen=True)
class QueueLoad:
    """The observed load of a queueing service at its current config."""

    arrival_rate_per_s: float
    """λ in the busy hours."""
    cpu_seconds_per_request: float
    """S at the speed of one full core."""
    observed_latency_p99_ms: float | None = None


@dataclass(frozen=True)
class QueuePrediction:
    rho: float
    latency_p95_ms: float | None  # None when unstable
    latency_p99_ms: float | None
    calibration: float


def model_latency_ms(load: QueueLoad, cap: Capacity, q: float) -> float:
    """Uncalibrated ``S + W_q(q)`` in ms at ``cap`` (inf when unstable)."""
    if cap.servers < 1:
        return math.inf
    s = load.cpu_seconds_per_request / cap.speed
    return s * 1000.0 + wait_quantile_ms(cap.servers, load.arrival_rate_per_s, s, q)


def utilization(load: QueueLoad, cap: Capacity) -> float:
    if cap.total_cores <= 0:
        return math.inf if load.arrival_rate_per_s > 0 else 0.0
    return load.arrival_rate_per_s * load.cpu_seconds_per_request / cap.total_cores


def predict_queue(load: QueueLoad, current: Capacity, option: Capacity) -> QueuePrediction:
    """Latency quantiles at ``option``, calibrated on the observed p99 at ``current``."""
    calibration = 1.0
    if load.observed_latency_p99_ms and load.observed_latency_p99_ms > 0:
        base = model_latency_ms(load, current, 0.99)
        if 0 < base < math.inf:
            calibration = load.observed_latency_p99_ms / base
    rho = utilization(load, option)
    if rho >= 1:
        return QueuePrediction(rho=rho, latency_p95_ms=None, latency_p99_ms=None, calibration=calibration)
    return QueuePrediction(
        rho=rho,
        latency_p95_ms=model_latency_ms(load, option, 0.95) * calibration,
        latency_p99_ms=model_latency_ms(load, option, 0.99) * calibration,
        calibration=calibration,
    )


def scale_cpu_pct(observed_p99_pct: float, current_total_cores: float, option_total_cores: float) -> float:
    """CPU utilization under the option: same work spread over the option's cores."""
    if option_total_cores <= 0:
        return math.inf
    return observed_p99_pct * current_total_cores / option_total_cores


def scale_memory_pct(observed_pct: float, current_per_replica: float, option_per_replica: float) -> float:
    """Memory utilization per replica: the working set stays, the allocation changes."""
    if option_per_replica <= 0:
        return math.inf
    return observed_pct * current_per_replica / option_per_replica


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class CapacityClause:
    """A resource-specific capacity limit, e.g. provisioned IOPS vs observed p99 IOPS."""

    clause: str
    limit: float
    predicted: float
    detail: str | None = None


@dataclass
class Prediction:
    """What an option is predicted to do; ``None`` means not modelled / not applicable."""

    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    rho: float | None = None
    cpu_utilization_pct: float | None = None
    memory_utilization_pct: float | None = None
    error_rate_pct: float | None = None
    replicas: int | None = None
    spot: bool = False
    unstable: bool = False
    reduces_capacity: bool = True
    """When a latency clause has no prediction, a capacity cut fails it (never claim neutrality)."""
    capacity: list[CapacityClause] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _upper(clause: str, limit: float, predicted: float | None, *, detail: str | None = None,
           unknown_ok: bool = False) -> SlaClauseVerdict:
    if predicted is None or not math.isfinite(predicted):
        return SlaClauseVerdict(clause=clause, limit=limit, predicted=None, margin_pct=None, ok=unknown_ok,
                                detail=detail or ("not modelled" if unknown_ok else "cannot be predicted"))
    margin = (limit - predicted) / limit * 100.0 if limit else (0.0 if predicted <= 0 else -100.0)
    return SlaClauseVerdict(clause=clause, limit=limit, predicted=round(predicted, 4), margin_pct=round(margin, 2),
                            ok=predicted <= limit, detail=detail)


def evaluate(sla: Sla, p: Prediction, *, allow_spot: bool = False) -> SlaVerdict:
    """A verdict per applicable clause of ``sla`` for the prediction ``p``."""
    clauses: list[SlaClauseVerdict] = []
    unstable = p.unstable or (p.rho is not None and p.rho >= 1)
    for name, limit, predicted in (("latency_p95_ms", sla.latency_p95_ms, p.latency_p95_ms),
                                   ("latency_p99_ms", sla.latency_p99_ms, p.latency_p99_ms)):
        if limit is None:
            continue
        if unstable:
            clauses.append(SlaClauseVerdict(clause=name, limit=limit, predicted=None, ok=False,
                                            detail="queue unstable (utilization >= 1): latency grows without bound"))
        else:
            clauses.append(_upper(name, limit, predicted, unknown_ok=not p.reduces_capacity,
                                  detail=None if predicted is not None else
                                  ("no latency data; capacity unchanged" if not p.reduces_capacity
                                   else "no latency data to show a capacity cut is safe")))
    if p.rho is not None:
        clauses.append(_upper("queue_utilization", 1.0, p.rho,
                              detail="M/M/c offered load per server; >= 1 always fails"))
        if p.rho >= 1:
            clauses[-1] = clauses[-1].model_copy(update={"ok": False})
    if p.cpu_utilization_pct is not None:
        clauses.append(_upper("max_cpu_utilization_pct", sla.max_cpu_utilization_pct, p.cpu_utilization_pct,
                              detail="predicted p99 CPU utilization"))
    if p.memory_utilization_pct is not None:
        clauses.append(_upper("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                              p.memory_utilization_pct, detail="predicted peak memory utilization"))
    if sla.max_error_rate_pct is not None:
        if unstable:
            clauses.append(SlaClauseVerdict(clause="max_error_rate_pct", limit=sla.max_error_rate_pct,
                                            predicted=None, ok=False, detail="an unstable queue times out requests"))
        elif p.error_rate_pct is not None:
            clauses.append(_upper("max_error_rate_pct", sla.max_error_rate_pct, p.error_rate_pct,
                                  detail="observed error rate over the lookback"))
    if p.replicas is not None:
        need = sla.effective_min_replicas
        clauses.append(SlaClauseVerdict(
            clause="min_replicas", limit=need, predicted=p.replicas,
            margin_pct=round((p.replicas - need) / need * 100.0, 2) if need else None,
            ok=p.replicas >= need, detail="replicas >= min_replicas (2 by default when availability >= 99.9)"))
    if p.spot and sla.availability_pct is not None and sla.availability_pct >= SPOT_MAX_AVAILABILITY_PCT:
        clauses.append(SlaClauseVerdict(
            clause="availability_pct", limit=sla.availability_pct, predicted=None, ok=allow_spot,
            detail="Spot capacity can be reclaimed; allowed at this availability only with policy.allow_spot"))
    for cap in p.capacity:
        clauses.append(_upper(cap.clause, cap.limit, cap.predicted, detail=cap.detail))
    return SlaVerdict(compliant=all(c.ok for c in clauses), clauses=clauses)


def smallest_margin(verdict: SlaVerdict) -> float | None:
    margins = [c.margin_pct for c in verdict.clauses if c.clause not in _RULE_CLAUSES and c.margin_pct is not None]
    return min(margins) if margins else None


def performance_risk(verdict: SlaVerdict, floor: int = 0) -> int:
    """0 (very low) … 4 (very high) from the smallest margin; see the module doc for the bands."""
    if not verdict.compliant:
        return 4
    margin = smallest_margin(verdict)
    risk = 0
    if margin is not None:
        risk = 4
        for at_least, band in RISK_BANDS:
            if margin >= at_least:
                risk = band
                break
    return max(risk, min(4, floor))


def failed_clauses(verdicts: Sequence[SlaClauseVerdict]) -> list[str]:
    return [c.clause for c in verdicts if not c.ok]
