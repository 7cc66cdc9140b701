"""The SLA engine: will an option keep the service inside its SLA, and how likely is a breach? (DESIGN §4)

Pure and numpy-free (the recommend path must not import numpy).

Latency (queueing services: ECS, EC2, generic; the model is ``engine.queueing.latency``, shared with
the simulation). A request's latency is a queueing part -- the wait
for one of ``c`` parallel servers (replicas x cores) and its CPU service time S -- plus a
non-queueing part (I/O, downstream calls) that does not change with the number of servers. The
queueing part's quantiles come from ``engine.queueing`` (exact M/M/c for exponential service, an
M/G/c decomposition otherwise; within 15% of a discrete-event simulation, see that module) at the
busy-hour arrival rate λ and S = CPU seconds per request. The non-queueing part is calibrated once,
at the current config, as a residual::

    residual = observed p99 - model p99 of the queueing part (current)      (never below 0)
    predicted q-latency (option) = model q-quantile (option) + residual      (q = p95, p99)

No factor multiplies the queueing delay. The observation is the sizing percentile (p95 by default) of
the per-period p99 latency (``Metric.LATENCY_MS``) at the same percentile of the request rate; the
data carry no p95 latency, so the p95 prediction uses the p99 residual (exact when the non-queueing
time is constant; conservative when it varies, as its share of a p99 is larger than of a p95).
When the model's p99 at the current config exceeds the observation, the residual is 0 and the
prediction says so (``QueuePrediction.model_excess_ms``); S is not scaled down to fit, because
utilization (rho = λS/c) comes from the observed CPU, and a smaller S would understate the load.
S's squared coefficient of variation (``QueueLoad.service_scv``) is 1 (exponential) unless known.
rho >= 1 always fails.

Fractional cores: ``engine.queueing.Capacity`` (a replica with k cores is ``max(1, floor(k))``
servers, each at ``k / servers`` of a core, so the service time at that speed is ``S / speed``).

Utilization clauses use the predicted p99 utilization under the option: the observed p99 (CPU) or
max (memory working set) scaled by the ratio of allocations (``scale_cpu_pct``, ``scale_memory_pct``).

Availability: replicas >= ``sla.effective_min_replicas``; no Spot when availability_pct >= 99.95 unless
``policy.allow_spot``. Error rate: the observed rate must stay under the limit (a capacity cut never
lowers it), and an unstable queue (rho >= 1) fails it too.

Breach probability and performance risk
---------------------------------------
Every continuous clause (latency, utilization, queue, error rate, capacity) carries
``breach_probability``: the prediction is treated as the median of a lognormal error with a relative
log-sd sigma per clause (``Prediction.uncertainty``), so for an upper bound::

    p = 1 - Phi(ln(limit / predicted) / sigma)

The producer of a prediction sets sigma (``recommenders.base.ComputeUsage``: latency from the
DES-validated bound of the queueing model scaled by how much of the prediction the model
extrapolates, combined with the standard error of the lookback's busy-hour level; utilization from
that standard error; error rate from Poisson counting error); a clause without one gets
``DEFAULT_LOG_SD``. A clause that cannot be predicted but must be (unstable queue, no latency data
for a capacity cut) has p = 1; rules (min replicas, Spot) have none: they pass or fail.

Performance risk (0 very low ... 4 very high, Compute Optimizer's scale) from the largest breach
probability (``BREACH_PROBABILITY_BANDS``)::

    any clause failing                -> 4
    p >= 20 %                         -> 4   (less than 0.84 sigma of headroom)
    5 % <= p < 20 %                   -> 3   (0.84 - 1.64 sigma)
    1 % <= p < 5 %                    -> 2   (1.64 - 2.33 sigma)
    0.1 % <= p < 1 %                  -> 1   (2.33 - 3.09 sigma)
    p < 0.1 % (or nothing to predict) -> 0

and never below the option's ``risk_floor``. With the latency model's sigma of ln 1.15 a fully
extrapolated latency needs 35 / 28 / 21 / 11 % of margin for risk 0 / 1 / 2 / 3; with the lookback's
few-percent spread of utilization, a few percent. Compute Optimizer publishes no mapping; the edges
are the one-sided 0.1 / 1 / 5 / 20 % tails, so risk 1 (the auto-apply ceiling) means a breach is
less likely than 1 in 100. ``hold_probability`` is the probability that every
clause holds, assuming independent errors: the product of (1 - p), a failing rule counting 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from costopt.domain.recommendation import SlaClauseVerdict, SlaVerdict
from costopt.domain.service import Sla

SPOT_MAX_AVAILABILITY_PCT = 99.95

BREACH_PROBABILITY_BANDS: tuple[tuple[float, int], ...] = ((0.001, 0), (0.01, 1), (0.05, 2), (0.20, 3))
"""(largest breach probability below, risk); at or above the last -> 4. Standard-normal headroom at the
edges: 3.09, 2.33, 1.64 and 0.84 sigma (one-sided 0.1 %, 1 %, 5 % and 20 %)."""

LATENCY_MODEL_LOG_SD = math.log(1.15)
"""The queueing model's error, one sigma: the 15 % bound every case of tests/unit/engine/queueing/test_queueing_des.py
(model and calibrate-then-predict against a DES) meets, taken as one standard deviation (conservative:
the largest measured error there is 9.9 %, most are under 5 %)."""

SKETCH_LOG_SD = 0.01
"""The quantile sketches' relative accuracy (DDSketch, 1 %): the least uncertainty of an observed value."""

