"""Monte Carlo simulation of a scenario over the service's hourly history (DESIGN §4, Simulation).

Pure: numpy arrays and domain models in, a ``SimulationResult`` out, no I/O. Only the simulate
path imports this module (with the vectorised half of ``engine.queueing``, the only numpy users).

How it works
------------
1. **History.** Every (resource, metric) becomes a (days x 24) array of hourly values: totals
   for count metrics (requests, errors), the hour's mean otherwise (latency/duration are p99 per
   period, utilizations and rates are averages). Days with fewer than ``MIN_DAY_HOURS`` observed
   hours are dropped; gaps in kept days are filled with that hour-of-day's mean over the days.
2. **Block bootstrap.** Each sample draws whole observed days for the horizon, by weekday class:
   a simulated Monday draws from observed weekdays, a Saturday from observed weekend days (falling
   back to any day when the class was never observed), so the daily and weekly shapes are kept
   and every resource's metrics stay mutually consistent (they come from the same day).
3. **Traffic.** Load metrics are scaled per hour by ``multiplier x (1 + growth)^(hour/730)`` and
   by any template event (spike, seasonal peak).
4. **Cost and SLA, hour by hour**, for the baseline (current configs) and the scenario. No model
   state carries from one hour to the next, so an hour's outcome depends only on (simulated day,
   observed day drawn, hour of day): the engine evaluates that (horizon_days x observed_days x 24)
   grid once, vectorized, and each sample's totals, breach hours and worst values are gathered from
   the resulting day tables with its (samples x horizon_days) draws. This equals evaluating a
   (samples x hours) array element by element; there is no Python loop over hours or samples (only
   over resources and clauses).
   Cost per hour comes from the shared usage and cost model (``engine.cost_model``), the one the
   recommender prices with: ``simulate`` takes each resource's ``CostInputs`` (from the lookback, bill
   calibrated; built from the history when not given), so the baseline reproduces the recommender's
   current cost and a recommendation's simulated saving its projected one.
   - Lambda: the hour's requests x ($0.20/M + (mean billed duration + billed INIT) x GB x price(arch)) at
     the config's memory: the model's duration ratio ``d(m) = d0 * ((1-f) + f * cpu(m0)/cpu(m))`` and its
     1 ms rounding. Provisioned concurrency is billed for its capacity; invocations fill it first at the
     provisioned duration price. The latency clauses use the hour's p99 duration x the same ratio.
   - ECS / generic pools: CPU demand (cores) = observed CPU% x the current allocation x traffic;
     with autoscaling (min/max set) replicas = ceil(demand / (cores x target utilization)) within
     [min, max], the target solved so that the observed history reproduces the tasks/replicas the
     model (and the bill) says run on average; otherwise the fixed count, priced at the model's average
     share of it; cost = replicas x the per-replica hourly price (Fargate Spot at the catalog's
     discount). EC2 is a pool of one instance (priced for the model's running hours); EBS, provisioned
     DynamoDB and fixed pools cost the same at any load.
   - Clauses (the SLA engine's, hour by hour): CPU and memory utilization, latency p95/p99 = the
     queueing part's quantile (``costopt.engine.queueing``: exact M/M/c, the CPU time per request
     taken as exponential) at the hour's servers and arrival rate + a non-queueing residual
     calibrated once at the current config (the median over the observed hours of observed p99 -
     model p99, never below 0; ``costopt.engine.sla`` calibrates at the busy hours instead, having
     only the lookback's quantiles), queue stability (rho < 1),
     error rate (observed rate, plus the shed share when rho >= 1),
     min replicas, Spot vs availability, EBS IOPS/throughput and provisioned DynamoDB capacity.
5. **Outcome.** Monthly cost = horizon cost x 730 / horizon hours, per sample; p10/p50/p90 of
   baseline, scenario and the paired savings; ``sla_probability`` = share of samples where every
   clause holds in every hour; ``expected_breach_hours`` = mean breached hours per sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.money import round_usd
from costopt.domain.observation import HourlyAggregate, Metric
from costopt.domain.resources import (
    DynamoDbConfig,
    EbsConfig,
    Ec2Config,
    EcsConfig,
    GenericConfig,
    LambdaConfig,
    ResourceConfig,
    ResourceKind,
)
from costopt.domain.service import Sla
from costopt.domain.simulation import (
    BaselineOutcome,
    BreachedClause,
    CostLine,
    Percentiles,
    ResourceOutcome,
    ScenarioOutcome,
    SimulationResult,
)
from costopt.engine.cost_model import CostInputs, UsageStats, autoscaled_shape
from costopt.engine.cost_model import cost_inputs as model_inputs
from costopt.engine.queueing import ServiceTime, response_time_quantiles_array
from costopt.engine.simulation_templates import OffHours, ResourcePlan, SimulationPlan
from costopt.engine.sla import SPOT_MAX_AVAILABILITY_PCT
from costopt.errors import Conflict
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    ebs_monthly,
    fargate_hourly,
    generic_unit_prices,
    gp2_baseline_iops,
    gp2_max_throughput_mbps,
    instance_type,
    lambda_gb_second_price,
)

Array = NDArray[np.float64]

HOURS_PER_DAY = 24
MIN_DAY_HOURS = 12
DEFAULT_MIN_HISTORY_HOURS = 48
SUM_METRICS = frozenset({Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES, Metric.INIT_MS})
DEFAULT_PERIOD_S = 300

ASSUMPTIONS = [
    "A month is 730 hours: monthly cost = cost over the horizon x 730 / horizon hours.",
    "Baseline and scenario see the same simulated traffic (the same bootstrapped days, multiplier, growth and "
    "events), so savings are paired per sample.",
    "Days are bootstrapped whole, by weekday class (weekdays from observed weekdays, weekends from observed "
    "weekend days, any day when a class was never observed); all resources draw the same day.",
    "Hour-level clauses compare each hour's mean utilization and the hour's p99 latency with the limit.",
    "Lambda: the recommender's cost model (mean billed duration rounded up to 1 ms per invocation, plus "
    "INIT), billed at the first duration tier, no free tier; duration scales with memory by the CPU-bound "
    "fraction; arm64 runs at the same duration as x86_64.",
    "Pools (ECS, generic, EC2): CPU demand scales linearly with traffic; the memory working set per replica "
    "does not; arm64/Graviton and other instance families are assumed to deliver the same per-vCPU throughput.",
    "Autoscaled pools (min/max set) follow load with no scaling lag, at the target utilization that makes "
    "the observed history run the average count the cost model (calibrated to the bill) says it runs (the "
    "policy's target utilization when there is no CPU data); their history is read as if it ran at the "
    "current desired count.",
    "Latency: the queueing part (wait + CPU service) is M/M/c with c = replicas x cores and exponential CPU "
    "time per request (its spread is not observed), p95/p99 exact (tabulated to ~1e-4); the rest of the "
    "latency (I/O, downstream calls) is a constant residual, the median over the observed hours of observed "
    "p99 - model p99 at the current config (0 when the model exceeds the observation), which does not change "
    "with the number of servers. The hour's mean of per-period p99s is read as that hour's p99.",
    "EBS gp2 volumes under 1 TiB burst to 3,000 IOPS; EBS IOPS and throughput scale with traffic.",
    "DynamoDB: consumed capacity scales with traffic; provisioned tables do not autoscale; storage is not "
    "modelled.",
]


class InsufficientHistory(Conflict):
    title = "Not enough history"
    type_slug = "insufficient-history"


# =========================================================================== history


@dataclass
class History:
    """Observed hourly history on a day grid: ``series[resource_id][metric]`` is (days x 24)."""

    days: list[date]
    series: dict[str, dict[Metric, Array]]
    hours_available: int

    @property
    def weekend(self) -> NDArray[np.bool_]:
        return np.array([d.weekday() >= 5 for d in self.days], dtype=bool)

    def get(self, resource_id: str, metric: Metric) -> Array | None:
        return self.series.get(resource_id, {}).get(metric)


def _fill(arr: Array) -> Array | None:
    mask = ~np.isnan(arr)
    total = int(mask.sum())
    if total == 0:
        return None
    if total == arr.size:
        return arr
    counts = mask.sum(axis=0)
    sums = np.where(mask, arr, 0.0).sum(axis=0)
    overall = float(sums.sum() / total)
    col = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    return np.where(mask, arr, col[None, :])


def history_from_hourly(
    hourly: Mapping[str, Mapping[Metric, Sequence[HourlyAggregate]]],
    period_s: Mapping[str, Mapping[Metric, int]] | None = None,
    *,
    min_hours: int = DEFAULT_MIN_HISTORY_HOURS,
) -> History:
    """Build the day grid from hourly aggregates. Raises ``InsufficientHistory`` (409) with the hours
    available vs required when fewer than ``min_hours`` hours or no day with ``MIN_DAY_HOURS`` hours exist."""
    hours_seen: set[datetime] = set()
    for metrics in hourly.values():
        for metric, aggs in metrics.items():
            if metric == Metric.COST_USD:
                continue
            hours_seen.update(a.hour for a in aggs if a.count)
    per_day: dict[date, int] = {}
    for h in hours_seen:
        per_day[h.date()] = per_day.get(h.date(), 0) + 1
    days = sorted(d for d, n in per_day.items() if n >= MIN_DAY_HOURS)
    if len(hours_seen) < min_hours or not days:
        raise InsufficientHistory(
            f"the service has {len(hours_seen)} hours of hourly history; simulation needs at least {min_hours} "
            f"(and one day with {MIN_DAY_HOURS}+ hours)",
            extra={"hours_available": len(hours_seen), "hours_required": min_hours},
        )
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, dict[Metric, Array]] = {}
    for rid, metrics in hourly.items():
        for metric, aggs in metrics.items():
            if metric == Metric.COST_USD or not aggs:
                continue
            arr = np.full((len(days), HOURS_PER_DAY), np.nan)
            per_hour = 3600.0 / float((period_s or {}).get(rid, {}).get(metric) or DEFAULT_PERIOD_S)
            for agg in aggs:
                i = index.get(agg.hour.date())
                if i is None or not agg.count:
                    continue
                mean = agg.sum / agg.count
                arr[i, agg.hour.hour] = mean * per_hour if metric in SUM_METRICS else mean
            filled = _fill(arr)
            if filled is not None:
                series.setdefault(rid, {})[Metric(metric)] = filled
    return History(days=days, series=series, hours_available=len(hours_seen))


def history_from_usage(usage: Any, *, min_hours: int = DEFAULT_MIN_HISTORY_HOURS) -> History:
    """From ``costopt.observe.usage.ServiceUsage`` (anything with ``resources[rid].hourly/period_s``)."""
    return history_from_hourly({rid: ru.hourly for rid, ru in usage.resources.items()},
                               {rid: ru.period_s for rid, ru in usage.resources.items()}, min_hours=min_hours)


# =========================================================================== calendar and traffic


def bootstrap_days(weekend: NDArray[np.bool_], start: date, horizon_days: int, samples: int,
                   rng: np.random.Generator) -> NDArray[np.int64]:
    """(samples x horizon_days) indices of observed days, drawn within weekday class."""
    pools = {False: np.flatnonzero(~weekend), True: np.flatnonzero(weekend)}
    every = np.arange(len(weekend))
    sim_weekend = np.array([(start + timedelta(days=d)).weekday() >= 5 for d in range(horizon_days)])
    u = rng.random((samples, horizon_days))
    idx = np.empty((samples, horizon_days), dtype=np.int64)
    for cls in (False, True):
        cols = np.flatnonzero(sim_weekend == cls)
        if cols.size == 0:
            continue
        pool = pools[cls] if pools[cls].size else every
        idx[:, cols] = pool[np.minimum((u[:, cols] * pool.size).astype(np.int64), pool.size - 1)]
    return idx


def traffic_factor(plan: SimulationPlan, hours: int) -> Array:
    h = np.arange(hours, dtype=np.float64)
    factor = plan.traffic_multiplier * np.power(1.0 + plan.growth_pct_per_month / 100.0, h / HOURS_PER_MONTH)
    for ev in plan.events:
        factor[ev.start_day * HOURS_PER_DAY:(ev.start_day + ev.days) * HOURS_PER_DAY] *= ev.factor
    return factor


def off_hours_mask(window: OffHours, start: date, hours: int) -> NDArray[np.bool_]:
    h = np.arange(hours) + window.utc_offset_hours
    local_hour = np.mod(h, HOURS_PER_DAY)
    local_day = np.floor_divide(h, HOURS_PER_DAY)
    start_wd = start.weekday()
    weekday = np.mod(start_wd + local_day, 7)
    if window.start_hour > window.end_hour:
        night = (local_hour >= window.start_hour) | (local_hour < window.end_hour)
    else:
        night = (local_hour >= window.start_hour) & (local_hour < window.end_hour)
    return night | ((weekday >= 5) if window.weekends else np.zeros(hours, dtype=bool))


# =========================================================================== per-resource models


@dataclass
class Clause:
    name: str
    limit: float
    value: Any  # broadcastable to (horizon_days, observed_days, 24); inf = cannot hold
    lower_bound: bool = False  # True: value must be >= limit (min_replicas)
    breach: Any = None  # precomputed breach (bool array/scalar) overriding the comparison


@dataclass
class Evaluation:
    lines: dict[str, Any] = field(default_factory=dict)  # cost per hour, broadcastable to the grid
    clauses: list[Clause] = field(default_factory=list)


@dataclass
class Grid:
    """Every (simulated day, observed day, hour) once: shape (horizon_days, observed_days, 24).

    Nothing in the model carries state from one hour to the next (autoscaling has no lag), so an
    hour's cost and clause values depend only on the traffic factor of the simulated hour and the
    observed day a sample drew for that day. Evaluating this grid once and gathering per-sample
    totals from it is exactly the same as evaluating (samples x hours) arrays, at a fraction of the cost.
    """

    history: History
    t: Array  # (horizon_days, 1, 24) traffic factor
    off: NDArray[np.bool_] | None  # (horizon_days, 1, 24) off-hours mask

    @property
    def shape(self) -> tuple[int, int, int]:
        return (int(self.t.shape[0]), len(self.history.days), HOURS_PER_DAY)

    def get(self, resource_id: str, metric: Metric) -> Array | None:
        """An observed metric as (1, observed_days, 24)."""
        arr = self.history.get(resource_id, metric)
        return None if arr is None else arr[None, :, :]

    def load(self, resource_id: str, metric: Metric) -> Array | None:
        """A load metric under the simulated traffic, (horizon_days, observed_days, 24)."""
        arr = self.get(resource_id, metric)
        return None if arr is None else arr * self.t


@dataclass
class Context:
    sla: Sla
    catalog: Catalog
    target_utilization: float
    allow_spot: bool


@dataclass
class Prepared:
    """Per-resource constants read once from the whole history (not per sample)."""

    cost: CostInputs | None = None  # the shared cost model of the resource
    cpu_s_per_request: float | None = None  # pools
    autoscale_target: float | None = None  # pools: the CPU utilization the current autoscaling holds
    service_scv: float = 1.0  # pools: SCV of the CPU time per request (exponential: the data carry no spread)
    latency_residual_ms: float = 0.0  # pools: non-queueing latency calibrated at the current config
    notes: list[str] = field(default_factory=list)


def _safe_div(num: Any, den: Any, when_zero: float) -> Any:
    if np.ndim(den) == 0:
        d = float(den)
        if d > 0:
            return num * (1.0 / d)
        return np.where(np.asarray(num) > 0, when_zero, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den)
    return np.where(np.asarray(den) > 0, out, np.where(np.asarray(num) > 0, when_zero, 0.0))


# ------------------------------------------------------------------ Lambda


def _prepare_lambda(rp: ResourcePlan, history: History, cost: CostInputs) -> Prepared:
    prep = Prepared(cost=cost)
    run = cost.lambda_run
    if run is not None and run.cpu_fraction is None and rp.scenario != rp.resource.config:
        prep.notes.append("no Lambda Insights cpu time: duration assumed fully CPU-bound (f = 1)")
    if history.get(rp.resource_id, Metric.DURATION_MS) is None:
        prep.notes.append("no p99 duration data: Lambda latency is not modelled")
    return prep


def _lambda(ctx: Context, rp: ResourcePlan, cfg: LambdaConfig, grid: Grid, prep: Prepared) -> Evaluation:
    rid, current = rp.resource_id, rp.resource.config
    assert isinstance(current, LambdaConfig)
    ev = Evaluation()
    prices = ctx.catalog.lambda_.architectures[cfg.architecture]
    req = grid.load(rid, Metric.REQUESTS)
    dur0 = grid.get(rid, Metric.DURATION_MS)
    gb = cfg.memory_mb / 1024.0
    run = prep.cost.lambda_run if prep.cost is not None else None
    if req is not None:
        ev.lines["requests"] = req * (ctx.catalog.lambda_.request_usd_per_million / 1e6)
    dur = None if dur0 is None or run is None else dur0 * run.ratio(cfg.memory_mb)
    gbs = init_gbs = None
    if req is not None and run is not None:
        _, billed_ms, init_ms = run.billed_ms(cfg.memory_mb)
        gbs = req * (billed_ms * gb / 1000.0)
        init_gbs = req * (init_ms * gb / 1000.0) if init_ms > 0 and cfg.provisioned_concurrency == 0 else None
    price = lambda_gb_second_price(ctx.catalog, cfg.architecture)
    if cfg.provisioned_concurrency > 0:
        capacity = cfg.provisioned_concurrency * gb * 3600.0
        ev.lines["provisioned_concurrency"] = capacity * prices.provisioned_concurrency_usd_per_gb_second
        if gbs is not None:
            on_pc = np.minimum(gbs, capacity)
            ev.lines["provisioned_duration"] = on_pc * prices.provisioned_duration_usd_per_gb_second
            ev.lines["duration"] = (gbs - on_pc) * price
    elif gbs is not None:
        ev.lines["duration"] = gbs * price
    if init_gbs is not None:
        ev.lines["init"] = init_gbs * price
    sla = ctx.sla
    if dur is not None:
        for name, limit in (("latency_p95_ms", sla.latency_p95_ms), ("latency_p99_ms", sla.latency_p99_ms)):
            if limit is not None:  # the p99 duration bounds the p95 from above
                ev.clauses.append(Clause(name, limit, dur))
    mem = grid.get(rid, Metric.MEMORY_PCT)
    if mem is not None:
        ev.clauses.append(Clause("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                                 mem * (current.memory_mb / cfg.memory_mb)))
    errors = grid.get(rid, Metric.ERRORS)
    raw_req = grid.get(rid, Metric.REQUESTS)
    if sla.max_error_rate_pct is not None and errors is not None and raw_req is not None:
        ev.clauses.append(Clause("max_error_rate_pct", sla.max_error_rate_pct,
                                 _safe_div(errors * 100.0, raw_req, 100.0)))
    return ev


# ------------------------------------------------------------------ pools: ECS, generic, EC2


@dataclass
class Pool:
    count: Any  # fixed replicas per hour: scalar or (hours,)
    lo: Any
    hi: Any
    autoscaled: bool
    cores: float
    memory_gb: float
    lines: dict[str, float]  # per replica-hour
    running: Any = 1.0  # EC2 off-hours stop: (hours,) 0/1

    @property
    def servers_per_replica(self) -> int:
        return max(1, math.floor(self.cores + 1e-9))

    @property
    def speed(self) -> float:
        return self.cores / self.servers_per_replica


def _scheduled(on: Any, off: Any, mask: NDArray[np.bool_] | None) -> Any:
    if mask is None or off is None or off == on:
        return on
    return np.where(mask, float(off), float(on))


def pool_of(kind: str, cfg: ResourceConfig, catalog: Catalog, off: Mapping[str, Any] | None = None,
            mask: NDArray[np.bool_] | None = None) -> Pool:
    off = off or {}
    if kind == ResourceKind.ECS_SERVICE and isinstance(cfg, EcsConfig):
        prices = catalog.fargate.architectures[cfg.architecture]
        factor = (1.0 - catalog.fargate.spot_discount) if cfg.capacity == "spot" else 1.0
        fargate_hourly(catalog, cfg.cpu_units, cfg.memory_mb, cfg.architecture, cfg.capacity)  # validates
        shape = autoscaled_shape(cfg)
        autoscaled, lo = shape is not None, (shape.lo if shape is not None else 1)
        return Pool(
            count=_scheduled(cfg.desired_count, off.get("desired_count"), mask),
            lo=_scheduled(lo, off.get("min_count"), mask), hi=cfg.max_count, autoscaled=autoscaled,
            cores=cfg.cpu_units / 1024.0, memory_gb=cfg.memory_mb / 1024.0,
            lines={"vcpu": cfg.cpu_units / 1024.0 * prices.usd_per_vcpu_hour * factor,
                   "memory": cfg.memory_mb / 1024.0 * prices.usd_per_gb_hour * factor})
    if kind == ResourceKind.GENERIC and isinstance(cfg, GenericConfig):
        shape = autoscaled_shape(cfg)
        autoscaled, lo = shape is not None, (shape.lo if shape is not None else 1)
        unit = generic_unit_prices(cfg, catalog)  # unset prices: the labelled Fargate estimate
        return Pool(
            count=_scheduled(cfg.replicas, off.get("replicas"), mask),
            lo=_scheduled(lo, off.get("min_replicas"), mask), hi=cfg.max_replicas, autoscaled=autoscaled,
            cores=cfg.cpu_cores, memory_gb=cfg.memory_gb,
            lines={"cpu": cfg.cpu_cores * unit.core_hour_usd,
                   "memory": cfg.memory_gb * unit.gb_hour_usd})
    if kind == ResourceKind.EC2_INSTANCE and isinstance(cfg, Ec2Config):
        it = instance_type(catalog, cfg.instance_type)
        running = _scheduled(1.0, 0.0 if off.get("running") is False else None, mask)
        return Pool(count=1, lo=1, hi=1, autoscaled=False, cores=float(it.vcpu), memory_gb=it.memory_gib,
                    lines={"compute": it.hourly_usd}, running=running)
    raise TypeError(f"{kind} is not a pool")


def _prepare_pool(rp: ResourcePlan, history: History, catalog: Catalog, cost: CostInputs) -> Prepared:
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
        servers = float(ref.count) * ref.servers_per_replica
        service = ServiceTime(s / ref.speed, prep.service_scv)
        (model,) = response_time_quantiles_array(servers, req / 3600.0, service, (0.99,))
        model_ms = model * 1000.0
        ok = np.isfinite(model_ms) & (lat > 0) & (req > 0)
        if ok.any():
            gap = float(np.median(lat[ok] - model_ms[ok]))
            prep.latency_residual_ms = max(0.0, gap)
            if gap < 0:
                prep.notes.append(f"latency: the queueing model's p99 at the current config exceeds the observed "
                                  f"p99 by {-gap:.1f} ms (median over the hours): no non-queueing residual, "
                                  "predicted latencies are conservative")
    return prep


def _pool(ctx: Context, rp: ResourcePlan, cfg: ResourceConfig, grid: Grid, prep: Prepared,
          off: Mapping[str, Any] | None, spot: bool) -> Evaluation:
    rid, kind = rp.resource_id, rp.resource.kind
    ref = pool_of(kind, rp.resource.config, ctx.catalog)
    pool = pool_of(kind, cfg, ctx.catalog, off, grid.off)
    ev = Evaluation()
    sla = ctx.sla
    cpu = grid.get(rid, Metric.CPU_PCT)
    demand = None if cpu is None else cpu * (float(ref.count) * ref.cores / 100.0) * grid.t
    if pool.autoscaled and demand is not None:
        target = prep.autoscale_target or ctx.target_utilization
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
    for line, per_replica in pool.lines.items():
        ev.lines[line] = priced * per_replica
    total_cores = replicas * pool.cores
    if demand is not None:
        ev.clauses.append(Clause("max_cpu_utilization_pct", sla.max_cpu_utilization_pct,
                                 _safe_div(demand * 100.0, total_cores, math.inf)))
    mem = grid.get(rid, Metric.MEMORY_PCT)
    if mem is not None:
        ev.clauses.append(Clause("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                                 mem * (ref.memory_gb / pool.memory_gb)))
    rho = None
    req = grid.get(rid, Metric.REQUESTS)
    if req is not None and prep.cpu_s_per_request is not None:
        lam = req * grid.t / 3600.0
        s = prep.cpu_s_per_request
        rho = _safe_div(lam * s, total_cores, math.inf)
        ev.clauses.append(Clause("queue_utilization", 1.0, rho, breach=rho >= 1.0))
        if sla.latency_p95_ms is not None or sla.latency_p99_ms is not None:
            servers = replicas * pool.servers_per_replica
            service = ServiceTime(s / pool.speed, prep.service_scv)
            wanted = [(name, limit, q) for name, limit, q in (("latency_p95_ms", sla.latency_p95_ms, 0.95),
                                                              ("latency_p99_ms", sla.latency_p99_ms, 0.99))
                      if limit is not None]
            quantiles = response_time_quantiles_array(servers, lam, service, [q for _, _, q in wanted])
            for (name, limit, _), seconds in zip(wanted, quantiles, strict=True):
                ev.clauses.append(Clause(name, limit, seconds * 1000.0 + prep.latency_residual_ms))
    errors = grid.get(rid, Metric.ERRORS)
    if sla.max_error_rate_pct is not None and errors is not None and req is not None:
        rate = _safe_div(errors * 100.0, req, 100.0)
        if rho is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                shed = np.where(rho >= 1.0, (1.0 - 1.0 / np.maximum(rho, 1.0)) * 100.0, 0.0)
            rate = rate + shed
        ev.clauses.append(Clause("max_error_rate_pct", sla.max_error_rate_pct, rate))
    if kind in (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC):
        ev.clauses.append(Clause("min_replicas", float(sla.effective_min_replicas), replicas, lower_bound=True))
    if spot and sla.availability_pct is not None and sla.availability_pct >= SPOT_MAX_AVAILABILITY_PCT:
        ev.clauses.append(Clause("availability_pct", sla.availability_pct, sla.availability_pct,
                                 breach=not ctx.allow_spot))
    return ev


# ------------------------------------------------------------------ EBS


def ebs_capacity(cfg: EbsConfig) -> tuple[float, float]:
    """(IOPS, MB/s) a volume delivers: gp3 as provisioned; gp2 3 IOPS/GB (bursting to 3,000 under 1 TiB)."""
    if cfg.volume_type == "gp3":
        return float(cfg.iops or GP3_BASELINE_IOPS), float(cfg.throughput_mbps or GP3_BASELINE_THROUGHPUT_MBPS)
    if cfg.volume_type == "gp2":
        burst = 3000.0 if cfg.size_gb < 1024 else 0.0
        return max(gp2_baseline_iops(cfg.size_gb), burst), gp2_max_throughput_mbps(cfg.size_gb)
    if cfg.volume_type in ("io1", "io2"):
        iops = float(cfg.iops or 100)
        return iops, min(1000.0, iops * 0.256)
    return (500.0, 500.0) if cfg.volume_type == "st1" else (250.0, 250.0)


def _ebs(ctx: Context, rp: ResourcePlan, cfg: EbsConfig, grid: Grid) -> Evaluation:
    rid = rp.resource_id
    cost = ebs_monthly(ctx.catalog, cfg.volume_type, cfg.size_gb, cfg.iops, cfg.throughput_mbps, hours=1.0)
    ev = Evaluation(lines=dict(cost.lines))
    iops_cap, tp_cap = ebs_capacity(cfg)
    iops, tp = grid.load(rid, Metric.IOPS), grid.load(rid, Metric.THROUGHPUT_MBPS)
    if iops is not None:
        ev.clauses.append(Clause("ebs_iops", iops_cap, iops))
    if tp is not None:
        ev.clauses.append(Clause("ebs_throughput_mbps", tp_cap, tp))
    return ev


# ------------------------------------------------------------------ DynamoDB


def _dynamodb(ctx: Context, rp: ResourcePlan, cfg: DynamoDbConfig, grid: Grid,
              off: Mapping[str, Any] | None) -> Evaluation:
    rid = rp.resource_id
    prices = ctx.catalog.dynamodb
    ev = Evaluation()
    rcu, wcu = grid.load(rid, Metric.CONSUMED_RCU), grid.load(rid, Metric.CONSUMED_WCU)
    if cfg.billing_mode == "PAY_PER_REQUEST":
        if rcu is not None:
            ev.lines["reads"] = rcu * (3600.0 * prices.on_demand.usd_per_million_read_request_units / 1e6)
        if wcu is not None:
            ev.lines["writes"] = wcu * (3600.0 * prices.on_demand.usd_per_million_write_request_units / 1e6)
        return ev
    off = off or {}
    read_cap = _scheduled(float(cfg.rcu or 0), off.get("rcu"), grid.off)
    write_cap = _scheduled(float(cfg.wcu or 0), off.get("wcu"), grid.off)
    ev.lines["reads"] = read_cap * prices.provisioned.usd_per_rcu_hour
    ev.lines["writes"] = write_cap * prices.provisioned.usd_per_wcu_hour
    if rcu is not None:
        ev.clauses.append(Clause("dynamodb_read_capacity_pct", 100.0, _safe_div(rcu * 100.0, read_cap, math.inf)))
    if wcu is not None:
        ev.clauses.append(Clause("dynamodb_write_capacity_pct", 100.0,
                                 _safe_div(wcu * 100.0, write_cap, math.inf)))
    return ev


# =========================================================================== accumulation


@dataclass
class _ClauseTable:
    limit: float
    lower_bound: bool
    hours: NDArray[np.int64]  # (horizon_days, observed_days): breached hours of that day pair
    worst: Array  # (horizon_days, observed_days): max (min for lower bounds) value of that day pair


@dataclass
class _Tables:
    """One resource's evaluation reduced to day-pair tables (computed once, shared by both sides when
    the resource is unchanged)."""

    lines: dict[str, Array]  # (horizon_days, observed_days) cost of that day pair
    clauses: dict[str, _ClauseTable]
    any_breach: NDArray[np.bool_]  # grid: any clause of this resource breached in that hour


def _tables(ev: Evaluation, shape: tuple[int, int, int]) -> _Tables:
    lines: dict[str, Array] = {}
    for line, cost in ev.lines.items():
        arr = np.asarray(cost, dtype=np.float64)
        day = arr.sum(axis=-1) if arr.ndim == 3 else np.broadcast_to(arr, shape).sum(axis=-1)
        lines[line] = np.broadcast_to(day, shape[:2])
    clauses: dict[str, _ClauseTable] = {}
    any_breach = np.zeros(shape, dtype=bool)
    for clause in ev.clauses:
        value = np.broadcast_to(np.asarray(clause.value, dtype=np.float64), shape)
        if clause.breach is not None:
            breach = np.broadcast_to(np.asarray(clause.breach, dtype=bool), shape)
        elif clause.lower_bound:
            breach = value < clause.limit
        else:
            breach = ~(value <= clause.limit)  # NaN and inf fail
        np.logical_or(any_breach, breach, out=any_breach)
        worst = value.min(axis=-1) if clause.lower_bound else value.max(axis=-1)
        clauses[clause.name] = _ClauseTable(limit=clause.limit, lower_bound=clause.lower_bound,
                                            hours=breach.sum(axis=-1), worst=worst)
    return _Tables(lines=lines, clauses=clauses, any_breach=any_breach)


@dataclass
class _Side:
    """Day-pair tables of one side (baseline or scenario), gathered per sample at the end."""

    shape: tuple[int, int, int]
    lines: dict[tuple[str, str], Array] = field(default_factory=dict)
    clauses: dict[tuple[str, str], _ClauseTable] = field(default_factory=dict)
    any_breach: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.any_breach = np.zeros(self.shape, dtype=bool)

    def add(self, rid: str, tables: _Tables) -> None:
        for line, day in tables.lines.items():
            self.lines[(rid, line)] = day
        for name, table in tables.clauses.items():
            self.clauses[(rid, name)] = table
        np.logical_or(self.any_breach, tables.any_breach, out=self.any_breach)


class _Gather:
    """Per-sample sums/max/min over the horizon of day-pair tables, for the days each sample drew;
    memoized per table so a table shared by both sides is gathered once."""

    def __init__(self, idx: NDArray[np.int64], observed_days: int) -> None:
        self.flat = idx + (np.arange(idx.shape[1]) * observed_days)[None, :]
        self._memo: dict[tuple[int, str], NDArray[Any]] = {}

    def __call__(self, table: NDArray[Any], how: str) -> NDArray[Any]:
        key = (id(table), how)
        if key not in self._memo:
            drawn = np.take(np.ascontiguousarray(table).ravel(), self.flat)
            self._memo[key] = getattr(drawn, how)(axis=1)
        return self._memo[key]


@dataclass
class _Samples:
    """Per-sample outcome of one side."""

    lines: dict[tuple[str, str], Array]  # cost over the horizon
    clause_hours: dict[tuple[str, str], NDArray[np.int64]]
    clause_worst: dict[tuple[str, str], Array]
    clauses: dict[tuple[str, str], _ClauseTable]
    breach_hours: NDArray[np.int64]

    @classmethod
    def of(cls, side: _Side, gather: _Gather) -> _Samples:
        lines = {k: gather(v, "sum") for k, v in side.lines.items()}
        hours = {k: gather(c.hours, "sum") for k, c in side.clauses.items()}
        worst = {k: gather(c.worst, "min" if c.lower_bound else "max") for k, c in side.clauses.items()}
        return cls(lines=lines, clause_hours=hours, clause_worst=worst, clauses=side.clauses,
                   breach_hours=gather(side.any_breach.sum(axis=-1), "sum"))

    def total(self, rid: str | None = None) -> Array:
        out = np.zeros(self.breach_hours.shape)
        for (r, _), v in self.lines.items():
            if rid is None or r == rid:
                out = out + v
        return out


# =========================================================================== the simulation


class _Percentiles:
    """p10/p50/p90 of many per-sample USD arrays in one numpy call (x ``scale``), published to the cent."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.arrays: list[Array] = []
        self.values: Array = np.zeros((0, 3))

    def add(self, values: Array) -> int:
        self.arrays.append(values)
        return len(self.arrays) - 1

    def compute(self) -> None:
        self.values = np.percentile(np.stack(self.arrays) * self.scale, [10, 50, 90], axis=1).T

    def get(self, i: int) -> Percentiles:
        p10, p50, p90 = (round_usd(float(v)) for v in self.values[i])
        return Percentiles(p10=p10, p50=p50, p90=p90)


