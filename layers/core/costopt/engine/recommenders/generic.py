"""Generic workloads (e.g. Kubernetes via Prometheus): per-replica size and replica count.

CPU is rounded up to 0.1 core (100m), memory to 0.25 GB. Prices are the resource's own unit prices; one it
leaves unset is estimated at the catalog's Fargate on-demand rate (``costopt.pricing.generic_unit_prices``),
and then the plan carries a warning and every option the assumption ``generic_unit_price_estimate``.
Sizes are a short ladder (target, then 1.25x, 1.5x, 2x the CPU target), replica counts a monotone
ladder from the target count up; cheaper failing candidates are reported under ``rejected``.
"""

from __future__ import annotations

import math

from costopt.engine.recommenders.base import (
    ComputeShape,
    ComputeUsage,
    Context,
    Option,
    Plan,
    ceil_to,
    ladder,
    monotone_ladder,
)
from costopt.engine.recommenders.idle import idle_option

CPU_STEP, MEM_STEP = 0.1, 0.25
SIZE_STEPS = (1.0, 1.25, 1.5, 2.0)


def recommend_generic(ctx: Context) -> Plan:
    from costopt.pricing import GENERIC_UNIT_PRICE_ESTIMATE, generic_unit_prices

    plan = _plan(ctx)
    unit = generic_unit_prices(ctx.resource.config, ctx.catalog)
    if unit.note is not None:  # priced with an estimate: say so on the plan and on every option
        plan.warnings.append(f"unit prices are an {unit.note}")
        for opt in plan.options:
            opt.assumptions.append(GENERIC_UNIT_PRICE_ESTIMATE)
            opt.notes.append(f"costs and saving use an {unit.note}")
    return plan


def _plan(ctx: Context) -> Plan:

    cfg = ctx.resource.config
    cur = ComputeShape(cfg.replicas, cfg.cpu_cores, cfg.memory_gb)

    def cost(replicas: int, cores: float, mem: float) -> float:
        return ctx.monthly(cfg.model_copy(update={"replicas": replicas, "cpu_cores": cores, "memory_gb": mem}))

    current_cost = cost(cfg.replicas, cfg.cpu_cores, cfg.memory_gb)
    if cfg.replicas == 0:
        return Plan(current_cost_usd=current_cost, notes=["no replicas running"])
    cu = ComputeUsage.read(ctx, cur)
    plan = Plan(current_cost_usd=current_cost, percentiles=cu.percentiles, notes=cu.notes)
    if cu.idle:
        plan.options.append(idle_option(ctx, "no requests and CPU under the idle threshold over the lookback"))
        return plan
    cores_total, mem_need = cu.targets(ctx, cur)
    base = cfg.model_dump()

    # ---------------------------------------------------------------- per-replica size
    per_replica = cores_total / cur.replicas
    mem = max(MEM_STEP, round(ceil_to(mem_need, MEM_STEP), 4))
    mem = min(mem, cfg.memory_gb) if mem_need <= cfg.memory_gb else mem
    sizes = sorted({max(CPU_STEP, round(ceil_to(per_replica * k, CPU_STEP), 4)) for k in SIZE_STEPS})
    cands = [(c, mem) for c in sizes
             if cost(cur.replicas, c, mem) < current_cost - 1e-9 and (c, mem) != (cfg.cpu_cores, cfg.memory_gb)]

    def size_option(cm: tuple[float, float]) -> Option:
        c, m = cm
        return Option(action="generic_size", proposed={**base, "cpu_cores": c, "memory_gb": m},
                      monthly_cost_usd=cost(cur.replicas, c, m),
                      prediction=cu.predict(cur, ComputeShape(cur.replicas, c, m)),
                      notes=[f"per replica {cfg.cpu_cores:g} cores/{cfg.memory_gb:g} GB -> {c:g}/{m:g}"])

    plan.options.extend(ladder(ctx, cands, size_option))

    # ---------------------------------------------------------------- replicas
    floor = max(ctx.sla.effective_min_replicas, 1, cfg.min_replicas or 0)
    need = max(math.ceil(cores_total / cur.cores - 1e-9), floor)

    def count_option(n: int) -> Option:
        proposed = {**base, "replicas": n}
        return Option(action="generic_replicas", proposed=proposed, monthly_cost_usd=cost(n, cur.cores, cur.memory),
                      prediction=cu.predict(cur, ComputeShape(n, cur.cores, cur.memory)),
                      notes=[f"replicas {cur.replicas} -> {n}"])

    plan.options.extend(monotone_ladder(ctx, list(range(need, cur.replicas)), count_option))
    return plan
