"""What every recommender shares: its input (``Context``), its output (``Plan`` of ``Option``s),
usage readers and the compute-sizing helpers of DESIGN §4 (pure, numpy-free).

A recommender takes a ``Context`` (service, resource, its usage, price catalog, strategy) and returns
a ``Plan``: the resource's current monthly cost and its candidate ``Option``s, each with a
``Prediction`` for the SLA engine. Orchestration (``engine.recommend``) checks every option against
the SLA, ranks and filters them. A recommender may return options already known to fail (e.g. the
cheapest candidate of a ladder): they end up under ``rejected`` with the failing clauses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.observation import Metric
from costopt.domain.recommendation import Action, SlaVerdict, Strategy
from costopt.domain.resources import ResourceConfig
from costopt.domain.service import RightsizingPolicy, Service, Sla
from costopt.engine.cost_model import CostInputs, cost_inputs, monthly, usage_stats
from costopt.engine.sla import (
    DEFAULT_LOG_SD,
    SKETCH_LOG_SD,
    Capacity,
    Prediction,
    QueueLoad,
    calibrate_residual_ms,
    evaluate,
    latency_log_sd,
    model_latency_ms,
    predict_queue,
    scale_cpu_pct,
    scale_memory_pct,
)

if TYPE_CHECKING:
    from costopt.observe.usage import ResourceUsage
    from costopt.pricing import Catalog

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
MAX_REJECTED_PER_ACTION = 3


@dataclass
class Context:
    service: Service
    resource: Any  # one of costopt.domain.resources.* (the discriminated Resource union)
    usage: ResourceUsage
    catalog: Catalog
    strategy: Strategy
    cost: CostInputs | None = None
    """The resource's usage and cost model (``engine.cost_model``); built from ``usage`` when not given."""

    def __post_init__(self) -> None:
        if self.cost is None:
            self.cost = cost_inputs(self.resource, usage_stats(self.usage), self.catalog)

    @property
    def model(self) -> CostInputs:
        assert self.cost is not None
        return self.cost

    def monthly(self, config: ResourceConfig | dict[str, Any] | None = None) -> float:
        """Monthly USD (unrounded) of ``config`` (today's when None; a dict is validated as the kind's
        config) under the shared cost model."""
        resolved: ResourceConfig | None = (type(self.resource.config).model_validate(config)
                                           if isinstance(config, dict) else config)
        return monthly(self.resource, self.model, self.catalog, resolved)

    @property
    def sla(self) -> Sla:
        return self.service.sla

    @property
    def rs(self) -> RightsizingPolicy:
        return self.service.policy.rightsizing

    @property
    def q(self) -> float:
        """The sizing percentile as a quantile (0.95 by default)."""
        return self.rs.cpu_percentile / 100.0

    def verdict(self, p: Prediction) -> SlaVerdict:
        return evaluate(self.sla, p, allow_spot=self.service.policy.allow_spot)


@dataclass
class Option:
    action: Action
    proposed: dict[str, Any]
    monthly_cost_usd: float
    prediction: Prediction
    disruptive: bool = False
    auto_applicable: bool = True
    risk_floor: int = 0
    notes: list[str] = field(default_factory=list)
    strategy: Strategy | None = None
    verdict: SlaVerdict | None = None  # filled by the orchestrator (or a ladder that already checked it)
    assumptions: list[str] = field(default_factory=list)  # ids of the assumptions its cost rests on, e.g.
    # "fargate_spot_discount", "generic_unit_price_estimate" (costopt.pricing.catalog); empty = published prices


@dataclass
class Plan:
    current_cost_usd: float
    options: list[Option] = field(default_factory=list)
    percentiles: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- usage readers


def per_second(u: ResourceUsage, metric: Metric, q: float | None = None) -> float | None:
    """A per-period count (requests, errors) as a rate per second: mean, or quantile ``q`` of the periods."""
    s = u.summaries.get(metric)
    if s is None or not s.count:
        return None
    period = u.period_s.get(metric) or 300
    value = s.mean if q is None else s.quantile(q)
    return None if value is None else value / period


def monthly_count(u: ResourceUsage, metric: Metric) -> float | None:
    rate = per_second(u, metric)
    return None if rate is None else rate * SECONDS_PER_MONTH


def total(u: ResourceUsage, metric: Metric) -> float | None:
    s = u.summaries.get(metric)
    return float(s.sum) if s is not None and s.count else None


def error_rate_pct(u: ResourceUsage) -> float | None:
    req, err = total(u, Metric.REQUESTS), total(u, Metric.ERRORS)
    if not req or err is None:
        return None
    return err / req * 100.0