def _finite(x: float) -> float | None:
    return round(x, 4) if math.isfinite(x) else None


def _outcome(side: _Samples, cost: Percentiles, cls: type[BaselineOutcome]) -> BaselineOutcome:
    keys = list(side.clauses)
    worst_q: dict[tuple[str, str], float] = {}
    for lower in (False, True):
        group = [k for k in keys if side.clauses[k].lower_bound == lower]
        if group:
            stacked = np.stack([side.clause_worst[k] for k in group])
            values = (np.percentile(stacked, 1, axis=1, method="lower") if lower
                      else np.percentile(stacked, 99, axis=1, method="higher"))
            worst_q.update(zip(group, (float(v) for v in values), strict=True))
    clauses = []
    for key in keys:
        hours = side.clause_hours[key]
        rid, name = key
        clauses.append(BreachedClause(
            clause=name, resource_id=rid, limit=side.clauses[key].limit,
            probability=round(float((hours > 0).mean()), 6), expected_breach_hours=round(float(hours.mean()), 4),
            predicted_p99=_finite(worst_q[key])))
    clauses.sort(key=lambda b: (-b.probability, -b.expected_breach_hours, b.resource_id, b.clause))
    return cls(monthly_cost_usd=cost,
               sla_probability=round(float((side.breach_hours == 0).mean()), 6),
               expected_breach_hours=round(float(side.breach_hours.mean()), 4),
               breached_clauses=[c for c in clauses if c.probability > 0], clauses=clauses)