DEFAULT_LOG_SD = math.log(1.25)
"""A clause whose producer gives no error model: not measured, an assumption -- wider than the
validated latency bound, so that an unmodelled prediction never looks safer than a modelled one."""

# clauses that are rules, not predictions: no breach probability
_RULE_CLAUSES = frozenset({"min_replicas", "availability_pct"})


# --------------------------------------------------------------------------- latency and utilization


def latency_log_sd(observed_log_sd: float, extrapolated: float) -> float:
    """sigma of a latency prediction: the observation's own spread and the model's validated error on
    the share of the prediction it extrapolates, combined as independent errors."""
    return math.hypot(observed_log_sd, LATENCY_MODEL_LOG_SD * extrapolated)


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

    latency_p95_ms: float | None = None  # queueing part + calibrated residual (``predict_queue``)
    latency_p99_ms: float | None = None
    rho: float | None = None  # offered load per server; >= 1 fails every latency clause
    cpu_utilization_pct: float | None = None  # predicted p99 (``scale_cpu_pct``)
    memory_utilization_pct: float | None = None  # predicted peak per replica (``scale_memory_pct``)
    error_rate_pct: float | None = None  # the observed rate (a capacity cut never lowers it)
    replicas: int | None = None  # against ``sla.effective_min_replicas``
    spot: bool = False  # runs on Spot capacity (the availability rule)
    unstable: bool = False  # the queue cannot keep up, whatever rho says
    reduces_capacity: bool = True
    """When a latency clause has no prediction, a capacity cut fails it (never claim neutrality)."""
    capacity: list[CapacityClause] = field(default_factory=list)
    uncertainty: dict[str, float] = field(default_factory=dict)
    """Relative log-sd sigma of the prediction per clause name; a clause not named gets ``DEFAULT_LOG_SD``."""
    notes: list[str] = field(default_factory=list)


def breach_probability(limit: float, predicted: float, log_sd: float) -> float:
    """P(actual > limit) when actual = predicted x a lognormal error of log-sd ``log_sd``."""
    if predicted <= 0:
        return 0.0
    if limit <= 0 or not math.isfinite(predicted):
        return 1.0
    if log_sd <= 0:
        return 1.0 if predicted > limit else 0.0
    return 0.5 * math.erfc(math.log(limit / predicted) / (log_sd * math.sqrt(2.0)))


def _upper(clause: str, limit: float, predicted: float | None, log_sd: float, *, detail: str | None = None,
           unknown_ok: bool = False) -> SlaClauseVerdict:
    if predicted is None or not math.isfinite(predicted):
        return SlaClauseVerdict(clause=clause, limit=limit, predicted=None, margin_pct=None, ok=unknown_ok,
                                breach_probability=None if unknown_ok else 1.0,
                                detail=detail or ("not modelled" if unknown_ok else "cannot be predicted"))
    margin = (limit - predicted) / limit * 100.0 if limit else (0.0 if predicted <= 0 else -100.0)
    chance = round(breach_probability(limit, predicted, log_sd), 6)
    return SlaClauseVerdict(clause=clause, limit=limit, predicted=round(predicted, 4), margin_pct=round(margin, 2),
                            ok=predicted <= limit, breach_probability=chance, detail=detail)


