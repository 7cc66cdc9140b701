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

import math
from typing import TYPE_CHECKING

from costopt.domain.resources import CPU_UNITS_PER_VCPU
from costopt.engine.recommenders.base import ComputeShape, ComputeUsage, Context, Option, Plan, ladder, monotone_ladder
from costopt.engine.recommenders.idle import idle_option
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

    current_cost = cost(cfg.cpu_units, cfg.memory_mb, cfg.desired_count)
    if cfg.desired_count == 0:
        return Plan(current_cost_usd=current_cost, notes=["no tasks running"])
    cu = ComputeUsage.read(ctx, cur)
    plan = Plan(current_cost_usd=current_cost, percentiles=cu.percentiles, notes=cu.notes)
    if cu.idle:
        plan.options.append(idle_option(ctx, "no requests and CPU under the idle threshold over the lookback"))
        return plan
    cores_total, mem_need = cu.targets(ctx, cur)
    plan.percentiles["cpu_target_cores_total"] = round(cores_total, 4)
    plan.percentiles["memory_target_mb_per_task"] = round(mem_need, 1)
    base = cfg.model_dump()

    # ---------------------------------------------------------------- task size at today's count
    per_task = cores_total / cur.replicas
    hourly_now = fargate_hourly(cat, cfg.cpu_units, cfg.memory_mb, cfg.architecture, cfg.capacity, validate=False)
    pairs = sorted(
        ((fargate_hourly(cat, c, m, cfg.architecture, cfg.capacity, validate=False), c, m)
         for c, m in fargate_valid_pairs(cat)
         if c / CPU_UNITS_PER_VCPU >= per_task and m >= mem_need and (c, m) != (cfg.cpu_units, cfg.memory_mb)),
    )
    pairs = [p for p in pairs if p[0] < hourly_now - 1e-12]

    def size_option(pair: tuple[float, int, int]) -> Option:
        _, c, m = pair
        shape = ComputeShape(cur.replicas, c / CPU_UNITS_PER_VCPU, m, cur.spot)
        return Option(action="ecs_task_size", proposed={**base, "cpu_units": c, "memory_mb": m},
                      monthly_cost_usd=cost(c, m, cur.replicas), prediction=cu.predict(cur, shape),
                      notes=[f"task {cfg.cpu_units}/{cfg.memory_mb} -> {c}/{m} (CPU units/MB), a valid Fargate size"])

    plan.options.extend(ladder(ctx, pairs, size_option))

    # ---------------------------------------------------------------- desired count (autoscaling minimum)
    need = max(math.ceil(cores_total / cur.cores - 1e-9), ctx.sla.effective_min_replicas, 1)
    counts = list(range(need, cur.replicas))

    def count_option(n: int) -> Option:
        shape = ComputeShape(n, cur.cores, cur.memory, cur.spot)
        proposed = {**base, "desired_count": n}
        if cfg.min_count is not None:
            proposed["min_count"] = min(cfg.min_count, n)
        return Option(action="ecs_desired_count", proposed=proposed, monthly_cost_usd=cost(cfg.cpu_units,
                      cfg.memory_mb, n), prediction=cu.predict(cur, shape),
                      notes=[f"desired count {cur.replicas} -> {n}"
                             + (" (and the autoscaling minimum)" if cfg.min_count is not None else "")])

    plan.options.extend(monotone_ladder(ctx, counts, count_option))

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