def busy_hour_log_se(u: ResourceUsage, metric: Metric, min_hours: int = 12) -> float | None:
    """The standard error of the lookback's busy-hour level on a log scale: the standard deviation of
    ln(a day's busiest hourly mean) over the days with ``min_hours`` or more hours of data, over the
    square root of their number -- how much the observed peak would move with other days like these
    (the weekly shape inflates it: conservative). None with fewer than 3 such days."""
    peaks: list[float] = []  # the hourly aggregates come sorted by hour: one pass, a day at a time
    day, hours, peak = (0, 0), 0, 0.0  # (month, day): a lookback is shorter than a year
    for agg in u.hourly.get(metric, ()):
        if not agg.count:
            continue
        hour = agg.hour
        if hour.day != day[1] or hour.month != day[0]:
            if hours >= min_hours:
                peaks.append(peak)
            day, hours, peak = (hour.month, hour.day), 0, 0.0
        hours += 1
        value = agg.sum / agg.count
        if value > peak:
            peak = value
    if hours >= min_hours:
        peaks.append(peak)
    logs = [math.log(v) for v in peaks if v > 0]
    if len(logs) < 3:
        return None
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1) / len(logs))


def observed_log_sd(u: ResourceUsage, metric: Metric) -> float:
    """sigma of a prediction read from ``metric``'s lookback: ``busy_hour_log_se``, at least the sketches'
    accuracy; ``DEFAULT_LOG_SD`` when fewer than 3 full days say how much it moves."""
    spread = busy_hour_log_se(u, metric)
    return DEFAULT_LOG_SD if spread is None else max(SKETCH_LOG_SD, spread)


