"""ECS on Fargate: task size (valid Fargate pairs only), desired count (and autoscaling minimum),
Graviton (arm64) and Fargate Spot. Idle services -> idle_stop.

Fargate Spot is priced with an assumption (``catalog.fargate.spot``, id ``fargate_spot_discount``): AWS
publishes no fixed discount. Every option priced at Spot -- ``ecs_spot``, and any option on a service
already on Spot -- names it in ``assumptions`` and says in its notes which value and source it used.

Sizing (DESIGN §4): CPU target = p95 CPU cores used / target utilization, memory target = max
working set x headroom; task size is the cheapest valid pair at least that big per task at today's
count; the count is the fewest tasks of today's size that give the CPU target (never below the SLA's
minimum replicas). Each is a ladder walked cheapest first: cheaper candidates that fail the SLA are
reported under ``rejected``, the first compliant one is offered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costopt.domain.resources import CPU_UNITS_PER_VCPU
from costopt.engine.recommend.compute import ComputeShape, count_options, open_compute
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.ladder import ladder
from costopt.engine.recommend.sizing import first_fit
from costopt.pricing.catalog import FARGATE_SPOT_DISCOUNT

if TYPE_CHECKING:
    from costopt.pricing.catalog import Catalog


def spot_note(catalog: Catalog) -> str:
    """What an option priced at Fargate Spot rests on, for its notes."""
    spot = catalog.fargate.spot
    return (f"the Spot price rests on an assumption, not a published price: {spot.cite()}, i.e. Fargate Spot at "
            f"{spot.value:.0%} off on-demand; the Spot price AWS bills varies by region and over time")


def recommend_ecs(ctx: Context) -> Plan:
    plan = _plan(ctx)
    if ctx.resource.config.capacity == "spot":  # today's cost and every option's are Spot-priced: all rest on it
        for opt in plan.options:
            if FARGATE_SPOT_DISCOUNT not in opt.assumptions:
                opt.assumptions.append(FARGATE_SPOT_DISCOUNT)
                opt.notes.append(spot_note(ctx.catalog))
    return plan


def _plan(ctx: Context) -> Plan:
    from costopt.pricing import fargate_hourly, fargate_spot_supported, fargate_valid_pairs

    cat, cfg = ctx.catalog, ctx.resource.config
    cur = ComputeShape(cfg.desired_count, cfg.cpu_units / CPU_UNITS_PER_VCPU, cfg.memory_mb,
                       spot=cfg.capacity == "spot")

    def cost(cpu_units: int, memory_mb: int, count: int, arch: str = cfg.architecture,
             capacity: str = cfg.capacity) -> float:
        """The shared cost model: count x the bill-calibrated share running on average x the task-hour price."""
        return ctx.monthly(cfg.model_copy(update={"cpu_units": cpu_units, "memory_mb": memory_mb,
                                                  "desired_count": count, "architecture": arch,
                                                  "capacity": capacity}))

    o = open_compute(ctx, cur, cost(cfg.cpu_units, cfg.memory_mb, cfg.desired_count),
                     nothing_running="no tasks running",
                     idle_reason="no requests and CPU under the idle threshold over the lookback",
                     target_labels=("cpu_target_cores_total", 4, "memory_target_mb_per_task", 1))
    plan, cu = o.plan, o.usage
    if cu is None:
        return plan
    base = cfg.model_dump()

    # ---------------------------------------------------------------- task size at today's count
    per_task = o.cores_total / cur.replicas
    hourly_now = fargate_hourly(cat, cfg.cpu_units, cfg.memory_mb, cfg.architecture, cfg.capacity, validate=False)
    pairs = sorted(
        (fargate_hourly(cat, c, m, cfg.architecture, cfg.capacity, validate=False), c, m)
        for c, m in first_fit(fargate_valid_pairs(cat), lambda cm: cm[0] / CPU_UNITS_PER_VCPU >= per_task
                              and cm[1] >= o.memory and cm != (cfg.cpu_units, cfg.memory_mb))
    )
    pairs = [p for p in pairs if p[0] < hourly_now - 1e-12]

    def size_option(pair: tuple[float, int, int]) -> Option:
        _, c, m = pair
        return o.option("ecs_task_size", {**base, "cpu_units": c, "memory_mb": m}, cost(c, m, cur.replicas),
                        ComputeShape(cur.replicas, c / CPU_UNITS_PER_VCPU, m, cur.spot),
                        f"task {cfg.cpu_units}/{cfg.memory_mb} -> {c}/{m} (CPU units/MB), a valid Fargate size")

    plan.options.extend(ladder(ctx, pairs, size_option))

    # ---------------------------------------------------------------- desired count (autoscaling minimum)
    def propose_count(n: int) -> dict[str, object]:
        proposed = {**base, "desired_count": n}
        if cfg.min_count is not None:
            proposed["min_count"] = min(cfg.min_count, n)
        return proposed

    plan.options.extend(count_options(
        ctx, o, action="ecs_desired_count", minimum=max(ctx.sla.effective_min_replicas, 1), propose=propose_count,
        cost=lambda n: cost(cfg.cpu_units, cfg.memory_mb, n),
        note=lambda n: f"desired count {cur.replicas} -> {n}"
        + (" (and the autoscaling minimum)" if cfg.min_count is not None else "")))

    # ---------------------------------------------------------------- Graviton
    if cfg.architecture == "x86_64" and ctx.service.policy.allow_graviton and cfg.capacity == "on_demand":
        p = cu.predict(cur, cur)
        p.reduces_capacity = False
        plan.options.append(Option(
            action="ecs_graviton", proposed={**base, "architecture": "arm64"},
            monthly_cost_usd=cost(cfg.cpu_units, cfg.memory_mb, cur.replicas, "arm64"), prediction=p,
            auto_applicable=False,
            notes=["Fargate arm64 is ~20% cheaper; performance assumed equal -- benchmark first",
                   "not auto-applicable: the container image must be built for linux/arm64"]))

    # ---------------------------------------------------------------- Spot
    if cfg.capacity == "on_demand" and fargate_spot_supported(cat, cfg.architecture):
        shape = ComputeShape(cur.replicas, cur.cores, cur.memory, spot=True)
        p = cu.predict(cur, shape)
        p.reduces_capacity = False
        plan.options.append(Option(
            action="ecs_spot", proposed={**base, "capacity": "spot"},
            monthly_cost_usd=cost(cfg.cpu_units, cfg.memory_mb, cur.replicas, cfg.architecture, "spot"),
            prediction=p, risk_floor=2, assumptions=[FARGATE_SPOT_DISCOUNT],
            notes=["Fargate Spot tasks can be reclaimed with a two-minute warning; keep an on-demand base "
                   "in the capacity provider strategy", spot_note(cat)]))
    return plan
