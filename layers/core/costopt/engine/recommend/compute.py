"""Compute sizing (DESIGN §4), shared by the ECS, EC2 and generic recommenders: the usage at today's shape,
the opening every compute plan starts with, predictions at another shape and the replica-count options.

A compute resource is a queueing service of ``replicas`` x (``cores``, ``memory``) (``ComputeShape``).
``open_compute`` is the common opening: today's cost, nothing running -> no options, the usage read at
today's shape (``ComputeUsage.read``), idle -> the idle option alone, else the CPU and memory targets
(``ComputeUsage.targets``). ``count_options`` is the replica-count ladder: the fewest replicas of today's
size that give the CPU target, never below a floor, walked up to today's count (``monotone_ladder``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from costopt.domain.observation import Metric
from costopt.domain.recommendation import Action
from costopt.engine.queueing.capacity import Capacity
from costopt.engine.queueing.latency import QueueLoad, calibrate_residual_ms, model_latency_ms, predict_queue
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.idle import idle_option
from costopt.engine.recommend.ladder import monotone_ladder
from costopt.engine.recommend.readers import error_rate_pct, observed_log_sd, per_second, total
from costopt.engine.recommend.sizing import at_utilization, floor, headroom, size, step
from costopt.engine.sla import (
    DEFAULT_LOG_SD,
    SKETCH_LOG_SD,
    Prediction,
    latency_log_sd,
    scale_cpu_pct,
    scale_memory_pct,
)


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
        """(total cores needed at target utilization, memory needed per replica) -- DESIGN §4 defaults:
        p95 cores used at the target utilization; the max working set x headroom (no memory data: today's)."""
        cores_total = size(self.cpu_p_pct / 100.0 * current.cores * current.replicas,
                           at_utilization(ctx.rs.cpu_target_utilization))
        if self.memory_max_pct is None:
            mem = current.memory
        else:
            mem = size(self.memory_max_pct / 100.0 * current.memory, headroom(ctx.rs.memory_headroom))
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


@dataclass
class Opening:
    """Where a compute plan stands after the common opening. ``usage`` is None when there is nothing to size
    (nothing running, or idle: the plan is complete)."""

    plan: Plan
    current: ComputeShape
    usage: ComputeUsage | None = None
    cores_total: float = 0.0
    """CPU target: total cores at the target utilization."""
    memory: float = 0.0
    """Memory target per replica (in the shape's unit)."""

    def option(self, action: Action, proposed: dict[str, Any], cost_usd: float, shape: ComputeShape,
               note: str, **extra: Any) -> Option:
        """An option that runs ``shape``, predicted from today's usage."""
        assert self.usage is not None
        return Option(action=action, proposed=proposed, monthly_cost_usd=cost_usd,
                      prediction=self.usage.predict(self.current, shape), notes=[note], **extra)


def open_compute(ctx: Context, current: ComputeShape, current_cost: float, *, nothing_running: str,
                 idle_reason: str, target_labels: tuple[str, int, str, int] | None = None) -> Opening:
    """The opening of every compute plan (see the module doc). ``target_labels`` = (cpu key, digits, memory
    key, digits): publish the targets under those percentile keys."""
    if current.replicas == 0:
        return Opening(Plan(current_cost_usd=current_cost, notes=[nothing_running]), current)
    cu = ComputeUsage.read(ctx, current)
    plan = Plan(current_cost_usd=current_cost, percentiles=cu.percentiles, notes=cu.notes)
    if cu.idle:
        plan.options.append(idle_option(ctx, idle_reason))
        return Opening(plan, current)
    cores_total, mem = cu.targets(ctx, current)
    if target_labels is not None:
        cpu_key, cpu_digits, mem_key, mem_digits = target_labels
        plan.percentiles[cpu_key] = round(cores_total, cpu_digits)
        plan.percentiles[mem_key] = round(mem, mem_digits)
    return Opening(plan, current, cu, cores_total, mem)


def count_options(ctx: Context, o: Opening, *, action: Action, minimum: int, propose: Callable[[int], dict[str, Any]],
                  cost: Callable[[int], float], note: Callable[[int], str]) -> list[Option]:
    """The replica-count ladder: from the fewest replicas of today's size that give the CPU target (at least
    ``minimum``) up to today's count, binary-searched for the first SLA-compliant count."""
    need = int(size(o.cores_total / o.current.cores, floor(minimum), step(1)))

    def build(n: int) -> Option:
        return o.option(action, propose(n), cost(n), replace(o.current, replicas=n), note(n))

    return monotone_ladder(ctx, list(range(need, o.current.replicas)), build)


__all__ = ["ComputeShape", "ComputeUsage", "Opening", "count_options", "open_compute"]