def ceil_to(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


# --------------------------------------------------------------------------- compute sizing


@dataclass(frozen=True)
class ComputeShape:
    """A queueing service: ``replicas`` x (``cores``, ``memory`` in any unit) per replica."""

    replicas: int
    cores: float
    memory: float
    spot: bool = False


@dataclass
class ComputeUsage:
    """What sizing needs from a compute resource's usage at its current shape."""

    cpu_p_pct: float           # the sizing percentile (p95) of CPU utilization
    cpu_p99_pct: float
    memory_max_pct: float | None
    load: QueueLoad | None
    error_rate_pct: float | None
    idle: bool
    percentiles: dict[str, float]
    notes: list[str]
    uncertainty: dict[str, float] = field(default_factory=dict)
    """sigma of the observations the predictions scale, per SLA clause (see ``Prediction.uncertainty``)."""

    @classmethod
    def read(cls, ctx: Context, current: ComputeShape) -> ComputeUsage:
        u, q = ctx.usage, ctx.q
        cpu_p = u.quantile(Metric.CPU_PCT, q) or 0.0
        cpu_99 = u.quantile(Metric.CPU_PCT, 0.99) or cpu_p
        mem_max = u.max(Metric.MEMORY_PCT)
        pct = {f"cpu_p{ctx.rs.cpu_percentile:g}_pct": round(cpu_p, 3), "cpu_p99_pct": round(cpu_99, 3)}
        notes: list[str] = []
        if mem_max is not None:
            pct["memory_max_pct"] = round(mem_max, 3)
        else:
            notes.append("no memory data: memory is never sized below the current allocation")
        cpu_sd = observed_log_sd(u, Metric.CPU_PCT)
        errors = total(u, Metric.ERRORS)
        uncertainty = {"max_cpu_utilization_pct": cpu_sd, "queue_utilization": cpu_sd,
                       "max_memory_utilization_pct": observed_log_sd(u, Metric.MEMORY_PCT),
                       # Poisson counting error of the observed rate
                       "max_error_rate_pct": 1.0 / math.sqrt(errors) if errors else SKETCH_LOG_SD,
                       "latency": observed_log_sd(u, Metric.LATENCY_MS)}
        load: QueueLoad | None = None
        lam_mean = per_second(u, Metric.REQUESTS)
        lam_busy = per_second(u, Metric.REQUESTS, q)
        cpu_mean = u.mean(Metric.CPU_PCT)
        if lam_mean and lam_busy and cpu_mean is not None and cpu_mean > 0:
            s = (cpu_mean / 100.0 * current.cores * current.replicas) / lam_mean
            lat = u.quantile(Metric.LATENCY_MS, q)
            load = QueueLoad(arrival_rate_per_s=lam_busy, cpu_seconds_per_request=s, observed_latency_p99_ms=lat)
            pct[f"requests_p{ctx.rs.cpu_percentile:g}_per_s"] = round(lam_busy, 4)
            pct["cpu_ms_per_request"] = round(s * 1000.0, 3)
            p_label = f"p{ctx.rs.cpu_percentile:g}"
            if lat is not None:
                cap = Capacity(current.replicas, current.cores)
                residual, excess = calibrate_residual_ms(load, cap)
                model = model_latency_ms(load, cap, 0.99)
                pct[f"latency_p99_ms_{p_label}"] = round(lat, 3)
                pct["latency_residual_ms"] = round(residual, 3)
                if not math.isfinite(model):
                    notes.append("latency: the busy-hour load saturates the current config in the queueing model "
                                 "(utilization >= 1): no non-queueing residual can be calibrated")
                elif excess > 0:
                    notes.append(f"latency: the queueing model's p99 at the current config ({model:.1f} ms) exceeds "
                                 f"the observed {lat:.1f} ms by {excess:.1f} ms: no non-queueing residual, so "
                                 "predicted latencies are conservative")
                else:
                    notes.append(f"latency: queueing model (exponential CPU time: its spread is not observed) plus "
                                 f"{residual:.1f} ms of non-queueing time, calibrated at the current config as the "
                                 f"{p_label} of the per-period p99 ({lat:.1f} ms) minus the model's p99 "
                                 f"({model:.1f} ms); p95 uses the same residual")
            else:
                uncertainty["latency"] = DEFAULT_LOG_SD
                notes.append("no latency data: latency is the queueing model's alone (no non-queueing time, "
                             "optimistic)")
        else:
            notes.append("no request/CPU data for a queueing model: latency is not predicted")
        requests_total = total(u, Metric.REQUESTS)
        idle_cpu = ctx.rs.idle_cpu_pct
        # no requests at all is idle (background CPU under 5 % allowed); without request data, CPU alone
        idle = (requests_total == 0 and cpu_99 < max(idle_cpu, 5.0)) if requests_total is not None \
            else cpu_99 < idle_cpu
        return cls(cpu_p_pct=cpu_p, cpu_p99_pct=cpu_99, memory_max_pct=mem_max, load=load,
                   error_rate_pct=error_rate_pct(u), idle=idle, percentiles=pct, notes=notes,
                   uncertainty=uncertainty)

    def targets(self, ctx: Context, current: ComputeShape) -> tuple[float, float]:
        """(total cores needed at target utilization, memory needed per replica) -- DESIGN §4 defaults."""
        cores_total = self.cpu_p_pct / 100.0 * current.cores * current.replicas / ctx.rs.cpu_target_utilization
        if self.memory_max_pct is None:
            mem = current.memory
        else:
            mem = self.memory_max_pct / 100.0 * current.memory * ctx.rs.memory_headroom
        return cores_total, mem

    def predict(self, current: ComputeShape, option: ComputeShape) -> Prediction:
        cur_cap = Capacity(current.replicas, current.cores)
        opt_cap = Capacity(option.replicas, option.cores)
        p = Prediction(
            cpu_utilization_pct=scale_cpu_pct(self.cpu_p99_pct, cur_cap.total_cores, opt_cap.total_cores),
            memory_utilization_pct=(None if self.memory_max_pct is None else
                                    scale_memory_pct(self.memory_max_pct, current.memory, option.memory)),
            error_rate_pct=self.error_rate_pct,
            replicas=option.replicas,
            spot=option.spot,
            reduces_capacity=opt_cap.total_cores < cur_cap.total_cores - 1e-9,
            uncertainty={k: v for k, v in self.uncertainty.items() if k != "latency"},
        )
        if self.load is not None and option.replicas > 0:
            qp = predict_queue(self.load, cur_cap, opt_cap)
            p.rho, p.latency_p95_ms, p.latency_p99_ms = qp.rho, qp.latency_p95_ms, qp.latency_p99_ms
            p.unstable = qp.rho >= 1
            observed = self.uncertainty.get("latency", DEFAULT_LOG_SD)
            calibrated = self.load.observed_latency_p99_ms is not None
            p.uncertainty["latency_p95_ms"] = latency_log_sd(observed, qp.extrapolated_p95 if calibrated else 1.0)
            p.uncertainty["latency_p99_ms"] = latency_log_sd(observed, qp.extrapolated_p99 if calibrated else 1.0)
        return p


T = TypeVar("T")


def ladder(ctx: Context, candidates: Sequence[T], build: Callable[[T], Option],
           max_rejected: int = MAX_REJECTED_PER_ACTION) -> list[Option]:
    """Walk ``candidates`` (best first, e.g. cheapest first) and stop at the first SLA-compliant option.

    Returns the failing options met on the way (at most ``max_rejected``, they become ``rejected``)
    followed by the compliant one, if any. Each returned option carries its verdict.
    """
    out: list[Option] = []
    for cand in candidates:
        opt = build(cand)
        opt.verdict = ctx.verdict(opt.prediction)
        if opt.verdict.compliant:
            out.append(opt)
            return out
        if len(out) < max_rejected:
            out.append(opt)
    return out


def monotone_ladder(ctx: Context, candidates: Sequence[T], build: Callable[[T], Option]) -> list[Option]:
    """Like ``ladder`` when compliance only improves along ``candidates`` (e.g. more replicas):
    binary-searches the first compliant one. Returns the cheapest candidate (if it fails), the one just
    below the first compliant (if it fails and differs), then the first compliant one."""
    if not candidates:
        return []
    checked: dict[int, Option] = {}

    def check(i: int) -> Option:
        if i not in checked:
            opt = build(candidates[i])
            opt.verdict = ctx.verdict(opt.prediction)
            checked[i] = opt
        return checked[i]

    def ok(i: int) -> bool:
        v = check(i).verdict
        return v is not None and v.compliant

    if ok(0):
        return [check(0)]
    lo, hi, first_ok = 1, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(mid):
            first_ok, hi = mid, mid - 1
        else:
            lo = mid + 1
    out = [check(0)]
    if first_ok is not None:
        if first_ok - 1 > 0:
            out.append(check(first_ok - 1))
        out.append(check(first_ok))
    return out
