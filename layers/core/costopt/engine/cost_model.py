"""The usage and cost model: what a resource costs under a config, from how it is used (pure, numpy-free).

One model, shared: the recommender prices today's config and every option with it, the simulation prices
its baseline and scenario hours with it (``engine.simulation``), the budget forecast takes a change's
post-change daily cost from the recommendation it priced, and realised savings compare the bill with it.

``usage_stats(ru: ResourceUsage) -> UsageStats``
    The means a cost needs, read from a lookback (``observe.usage``). ``engine.simulation`` builds the
    same stats from its hourly history when no lookback is given.
``cost_inputs(resource, stats: UsageStats, catalog) -> CostInputs``
    How today's resource runs, per kind, calibrated to the bill when there is one.
``price(kind, config, inputs, catalog, *, hours=730) -> CostBreakdown``
    Any config of the resource (today's or an option) under those inputs.

Cost uses means, never percentiles (percentiles serve only the SLA clauses):

- **Lambda.** Invocations x (mean *billed* duration + billed INIT per invocation) x GB x the GB-second
  price, plus requests. The mean duration is CloudWatch's ``Duration`` Average (``duration_mean_ms``).
  Each invocation is billed rounded up to 1 ms (https://aws.amazon.com/lambda/pricing/): per-invocation
  durations are taken as lognormal with the observed mean and the spread implied by the observed p99 / mean
  (``pricing.lambda_billed_duration_ms``; 2.3 ms with little spread bills 3 ms). INIT is billed for on-demand
  functions since 2025-08-01 (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/):
  Lambda Insights ``init_duration`` (Sum per period) / invocations when measured, otherwise the stated default
  ``DEFAULT_COLD_START_RATE`` x ``DEFAULT_INIT_MS`` (labelled ``lambda_init_default``). Without a mean duration
  the mean of the per-period p99 stands in: an **upper bound**, published as ``basis = "upper_bound"``.
- **Duration at another memory size**: d(m) = d0 x ((1 - f) + f x cpu(m0)/cpu(m)), f = mean CPU time / mean
  duration (Lambda Insights ``cpu_total_time``). A Lambda gets vCPU in proportion to memory, up to 6 vCPUs at
  10,240 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); single-threaded code
  can use one vCPU (1,769 MB). Which one the code is, is read from the data where it can be:
  - f unknown (no CPU time): f = 1 and the worst case for each direction -- a downsize loses CPU in
    proportion to memory over the whole range (multi-threaded code at 3,008 -> 1,792 MB runs 1.68x slower),
    an upsize gains nothing above 1,769 MB. No downsize is latency-neutral, and none saves money.
  - CPU time above the duration: the code runs several threads; multi-threaded curve, f = 1.
  - otherwise single-threaded (``cpu_share_single``); a downsize from above 1,769 MB is then neutral only if
    the code is single-threaded, which the data cannot prove: the recommender raises its risk to 2 and
    publishes the slowdown multi-threaded code would see (``multithreaded_ratio``).
- **ECS / generic pools**: tasks (replicas) running on average x the hourly price. A fixed pool runs its
  count. An autoscaled one (min and max set) runs, each observed hour, ``ceil(demand / (cores x target))``
  within [min, max], demand = the hour's CPU utilization x today's allocated cores; the service's own target
  is not observable, so it is solved (``autoscale_target``) for the observed hours to run today's count on
  average (or the bill's, when corrected). An option is priced at the count the same autoscaler would run for
  it: halving the task size doubles the tasks, a new desired count changes nothing the autoscaler decides.
  **EC2**: hours running.
  **EBS**: the volume's configuration. **DynamoDB**: on-demand = mean consumed units x seconds x price;
  provisioned = capacity x hours.

**Calibrated to the bill.** When the lookback has billed cost for the resource, the model's monthly cost of
today's config at the measured usage is compared with the bill (mean billed day x 730 / 24) and the gap is
published (``model_vs_bill_pct``). Within ``BILL_TOLERANCE_PCT`` (5 %) the model stands. Beyond it, the part
of the model the bill measures is corrected: Lambda's billed GB-seconds per invocation (without provisioned
concurrency), the tasks/replicas an autoscaled pool runs on average, an EC2 instance's running hours. A
gap the model cannot attribute (EBS, DynamoDB, Lambda with provisioned concurrency, a bill above an always-on
instance) is flagged instead, and the figures stay the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.observation import Metric
from costopt.domain.resources import (
    DynamoDbConfig,
    Ec2Config,
    EcsConfig,
    GenericConfig,
    LambdaConfig,
    ResourceConfig,
    ResourceKind,
)

if TYPE_CHECKING:
    from costopt.observe.usage import ResourceUsage
    from costopt.pricing import Catalog, CostBreakdown

CostBasis = Literal["measured", "billed", "upper_bound", "config"]

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
BILL_TOLERANCE_PCT = 5.0

FULL_VCPU_MB = 1769
"""Lambda gives the equivalent of one full vCPU at 1,769 MB."""
MAX_MEMORY_MB = 10_240
"""... and 6 vCPUs at 10,240 MB: CPU grows in proportion to memory over the whole range."""

DEFAULT_COLD_START_RATE = 0.01
"""AWS: "INITs (cold starts) typically occur in under 1% of invocations" (the INIT billing post above)."""
DEFAULT_INIT_MS = 250.0
"""costopt's default INIT duration when Lambda Insights does not measure it (not an AWS figure): a managed
runtime with a few SDK clients. Labelled ``lambda_init_default`` wherever it is used."""
DEFAULT_P99_OVER_MEAN = 2.0
"""Spread of per-invocation durations when only one of mean and p99 is observed (for the 1 ms rounding only)."""


# --------------------------------------------------------------------------- Lambda duration


def cpu_share_single(memory_mb: float) -> float:
    """vCPUs single-threaded code can use at ``memory_mb``: proportional up to one vCPU at 1,769 MB."""
    return min(memory_mb, FULL_VCPU_MB) / FULL_VCPU_MB


def cpu_share_multi(memory_mb: float) -> float:
    """vCPUs multi-threaded code can use: proportional to memory up to 6 vCPUs at 10,240 MB."""
    return min(memory_mb, MAX_MEMORY_MB) / FULL_VCPU_MB


def duration_ratio(m0: float, m: float, f: float, *, multithreaded: bool = False) -> float:
    """d(m) / d(m0) for CPU-bound fraction ``f``. Single-threaded code gains CPU up to 1,769 MB. With
    ``multithreaded`` (or unknown threading) the worst case per direction: a downsize loses CPU in proportion
    to memory up to 10,240 MB, an upsize gains it only up to 1,769 MB."""
    if multithreaded and m < m0:
        cpu = cpu_share_multi(m0) / cpu_share_multi(m)
    else:
        cpu = cpu_share_single(m0) / cpu_share_single(m)
    return (1.0 - f) + f * cpu


# --------------------------------------------------------------------------- what the model reads


@dataclass(frozen=True)
class UsageStats:
    """The means of a lookback (or of a simulation's history) that cost needs; None = not observed."""

    requests_per_s: float | None = None
    duration_mean_ms: float | None = None
    duration_p99_mean_ms: float | None = None
    cpu_time_ms: float | None = None
    init_ms_per_s: float | None = None
    rcu_per_s: float | None = None
    wcu_per_s: float | None = None
    billed_usd_per_day: float | None = None
    billed_days: int = 0
    cpu_pct_hourly: tuple[float, ...] = ()
    """Hourly mean CPU utilization (% of today's allocation): an autoscaled pool's load."""


def usage_stats(ru: ResourceUsage) -> UsageStats:
    """``UsageStats`` of one resource's lookback."""

    def rate(metric: Metric) -> float | None:
        s = ru.summaries.get(metric)
        if s is None or not s.count or s.mean is None:
            return None
        return s.mean / float(ru.period_s.get(metric) or 300)

    def mean(metric: Metric) -> float | None:
        s = ru.summaries.get(metric)
        return s.mean if s is not None and s.count else None

    cost = ru.summaries.get(Metric.COST_USD)
    billed = billed_days = None
    if cost is not None and cost.count and cost.mean is not None:
        per_day = 86_400.0 / float(ru.period_s.get(Metric.COST_USD) or 86_400)
        billed, billed_days = cost.mean * per_day, cost.count
    cpu_hourly = tuple(a.mean for a in ru.hourly.get(Metric.CPU_PCT, ()) if a.count)
    return UsageStats(requests_per_s=rate(Metric.REQUESTS), duration_mean_ms=mean(Metric.DURATION_MEAN_MS),
                      duration_p99_mean_ms=mean(Metric.DURATION_MS), cpu_time_ms=mean(Metric.CPU_TIME_MS),
                      init_ms_per_s=rate(Metric.INIT_MS), rcu_per_s=mean(Metric.CONSUMED_RCU),
                      wcu_per_s=mean(Metric.CONSUMED_WCU), billed_usd_per_day=billed,
                      billed_days=billed_days or 0, cpu_pct_hourly=cpu_hourly)


# --------------------------------------------------------------------------- the inputs of one resource


@dataclass(frozen=True)
class LambdaRun:
    """How today's function runs, per invocation, at its current memory ``memory_mb``."""

    memory_mb: int
    invocations_per_month: float
    mean_duration_ms: float
    duration_log_sd: float
    init_ms_per_invocation: float
    cpu_fraction: float | None
    """Mean CPU time / mean duration (at most 1); None = unknown (taken as 1)."""
    multithreaded: bool = True
    """Multi-threaded or unknown: the worst-case curve for downsizes (see the module doc)."""
    gb_s_scale: float = 1.0
    """Bill correction on the billed GB-seconds (1 when the model is within tolerance of the bill)."""

    @property
    def f(self) -> float:
        return 1.0 if self.cpu_fraction is None else self.cpu_fraction

    def ratio(self, memory_mb: float) -> float:
        """d(memory_mb) / d(today's memory) under the model."""
        return duration_ratio(self.memory_mb, memory_mb, self.f, multithreaded=self.multithreaded)

    def multithreaded_ratio(self, memory_mb: float) -> float:
        """The same for code that uses every vCPU it gets (what a single-threaded reading cannot exclude)."""
        return duration_ratio(self.memory_mb, memory_mb, self.f, multithreaded=True)

    def billed_ms(self, memory_mb: float) -> tuple[float, float, float]:
        """(mean duration, mean billed duration, billed INIT) per invocation at ``memory_mb``, in ms."""
        from costopt.pricing import lambda_billed_duration_ms

        ratio = self.ratio(memory_mb)
        mean = self.mean_duration_ms * ratio
        billed = lambda_billed_duration_ms(mean, self.duration_log_sd) * self.gb_s_scale
        return mean, billed, self.init_ms_per_invocation * ratio * self.gb_s_scale


@dataclass(frozen=True)
class PoolScaling:
    """An autoscaled pool's load and the target utilization its autoscaler is inferred to hold."""

    demand_cores: tuple[float, ...]
    """Hourly CPU demand in cores (observed utilization x today's allocated cores)."""
    target: float
    mean_replicas: float
    """What the observed hours run at ``target`` with today's config (= today's count, or the bill's)."""

    def replicas(self, cores: float, lo: float, hi: float) -> float:
        """Mean replicas over the observed hours for replicas of ``cores`` within [lo, hi]."""
        return mean_count(self.demand_cores, cores, self.target, lo, hi)


def mean_count(demand_cores: tuple[float, ...], cores: float, target: float, lo: float, hi: float) -> float:
    """Mean over the hours of ``ceil(demand / (cores x target))`` within [lo, hi]."""
    if not demand_cores or cores <= 0:
        return lo
    per = cores * target
    return sum(min(hi, max(lo, math.ceil(d / per - 1e-9))) for d in demand_cores) / len(demand_cores)


def autoscale_target(demand_cores: tuple[float, ...], cores: float, lo: float, hi: float,
                     mean_replicas: float) -> float | None:
    """The target utilization at which ``ceil(demand / (cores x target))`` within [lo, hi] averages
    ``mean_replicas`` over the observed hours (bisection: the mean count falls as the target rises).
    None when no target in [0.02, 0.95] reaches it (the count then sits at a bound)."""
    low, high = 0.02, 0.95
    if not demand_cores or not mean_count(demand_cores, cores, high, lo, hi) <= mean_replicas \
            <= mean_count(demand_cores, cores, low, lo, hi):
        return None
    for _ in range(32):
        mid = (low + high) / 2.0
        if mean_count(demand_cores, cores, mid, lo, hi) > mean_replicas:
            low = mid
        else:
            high = mid
    return high


class PoolShape(NamedTuple):
    """An autoscaled pool config: its configured count, cores per replica and autoscaling bounds."""

    configured: float
    cores: float
    lo: float
    hi: float


def autoscaled_shape(config: ResourceConfig) -> PoolShape | None:
    """The shape of an autoscaled ECS service / generic deployment (min < max set; min defaults to 1),
    None for a fixed pool. The one rule the recommender and the simulation both apply."""
    if isinstance(config, EcsConfig) and config.max_count is not None and (config.min_count or 0) < config.max_count:
        lo = config.min_count if config.min_count is not None else min(1, config.max_count)
        return PoolShape(float(config.desired_count), config.cpu_units / 1024.0, float(lo), float(config.max_count))
    if isinstance(config, GenericConfig) and config.max_replicas is not None \
            and (config.min_replicas or 0) < config.max_replicas:
        lo = config.min_replicas if config.min_replicas is not None else min(1, config.max_replicas)
        return PoolShape(float(config.replicas), config.cpu_cores, float(lo), float(config.max_replicas))
    return None


def _scaling(config: ResourceConfig, stats: UsageStats, mean_replicas: float | None = None) -> PoolScaling | None:
    shape = autoscaled_shape(config)
    if shape is None or not stats.cpu_pct_hourly:
        return None
    count, cores, lo, hi = shape
    want = count if mean_replicas is None else mean_replicas
    demand = tuple(pct / 100.0 * count * cores for pct in stats.cpu_pct_hourly)
    target = autoscale_target(demand, cores, lo, hi, want)
    return None if target is None else PoolScaling(demand_cores=demand, target=target, mean_replicas=want)


@dataclass(frozen=True)
class BillCheck:
    """The model's cost of today's config against the bill, over the lookback (monthly USD, unrounded)."""

    billed_monthly_usd: float
    modelled_monthly_usd: float
    model_vs_bill_pct: float
    corrected: bool
    flagged: bool
    billed_days: int
    detail: str


@dataclass(frozen=True)
class CostInputs:
    """The shared model of one resource: what ``price`` needs besides the config."""

    kind: str
    basis: CostBasis
    lambda_run: LambdaRun | None = None
    replica_factor: float = 1.0
    """Tasks/replicas running on average / the configured count (from the bill when corrected)."""
    running_fraction: float = 1.0
    scaling: PoolScaling | None = None
    """Autoscaled pools: replicas follow the observed load (``replica_factor`` is then not applied)."""
    rcu_per_s: float = 0.0
    wcu_per_s: float = 0.0
    bill: BillCheck | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    percentiles: dict[str, float] = field(default_factory=dict)


def cost_inputs(resource: Any, stats: UsageStats, catalog: Catalog) -> CostInputs:
    """The cost model of ``resource`` (a ``domain.resources`` resource) under ``stats``, bill-checked."""
    kind, cfg = resource.kind, resource.config
    if kind == ResourceKind.LAMBDA_FUNCTION and isinstance(cfg, LambdaConfig):
        inputs = _lambda_inputs(cfg, stats)
    elif kind == ResourceKind.DYNAMODB_TABLE and isinstance(cfg, DynamoDbConfig):
        inputs = CostInputs(kind=kind, basis="measured" if cfg.billing_mode == "PAY_PER_REQUEST" else "config",
                            rcu_per_s=stats.rcu_per_s or 0.0, wcu_per_s=stats.wcu_per_s or 0.0)
    else:
        scaling = _scaling(cfg, stats)
        notes = () if scaling is None else (
            f"autoscaled: the observed load runs {scaling.mean_replicas:.2f} replicas on average at an inferred "
            f"{scaling.target:.1%} target utilization; options are priced at what that autoscaler would run",)
        inputs = CostInputs(kind=kind, basis="measured" if scaling else "config", scaling=scaling, notes=notes)
    return _check_bill(resource, inputs, stats, catalog)


def _lambda_inputs(cfg: LambdaConfig, stats: UsageStats) -> CostInputs:
    notes: list[str] = []
    assumptions: list[str] = []
    invocations = (stats.requests_per_s or 0.0) * SECONDS_PER_MONTH
    mean, p99 = stats.duration_mean_ms, stats.duration_p99_mean_ms
    basis: CostBasis = "measured"
    if mean is not None and mean > 0:
        ratio = (p99 / mean) if p99 else DEFAULT_P99_OVER_MEAN
        notes.append(f"cost uses the mean duration {mean:.2f} ms (CloudWatch Duration Average)")
    elif p99 is not None and p99 > 0:
        mean, ratio, basis = p99, 1.0, "upper_bound"
        notes.append(f"no mean duration: cost uses the mean per-period p99 duration {p99:.2f} ms, an upper bound "
                     "on the mean, so the cost and any saving read high")
    else:
        mean, ratio = 0.0, 1.0
        notes.append("no duration data: only requests are priced")
    from costopt.pricing import lognormal_log_sd

    log_sd = lognormal_log_sd(ratio)
    cpu_fraction = None
    multithreaded = True
    if stats.cpu_time_ms is not None and mean > 0:
        raw = max(0.0, stats.cpu_time_ms / mean)
        cpu_fraction = min(1.0, raw)
        multithreaded = raw > 1.0
        notes.append(f"CPU-bound fraction f = {cpu_fraction:.2f} = mean CPU time / "
                     + ("mean duration" if basis == "measured" else "mean p99 duration (a lower bound on f)"))
        if multithreaded:
            notes.append(f"CPU time is {raw:.2f}x the duration: the code runs several threads, so a smaller size "
                         "loses CPU in proportion to memory")
    else:
        notes.append("CPU-bound fraction unknown (no Lambda Insights cpu time): f = 1 and the code may be "
                     "multi-threaded, so a smaller size is taken to lose CPU in proportion to memory (the worst "
                     "case for a downsize) and a larger one to gain none above 1,769 MB")
    if cfg.provisioned_concurrency > 0:
        init = 0.0
        notes.append("INIT: provisioned environments are initialised inside the provisioned concurrency charge")
    elif stats.init_ms_per_s is not None and stats.requests_per_s:
        init = stats.init_ms_per_s / stats.requests_per_s
        notes.append(f"INIT billed: {init:.3f} ms per invocation (Lambda Insights init_duration)")
    else:
        init = DEFAULT_COLD_START_RATE * DEFAULT_INIT_MS
        assumptions.append("lambda_init_default")
        notes.append(f"INIT not measured: assumed {DEFAULT_COLD_START_RATE:.0%} cold starts (AWS: 'typically under "
                     f"1% of invocations') x {DEFAULT_INIT_MS:g} ms (costopt's default, not an AWS figure) = "
                     f"{init:.2f} ms per invocation")
    run = LambdaRun(memory_mb=cfg.memory_mb, invocations_per_month=invocations, mean_duration_ms=mean,
                    duration_log_sd=log_sd, init_ms_per_invocation=init, cpu_fraction=cpu_fraction,
                    multithreaded=multithreaded)
    pct = {"invocations_per_month": round(invocations, 1), "duration_mean_ms": round(mean, 3),
           "billed_duration_ms": round(run.billed_ms(cfg.memory_mb)[1], 3),
           "init_ms_per_invocation": round(init, 4)}
    if cpu_fraction is not None:
        pct["cpu_bound_fraction"] = round(cpu_fraction, 4)
    return CostInputs(kind=ResourceKind.LAMBDA_FUNCTION, basis=basis, lambda_run=run, notes=tuple(notes),
                      assumptions=tuple(assumptions), percentiles=pct)


# --------------------------------------------------------------------------- pricing a config


def price(kind: str, config: ResourceConfig, inputs: CostInputs, catalog: Catalog, *,
          hours: float = HOURS_PER_MONTH) -> CostBreakdown:
    """The cost of ``config`` over ``hours`` (default a 730-hour month) under the resource's ``inputs``."""
    from costopt.pricing import ResourceCostUsage, config_cost

    month = hours / HOURS_PER_MONTH
    if isinstance(config, LambdaConfig):
        run = inputs.lambda_run
        if run is None:
            return config_cost(kind, config, ResourceCostUsage(hours=hours), catalog)
        _, billed, init = run.billed_ms(config.memory_mb)
        return config_cost(kind, config, ResourceCostUsage(
            hours=hours, invocations=run.invocations_per_month * month, avg_duration_ms=billed,
            init_ms_per_invocation=init if config.provisioned_concurrency == 0 else 0.0), catalog)
    if isinstance(config, (EcsConfig, GenericConfig)):
        shape = autoscaled_shape(config)
        if inputs.scaling is not None and shape is not None:
            replicas = inputs.scaling.replicas(shape.cores, shape.lo, shape.hi)
        else:
            count = config.desired_count if isinstance(config, EcsConfig) else config.replicas
            replicas = count * inputs.replica_factor
        return config_cost(kind, config, ResourceCostUsage(hours=hours, avg_replicas=replicas), catalog)
    if isinstance(config, Ec2Config):
        return config_cost(kind, config, ResourceCostUsage(hours=hours, running_fraction=inputs.running_fraction),
                           catalog)
    if isinstance(config, DynamoDbConfig):
        seconds = hours * 3600.0
        return config_cost(kind, config, ResourceCostUsage(
            hours=hours, read_request_units=inputs.rcu_per_s * seconds,
            write_request_units=inputs.wcu_per_s * seconds), catalog)
    return config_cost(kind, config, ResourceCostUsage(hours=hours), catalog)


def monthly(resource: Any, inputs: CostInputs, catalog: Catalog, config: ResourceConfig | None = None) -> float:
    """Monthly USD (unrounded) of ``config`` (default today's) of ``resource``."""
    return price(resource.kind, config if config is not None else resource.config, inputs, catalog).total_usd


# --------------------------------------------------------------------------- the bill


def _check_bill(resource: Any, inputs: CostInputs, stats: UsageStats, catalog: Catalog) -> CostInputs:
    """Compare the model of today's config with the bill; correct or flag beyond the tolerance."""
    billed_day = stats.billed_usd_per_day
    if billed_day is None or billed_day <= 0:
        return inputs
    billed = billed_day * HOURS_PER_MONTH / 24.0
    model = monthly(resource, inputs, catalog)
    if model <= 0:
        return replace(inputs, bill=BillCheck(billed, model, -100.0, False, True, stats.billed_days,
                                              f"the bill shows ${billed:.2f}/month the model prices at $0: flagged"))
    gap = (model - billed) / billed * 100.0
    within = abs(gap) <= BILL_TOLERANCE_PCT
    base = f"model ${model:.2f}/month vs billed ${billed:.2f}/month over {stats.billed_days} billed days ({gap:+.1f}%)"
    if within:
        return replace(inputs, bill=BillCheck(billed, model, gap, False, False, stats.billed_days,
                                              base + f": within ±{BILL_TOLERANCE_PCT:g}%, the model stands"))
    corrected = _corrected(resource, inputs, stats, billed, model, catalog)
    if corrected is not None:
        fixed, what = corrected
        return replace(fixed, basis="billed", bill=BillCheck(
            billed, model, gap, True, False, stats.billed_days, base + f": corrected to the bill ({what})"))
    return replace(inputs, bill=BillCheck(billed, model, gap, False, True, stats.billed_days,
                                          base + ": flagged, the model has no part the bill can correct"))


def _corrected(resource: Any, inputs: CostInputs, stats: UsageStats, billed: float, model: float,
               catalog: Catalog) -> tuple[CostInputs, str] | None:
    cfg = resource.config
    ratio = billed / model
    if isinstance(cfg, LambdaConfig) and inputs.lambda_run is not None and cfg.provisioned_concurrency == 0:
        run = inputs.lambda_run
        requests = run.invocations_per_month / 1e6 * catalog.lambda_.request_usd_per_million
        if model - requests <= 0 or billed - requests <= 0:
            return None
        scale = (billed - requests) / (model - requests)
        fixed = replace(run, gb_s_scale=run.gb_s_scale * scale)
        return replace(inputs, lambda_run=fixed), f"billed GB-seconds per invocation x {scale:.3f}"
    if isinstance(cfg, (EcsConfig, GenericConfig)):
        count = cfg.desired_count if isinstance(cfg, EcsConfig) else cfg.replicas
        if inputs.scaling is not None:
            scaling = _scaling(cfg, stats, inputs.scaling.mean_replicas * ratio)
            if scaling is not None:
                return replace(inputs, scaling=scaling), \
                    f"{scaling.mean_replicas:.2f} replicas run on average (autoscaled, target {scaling.target:.1%})"
            return None
        return replace(inputs, replica_factor=inputs.replica_factor * ratio), \
            f"{ratio * count:.2f} of the {count} configured replicas run on average"
    if isinstance(cfg, Ec2Config) and ratio < 1.0:
        return replace(inputs, running_fraction=inputs.running_fraction * ratio), \
            f"running {ratio:.0%} of the hours"
    return None


__all__ = [
    "BILL_TOLERANCE_PCT", "BillCheck", "CostBasis", "CostInputs", "LambdaRun", "PoolScaling", "PoolShape",
    "UsageStats", "autoscale_target", "autoscaled_shape", "cost_inputs", "cpu_share_multi", "cpu_share_single",
    "duration_ratio", "mean_count", "monthly", "price", "usage_stats",
]
