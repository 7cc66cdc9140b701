"""Generic workloads (e.g. Kubernetes via Prometheus): per-replica size and replica count.

CPU is rounded up to 0.1 core (100m), memory to 0.25 GB. Prices are the resource's own unit prices; one it
leaves unset is estimated at the catalog's Fargate on-demand rate (``costopt.pricing.generic_unit_prices``),
and then the plan carries a warning and every option the assumption ``generic_unit_price_estimate``.
Sizes are a short ladder (target, then 1.25x, 1.5x, 2x the CPU target), replica counts a monotone
ladder from the target count up; cheaper failing candidates are reported under ``rejected``.
"""

from __future__ import annotations

from costopt.engine.recommend.compute import ComputeShape, count_options, open_compute
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.ladder import ladder
from costopt.engine.recommend.sizing import floor, size, step

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
    o = open_compute(ctx, cur, current_cost, nothing_running="no replicas running",
                     idle_reason="no requests and CPU under the idle threshold over the lookback")
    plan = o.plan
    if o.usage is None:
        return plan
    base = cfg.model_dump()

    # ---------------------------------------------------------------- per-replica size
    per_replica = o.cores_total / cur.replicas
    mem = round(size(o.memory, floor(MEM_STEP), step(MEM_STEP)), 4)
    mem = min(mem, cfg.memory_gb) if o.memory <= cfg.memory_gb else mem
    sizes = sorted({round(size(per_replica * k, floor(CPU_STEP), step(CPU_STEP)), 4) for k in SIZE_STEPS})
    cands = [(c, mem) for c in sizes
             if cost(cur.replicas, c, mem) < current_cost - 1e-9 and (c, mem) != (cfg.cpu_cores, cfg.memory_gb)]

    def size_option(cm: tuple[float, float]) -> Option:
        c, m = cm
        return o.option("generic_size", {**base, "cpu_cores": c, "memory_gb": m}, cost(cur.replicas, c, m),
                        ComputeShape(cur.replicas, c, m),
                        f"per replica {cfg.cpu_cores:g} cores/{cfg.memory_gb:g} GB -> {c:g}/{m:g}")

    plan.options.extend(ladder(ctx, cands, size_option))

    # ---------------------------------------------------------------- replicas
    plan.options.extend(count_options(
        ctx, o, action="generic_replicas", minimum=max(ctx.sla.effective_min_replicas, 1, cfg.min_replicas or 0),
        propose=lambda n: {**base, "replicas": n}, cost=lambda n: cost(n, cur.cores, cur.memory),
        note=lambda n: f"replicas {cur.replicas} -> {n}"))
    return plan
