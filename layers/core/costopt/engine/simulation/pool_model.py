"""The pool model of the simulation (ECS, generic, EC2): replicas per hour, their cost, and the queue's SLA.

CPU demand (cores) = observed CPU% x the current allocation x traffic; with autoscaling (min/max set)
replicas = ceil(demand / (cores x target utilization)) within [min, max], the target solved so that
the observed history reproduces the tasks/replicas the cost model (and the bill) says run on average;
otherwise the fixed count, priced at the model's average share of it; cost = replicas x the
per-replica hourly price (Fargate Spot at the catalog's discount). EC2 is a pool of one instance
(priced for the model's running hours). Latency p95/p99 = the queueing part's quantile
(``engine.queueing``: exact M/M/c, the CPU time per request taken as exponential) at the hour's
servers and arrival rate + a non-queueing residual calibrated once at the current config (the median
over the observed hours of observed p99 - model p99, never below 0; ``engine.sla`` calibrates at the
busy hours instead, having only the lookback's quantiles). Error rate: the observed rate, plus the
shed share when rho >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.domain.observation import Metric
from costopt.domain.resources import (
    CPU_UNITS_PER_VCPU,
    Ec2Config,
    EcsConfig,
    GenericConfig,
    ResourceConfig,
    ResourceKind,
)
from costopt.domain.service import Sla
from costopt.engine.cost_model import CostInputs, autoscaled_shape
from costopt.engine.queueing import Capacity, ServiceTime
from costopt.engine.queueing.latency_array import calibrate_residual_array, model_latency_ms_array
from costopt.engine.simulation.grid import Clause, Evaluation, Grid, Prepared, ServiceTerms, safe_div, scheduled
from costopt.engine.simulation.history import History
from costopt.engine.simulation.plan import ResourcePlan, Variant
from costopt.engine.sla import SPOT_MAX_AVAILABILITY_PCT
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import fargate_hourly, generic_unit_prices, instance_type


@dataclass
class Pool:
    """A config as replicas of one ``Capacity``: the count (fixed, or autoscaled within [lo, hi]) and the
    per-replica prices."""

    count: Any  # fixed replicas per hour: scalar or (hours,)
    lo: Any
    hi: Any
    autoscaled: bool
    replica: Capacity  # one replica: its cores, as servers of the queue
    memory_gb: float
    lines: dict[str, float]  # per replica-hour
    running: Any = 1.0  # EC2 off-hours stop: (hours,) 0/1

    @property
    def cores(self) -> float:
        return self.replica.cores


def pool_of(kind: str, cfg: ResourceConfig, catalog: Catalog, off: Mapping[str, Any] | None = None,
            mask: NDArray[np.bool_] | None = None) -> Pool:
    """The pool a config runs (``off`` / ``mask``: its off-hours overrides)."""
    off = off or {}
    if kind == ResourceKind.ECS_SERVICE and isinstance(cfg, EcsConfig):
        prices = catalog.fargate.architectures[cfg.architecture]
        factor = (1.0 - catalog.fargate.spot_discount) if cfg.capacity == "spot" else 1.0
        fargate_hourly(catalog, cfg.cpu_units, cfg.memory_mb, cfg.architecture, cfg.capacity)  # validates
        shape = autoscaled_shape(cfg)
        autoscaled, lo = shape is not None, (shape.lo if shape is not None else 1)
        return Pool(
            count=scheduled(cfg.desired_count, off.get("desired_count"), mask),
            lo=scheduled(lo, off.get("min_count"), mask), hi=cfg.max_count, autoscaled=autoscaled,
            replica=Capacity(1, cfg.cpu_units / CPU_UNITS_PER_VCPU), memory_gb=cfg.memory_mb / 1024.0,
            lines={"vcpu": cfg.cpu_units / CPU_UNITS_PER_VCPU * prices.usd_per_vcpu_hour * factor,
                   "memory": cfg.memory_mb / 1024.0 * prices.usd_per_gb_hour * factor})
    if kind == ResourceKind.GENERIC and isinstance(cfg, GenericConfig):
        shape = autoscaled_shape(cfg)
        autoscaled, lo = shape is not None, (shape.lo if shape is not None else 1)
        unit = generic_unit_prices(cfg, catalog)  # unset prices: the labelled Fargate estimate
        return Pool(
            count=scheduled(cfg.replicas, off.get("replicas"), mask),
            lo=scheduled(lo, off.get("min_replicas"), mask), hi=cfg.max_replicas, autoscaled=autoscaled,
            replica=Capacity(1, cfg.cpu_cores), memory_gb=cfg.memory_gb,
            lines={"cpu": cfg.cpu_cores * unit.core_hour_usd,
                   "memory": cfg.memory_gb * unit.gb_hour_usd})
    if kind == ResourceKind.EC2_INSTANCE and isinstance(cfg, Ec2Config):
        it = instance_type(catalog, cfg.instance_type)
        running = scheduled(1.0, 0.0 if off.get("running") is False else None, mask)
        return Pool(count=1, lo=1, hi=1, autoscaled=False, replica=Capacity(1, float(it.vcpu)), memory_gb=it.memory_gib,
                    lines={"compute": it.hourly_usd}, running=running)
    raise TypeError(f"{kind} is not a pool")


def prepare_pool(rp: ResourcePlan, history: History, catalog: Catalog, cost: CostInputs) -> Prepared:
    """CPU seconds per request, the autoscaling target and the latency residual, from the whole history."""
    rid = rp.resource_id
    prep = Prepared(cost=cost)
    ref = pool_of(rp.resource.kind, rp.resource.config, catalog)
    cpu, req = history.get(rid, Metric.CPU_PCT), history.get(rid, Metric.REQUESTS)
    if cpu is None:
        prep.notes.append("no CPU data: utilization, replicas under autoscaling and latency are not modelled")
        return prep
    demand = cpu / 100.0 * float(ref.count) * ref.cores  # cores, (days, 24)
    if ref.autoscaled and ref.count > 0 and cost.scaling is not None:
        # The service's own scaling policy is unknown: the cost model solved the utilization it must hold
        # for the observed load to run the tasks it runs on average (today's count, or the bill's), and the
        # recommender prices options with that same autoscaler, so the baseline reproduces today's fleet.
        prep.autoscale_target = cost.scaling.target
        prep.notes.append(f"autoscaling modelled at {cost.scaling.target:.1%} CPU utilization: the observed "
                          f"load then runs {cost.scaling.mean_replicas:.2f} tasks on average, as the cost "
                          "model (and the bill) say")
    if req is None or float(req.sum()) <= 0:
        return prep
    s = float(demand.sum() * 3600.0 / req.sum())
    if s <= 0:
        return prep
    prep.cpu_s_per_request = s
    lat = history.get(rid, Metric.LATENCY_MS)
    if lat is not None:
        # the SLA engine's calibration, hour by hour: residual = observed p99 - model p99 of the queueing
        # part at the current config; the median over the hours where both exist, never below 0
        (model_ms,) = model_latency_ms_array(float(ref.count), ref.replica, req / 3600.0,
                                             ServiceTime(s, prep.service_scv), (0.99,))
        calibrated = calibrate_residual_array(lat, model_ms, req > 0)
        if calibrated is not None:
            prep.latency_residual_ms, excess = calibrated
            if excess > 0:
                prep.notes.append(f"latency: the queueing model's p99 at the current config exceeds the observed "
                                  f"p99 by {excess:.1f} ms (median over the hours): no non-queueing residual, "
                                  "predicted latencies are conservative")
    return prep


def evaluate_pool(terms: ServiceTerms, rp: ResourcePlan, variant: Variant, grid: Grid, prep: Prepared) -> Evaluation:
    """Replicas per hour (autoscaled to the CPU demand, or the fixed count), their cost, and the
    clauses: CPU and memory utilization, queue stability, latency, error rate, min replicas, Spot."""
    rid, kind = rp.resource_id, rp.resource.kind
    ref = pool_of(kind, rp.resource.config, terms.catalog)
    pool = pool_of(kind, variant.config, terms.catalog, variant.off_hours, grid.off)
    ev = Evaluation()
    sla = terms.sla
    cpu = grid.get(rid, Metric.CPU_PCT)
    demand = None if cpu is None else cpu * (float(ref.count) * ref.cores / 100.0) * grid.t
    replicas, priced = _replicas(terms, kind, pool, demand, prep)
    for line, per_replica in pool.lines.items():
        ev.lines[line] = priced * per_replica
    total_cores = replicas * pool.cores
    if demand is not None:
        ev.clauses.append(Clause("max_cpu_utilization_pct", sla.max_cpu_utilization_pct,
                                 safe_div(demand * 100.0, total_cores, math.inf)))
    mem = grid.get(rid, Metric.MEMORY_PCT)
    if mem is not None:
        ev.clauses.append(Clause("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                                 mem * (ref.memory_gb / pool.memory_gb)))
    rho = None
    req = grid.get(rid, Metric.REQUESTS)
    if req is not None and prep.cpu_s_per_request is not None:
        lam = req * grid.t / 3600.0
        rho = safe_div(lam * prep.cpu_s_per_request, total_cores, math.inf)
        ev.clauses.append(Clause("queue_utilization", 1.0, rho, breach=rho >= 1.0))
        ev.clauses.extend(_latency_clauses(sla, pool, replicas, lam, prep))
    errors = grid.get(rid, Metric.ERRORS)
    if sla.max_error_rate_pct is not None and errors is not None and req is not None:
        ev.clauses.append(Clause("max_error_rate_pct", sla.max_error_rate_pct, _error_rate_pct(errors, req, rho)))
    if kind in (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC):
        ev.clauses.append(Clause("min_replicas", float(sla.effective_min_replicas), replicas, lower_bound=True))
    if variant.spot and sla.availability_pct is not None and sla.availability_pct >= SPOT_MAX_AVAILABILITY_PCT:
        ev.clauses.append(Clause("availability_pct", sla.availability_pct, sla.availability_pct,
                                 breach=not terms.allow_spot))
    return ev


def _replicas(terms: ServiceTerms, kind: str, pool: Pool, demand: Any, prep: Prepared) -> tuple[Any, Any]:
    """(replicas running, replicas priced) per hour."""
    if pool.autoscaled and demand is not None:
        target = prep.autoscale_target or terms.target_utilization
        want = np.ceil(demand / (pool.cores * target) - 1e-9)
        replicas: Any = np.clip(want, pool.lo, pool.hi)
        priced: Any = replicas
    else:
        replicas = pool.count
        # a fixed count runs, on average, the share of it the cost model measured (from the bill)
        priced = replicas * (prep.cost.replica_factor if prep.cost is not None else 1.0)
    replicas = replicas * pool.running if not isinstance(pool.running, float) else replicas
    priced = priced * pool.running if not isinstance(pool.running, float) else priced
    if kind == ResourceKind.EC2_INSTANCE and prep.cost is not None:
        priced = priced * prep.cost.running_fraction
    return replicas, priced


def _latency_clauses(sla: Sla, pool: Pool, replicas: Any, lam: Any, prep: Prepared) -> list[Clause]:
    """p95/p99: the queueing part at the hour's replicas and arrival rate + the calibrated residual."""
    wanted = [(name, limit, q) for name, limit, q in (("latency_p95_ms", sla.latency_p95_ms, 0.95),
                                                      ("latency_p99_ms", sla.latency_p99_ms, 0.99))
              if limit is not None]
    if not wanted or prep.cpu_s_per_request is None:
        return []
    cpu = ServiceTime(prep.cpu_s_per_request, prep.service_scv)
    quantiles = model_latency_ms_array(replicas, pool.replica, lam, cpu, [q for _, _, q in wanted])
    return [Clause(name, limit, ms + prep.latency_residual_ms)
            for (name, limit, _), ms in zip(wanted, quantiles, strict=True)]


def _error_rate_pct(errors: Any, req: Any, rho: Any) -> Any:
    """The observed error rate, plus the share an unstable queue sheds (1 - 1/rho when rho >= 1)."""
    rate = safe_div(errors * 100.0, req, 100.0)
    if rho is None:
        return rate
    with np.errstate(divide="ignore", invalid="ignore"):
        shed = np.where(rho >= 1.0, (1.0 - 1.0 / np.maximum(rho, 1.0)) * 100.0, 0.0)
    return rate + shed