def stats_from_history(history: History, resource_id: str) -> UsageStats:
    """The cost model's ``UsageStats`` read from the hourly history (no bill: it is not replayed)."""

    def per_s(metric: Metric) -> float | None:
        arr = history.get(resource_id, metric)
        return None if arr is None else float(arr.mean()) / 3600.0

    def mean(metric: Metric) -> float | None:
        arr = history.get(resource_id, metric)
        return None if arr is None else float(arr.mean())

    cpu = history.get(resource_id, Metric.CPU_PCT)
    return UsageStats(requests_per_s=per_s(Metric.REQUESTS), duration_mean_ms=mean(Metric.DURATION_MEAN_MS),
                      duration_p99_mean_ms=mean(Metric.DURATION_MS), cpu_time_ms=mean(Metric.CPU_TIME_MS),
                      init_ms_per_s=per_s(Metric.INIT_MS), rcu_per_s=mean(Metric.CONSUMED_RCU),
                      wcu_per_s=mean(Metric.CONSUMED_WCU),
                      cpu_pct_hourly=() if cpu is None else tuple(float(v) for v in cpu.ravel()))


def simulate(plan: SimulationPlan, history: History, catalog: Catalog, *, simulation_id: str = "",
             start: date | None = None, cost_inputs: Mapping[str, CostInputs] | None = None) -> SimulationResult:
    """Run ``plan`` over ``history``. ``start`` is the first simulated day (default: the day after the
    last observed day, so a fixed seed over the same history always gives the same result).

    ``cost_inputs``: each resource's shared cost model (``engine.cost_model.cost_inputs`` over the
    lookback, bill-calibrated) -- what the recommender priced with. A resource without one gets the model
    built from the history's means (``stats_from_history``), which has no bill to calibrate against."""
    service = plan.service
    hours = plan.horizon_days * HOURS_PER_DAY
    start = start or (history.days[-1] + timedelta(days=1))
    rng = np.random.default_rng(plan.seed)
    idx = bootstrap_days(history.weekend, start, plan.horizon_days, plan.samples, rng)
    t = traffic_factor(plan, hours)
    mask = off_hours_mask(plan.off_hours, start, hours) if plan.off_hours else None
    ctx = Context(sla=service.sla, catalog=catalog,
                  target_utilization=service.policy.rightsizing.cpu_target_utilization,
                  allow_spot=service.policy.allow_spot)

    prepared: dict[str, Prepared] = {}
    for rp in plan.resources:
        kind = rp.resource.kind
        cost = (cost_inputs or {}).get(rp.resource_id) or model_inputs(
            rp.resource, stats_from_history(history, rp.resource_id), catalog)
        if kind == ResourceKind.LAMBDA_FUNCTION:
            prepared[rp.resource_id] = _prepare_lambda(rp, history, cost)
        elif kind in (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC, ResourceKind.EC2_INSTANCE):
            prepared[rp.resource_id] = _prepare_pool(rp, history, catalog, cost)
        else:
            prepared[rp.resource_id] = Prepared(cost=cost)
        if cost.basis == "upper_bound":
            prepared[rp.resource_id].notes.append(
                "cost rests on an upper bound (the p99 duration stands in for the mean): it reads high")
        if cost.assumptions:
            prepared[rp.resource_id].notes.append("cost rests on labelled assumptions: " + ", ".join(cost.assumptions))

    def evaluate(rp: ResourcePlan, cfg: ResourceConfig, off: Mapping[str, Any] | None, spot: bool,
                 grid: Grid) -> Evaluation:
        prep = prepared[rp.resource_id]
        if isinstance(cfg, LambdaConfig):
            return _lambda(ctx, rp, cfg, grid, prep)
        if isinstance(cfg, (EcsConfig, GenericConfig, Ec2Config)):
            return _pool(ctx, rp, cfg, grid, prep, off, spot)
        if isinstance(cfg, EbsConfig):
            return _ebs(ctx, rp, cfg, grid)
        if isinstance(cfg, DynamoDbConfig):
            return _dynamodb(ctx, rp, cfg, grid, off)
        raise TypeError(type(cfg).__name__)

    grid = Grid(history=history, t=t.reshape(plan.horizon_days, 1, HOURS_PER_DAY),
                off=None if mask is None else mask.reshape(plan.horizon_days, 1, HOURS_PER_DAY))
    base_side, scen_side = _Side(grid.shape), _Side(grid.shape)
    for rp in plan.resources:
        base = _tables(evaluate(rp, rp.baseline, None, rp.baseline_spot, grid), grid.shape)
        base_side.add(rp.resource_id, base)
        scen = _tables(evaluate(rp, rp.scenario, rp.off_hours, rp.spot, grid), grid.shape) if rp.changed else base
        scen_side.add(rp.resource_id, scen)
    gather = _Gather(idx, len(history.days))
    baseline, scenario = _Samples.of(base_side, gather), _Samples.of(scen_side, gather)

    scale = HOURS_PER_MONTH / hours
    pct = _Percentiles(scale)
    rows = []
    for rp in plan.resources:
        rid = rp.resource_id
        b_total, s_total = baseline.total(rid), scenario.total(rid)
        line_names = sorted({ln for (r, ln) in (*baseline.lines, *scenario.lines) if r == rid})
        zeros = np.zeros(plan.samples)
        lines = [(ln, pct.add(baseline.lines.get((rid, ln), zeros)), pct.add(scenario.lines.get((rid, ln), zeros)))
                 for ln in line_names]
        rows.append((rp, pct.add(b_total), pct.add(s_total), pct.add(b_total - s_total), lines))
    totals = (pct.add(baseline.total()), pct.add(scenario.total()),
              pct.add(baseline.total() - scenario.total()))
    pct.compute()
    per_resource = [ResourceOutcome(
        resource_id=rp.resource_id, kind=rp.resource.kind, changed=rp.changed,
        baseline_config=rp.baseline.model_dump(mode="json"), scenario_config=rp.scenario.model_dump(mode="json"),
        baseline_monthly_cost_usd=pct.get(b), scenario_monthly_cost_usd=pct.get(sc), savings_usd=pct.get(sv),
        lines=[CostLine(line=ln, baseline_monthly_usd=pct.get(lb).p50, scenario_monthly_usd=pct.get(ls).p50)
               for ln, lb, ls in lines],
        notes=[*rp.notes, *prepared[rp.resource_id].notes],
    ) for rp, b, sc, sv, lines in rows]

    weekend = history.weekend
    assumptions = [
        *ASSUMPTIONS,
        f"History: {history.hours_available} observed hours; {len(history.days)} days kept "
        f"({int((~weekend).sum())} weekdays, {int(weekend.sum())} weekend days); the horizon starts "
        f"{start.isoformat()} (UTC days).",
        f"Traffic x{plan.traffic_multiplier:g}, growth {plan.growth_pct_per_month:g}% a month (compounding).",
        f"Prices: {catalog.region} catalog as of {catalog.as_of}.",
        *catalog.warnings,
        *plan.notes,
    ]
    result = SimulationResult(
        simulation_id=simulation_id, service_id=service.service_id, horizon_days=plan.horizon_days,
        samples=plan.samples, seed=plan.seed, traffic_multiplier=plan.traffic_multiplier,
        growth_pct_per_month=plan.growth_pct_per_month, recommendation_ids=plan.recommendation_ids,
        baseline=_outcome(baseline, pct.get(totals[0]), BaselineOutcome),
        scenario=_outcome(scenario, pct.get(totals[1]), ScenarioOutcome),
        savings_usd=pct.get(totals[2]),
        per_resource=per_resource, assumptions=assumptions, history_hours=history.hours_available,
    )
    return result