def evaluate(sla: Sla, p: Prediction, *, allow_spot: bool = False) -> SlaVerdict:
    """A verdict per applicable clause of ``sla`` for the prediction ``p``."""
    clauses: list[SlaClauseVerdict] = []
    unstable = p.unstable or (p.rho is not None and p.rho >= 1)

    def sd(clause: str) -> float:
        return p.uncertainty.get(clause, DEFAULT_LOG_SD)

    for name, limit, predicted in (("latency_p95_ms", sla.latency_p95_ms, p.latency_p95_ms),
                                   ("latency_p99_ms", sla.latency_p99_ms, p.latency_p99_ms)):
        if limit is None:
            continue
        if unstable:
            clauses.append(SlaClauseVerdict(clause=name, limit=limit, predicted=None, ok=False, breach_probability=1.0,
                                            detail="queue unstable (utilization >= 1): latency grows without bound"))
        else:
            clauses.append(_upper(name, limit, predicted, sd(name), unknown_ok=not p.reduces_capacity,
                                  detail=None if predicted is not None else
                                  ("no latency data; capacity unchanged" if not p.reduces_capacity
                                   else "no latency data to show a capacity cut is safe")))
    if p.rho is not None:
        clauses.append(_upper("queue_utilization", 1.0, p.rho, sd("queue_utilization"),
                              detail="offered load per server (rho); >= 1 always fails"))
        if p.rho >= 1:
            clauses[-1] = clauses[-1].model_copy(update={"ok": False})
    if p.cpu_utilization_pct is not None:
        clauses.append(_upper("max_cpu_utilization_pct", sla.max_cpu_utilization_pct, p.cpu_utilization_pct,
                              sd("max_cpu_utilization_pct"), detail="predicted p99 CPU utilization"))
    if p.memory_utilization_pct is not None:
        clauses.append(_upper("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                              p.memory_utilization_pct, sd("max_memory_utilization_pct"),
                              detail="predicted peak memory utilization"))
    if sla.max_error_rate_pct is not None:
        if unstable:
            clauses.append(SlaClauseVerdict(clause="max_error_rate_pct", limit=sla.max_error_rate_pct,
                                            predicted=None, ok=False, breach_probability=1.0,
                                            detail="an unstable queue times out requests"))
        elif p.error_rate_pct is not None:
            clauses.append(_upper("max_error_rate_pct", sla.max_error_rate_pct, p.error_rate_pct,
                                  sd("max_error_rate_pct"), detail="observed error rate over the lookback"))
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
        clauses.append(_upper(cap.clause, cap.limit, cap.predicted, sd(cap.clause), detail=cap.detail))
    return SlaVerdict(compliant=all(c.ok for c in clauses), clauses=clauses)


def largest_breach_probability(verdict: SlaVerdict) -> float | None:
    """The largest breach probability of the continuous clauses (None when none carries one)."""
    probs = [c.breach_probability for c in verdict.clauses
             if c.clause not in _RULE_CLAUSES and c.breach_probability is not None]
    return max(probs) if probs else None


def hold_probability(verdict: SlaVerdict) -> float:
    """Probability that every clause holds, the clauses' errors taken as independent: the product of
    (1 - breach probability); a clause without one counts 1 when it passes, 0 when it fails."""
    hold = 1.0
    for c in verdict.clauses:
        if c.breach_probability is not None:
            hold *= 1.0 - c.breach_probability
        elif not c.ok:
            return 0.0
    return hold


def risk_of_breach_probability(p: float | None) -> int:
    """0 (very low) ... 4 (very high) for the largest breach probability; see ``BREACH_PROBABILITY_BANDS``."""
    if p is None:
        return 0
    for below, band in BREACH_PROBABILITY_BANDS:
        if p < below:
            return band
    return 4


def performance_risk(verdict: SlaVerdict, floor: int = 0) -> int:
    """0 (very low) ... 4 (very high): 4 when a clause fails, else from the largest breach probability
    (module doc), never below ``floor``."""
    risk = 4 if not verdict.compliant else risk_of_breach_probability(largest_breach_probability(verdict))
    return max(risk, min(4, floor))


def failed_clauses(verdicts: Sequence[SlaClauseVerdict]) -> list[str]:
    return [c.clause for c in verdicts if not c.ok]
