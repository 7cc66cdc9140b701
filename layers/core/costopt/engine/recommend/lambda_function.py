"""Lambda: memory size by strategy (as AWS Lambda Power Tuning), arm64, idle provisioned concurrency.

Cost and duration come from the shared model (``engine.cost_model``): invocations x (mean billed duration,
rounded up to 1 ms per invocation, + billed INIT) x GB x price, and d(m) = d0 x ((1 - f) + f x cpu(m0)/cpu(m)).
With f unknown the worst case per direction (a downsize loses CPU in proportion to memory up to 6 vCPUs at
10,240 MB, an upsize gains none above 1,769 MB; f = 1), so no downsize is latency-neutral and none is claimed
to save money. With f measured and the code single-threaded by its CPU time, a downsize from above 1,769 MB
gets performance risk at least 2 (``MULTITHREAD_RISK_FLOOR``) and a note with the slowdown multi-threaded
code would see. The latency clauses use the per-period p99 duration (its sizing percentile over the lookback)
x the same ratio.

Candidates: every memory size in 64 MB steps from 128 to 10,240 MB (plus the current size), never below
the memory target ``max memory used x headroom`` (no memory data: never below the current size).
Strategies: ``cost`` = cheapest, ``speed`` = fastest whose cost is at most today's, ``balanced`` = the
smallest normalized cost x duration. The strategy's pick is made first without the latency SLA; if
that pick fails the SLA it is reported under ``rejected`` and the pick among the candidates predicted
to meet the latency clauses is offered instead.
"""

from __future__ import annotations

import math

from costopt.domain.observation import Metric
from costopt.engine.cost_model import FULL_VCPU_MB, SECONDS_PER_MONTH
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.readers import observed_log_sd, per_second
from costopt.engine.recommend.sizing import floor, headroom, size, step
from costopt.engine.sla import DEFAULT_LOG_SD, Prediction, scale_memory_pct

MIN_MB, MAX_MB, STEP_MB = 128, 10_240, 64
MULTITHREAD_RISK_FLOOR = 2
MEMORY_SIZES = tuple(range(MIN_MB, MAX_MB + 1, STEP_MB))
ARM64_NOTE = ("arm64 (Graviton2) is ~20% cheaper per GB-second; performance assumed equal -- benchmark first. "
              "Not auto-applicable: the code and its native dependencies must be built for arm64.")


def recommend_lambda(ctx: Context) -> Plan:
    from costopt.pricing import lambda_gb_second_price

    res, u, cat = ctx.resource, ctx.usage, ctx.catalog
    cfg = res.config
    m0, arch, pc0 = cfg.memory_mb, cfg.architecture, cfg.provisioned_concurrency
    model = ctx.model
    run = model.lambda_run
    assert run is not None
    invocations = run.invocations_per_month
    d_avg0 = run.mean_duration_ms
    d_lat0 = u.quantile(Metric.DURATION_MS, ctx.q)
    f_known = run.cpu_fraction is not None
    notes: list[str] = list(model.notes)
    mem_max = u.max(Metric.MEMORY_PCT)
    if mem_max is not None:
        floor_mb = int(size(mem_max / 100.0 * m0, headroom(ctx.rs.memory_headroom), floor(MIN_MB), step(STEP_MB)))
    else:
        floor_mb = m0
        notes.append("no memory data: memory is never sized below the current allocation")
    err = None
    req_total, err_total = u.summaries.get(Metric.REQUESTS), u.summaries.get(Metric.ERRORS)
    if req_total is not None and req_total.sum and err_total is not None:
        err = err_total.sum / req_total.sum * 100.0

    def cost(m: int, architecture: str = arch, pc: int = pc0) -> float:
        return ctx.monthly(cfg.model_copy(update={"memory_mb": m, "architecture": architecture,
                                                  "provisioned_concurrency": pc}))

    current_cost = cost(m0)
    percentiles: dict[str, float] = dict(model.percentiles)
    if d_lat0 is not None:
        percentiles[f"duration_p99_ms_p{ctx.rs.cpu_percentile:g}"] = round(d_lat0, 3)
    if mem_max is not None:
        percentiles["memory_max_pct"] = round(mem_max, 3)
    plan = Plan(current_cost_usd=current_cost, percentiles=percentiles, notes=notes)

    duration_sd = observed_log_sd(u, Metric.DURATION_MS)
    memory_sd = observed_log_sd(u, Metric.MEMORY_PCT)

    def predict(m: int) -> Prediction:
        ratio = run.ratio(m)
        lat = None if d_lat0 is None else d_lat0 * ratio
        # the observed p99's own spread, and the duration model's (not validated, so DEFAULT_LOG_SD) on the
        # share of the prediction it extrapolates
        lat_sd = math.hypot(duration_sd, DEFAULT_LOG_SD * abs(ratio - 1.0) / max(ratio, 1.0))
        return Prediction(latency_p95_ms=lat, latency_p99_ms=lat,
                          memory_utilization_pct=None if mem_max is None else scale_memory_pct(mem_max, m0, m),
                          error_rate_pct=err, reduces_capacity=m < m0,
                          uncertainty={"latency_p95_ms": lat_sd, "latency_p99_ms": lat_sd,
                                       "max_memory_utilization_pct": memory_sd})

    # ---------------------------------------------------------------- memory size by strategy
    sizes = sorted({*MEMORY_SIZES, m0})
    feasible = [m for m in sizes if m >= floor_mb]
    if invocations > 0 and d_avg0 > 0 and feasible:
        # fast ranking: marginal GB-s price x billed GB-s (exact prices are computed for what is offered)
        price = lambda_gb_second_price(cat, arch, invocations * d_avg0 / 1000.0 * m0 / 1024.0)
        pc_price = cat.lambda_.architectures[arch].provisioned_concurrency_usd_per_gb_second
        pc_gb_price = pc0 / 1024.0 * SECONDS_PER_MONTH * pc_price

        def billed_gb_s_usd(m: int) -> float:
            _, billed, init = run.billed_ms(m)
            return (billed + init) / 1000.0 / 1024.0 * invocations * price

        ratio = {m: run.ratio(m) for m in feasible}  # d(m)/d(m0), computed once
        rank = {m: m * (billed_gb_s_usd(m) + pc_gb_price) for m in feasible}
        ratio.setdefault(m0, 1.0)
        rank.setdefault(m0, m0 * (billed_gb_s_usd(m0) + pc_gb_price))

        def pick(cands: list[int]) -> int | None:
            if not cands:
                return None
            if ctx.strategy == "cost":
                return min(cands, key=lambda m: (round(rank[m], 9), ratio[m], m))
            if ctx.strategy == "speed":
                budget = rank[m0] * (1 + 1e-9)
                within = [m for m in cands if rank[m] <= budget] or [m0]
                return min(within, key=lambda m: (ratio[m], rank[m], m))
            return min(cands, key=lambda m: (round(rank[m] * ratio[m], 12), m))

        limits = [x for x in (ctx.sla.latency_p95_ms, ctx.sla.latency_p99_ms) if x is not None]

        def meets_latency(m: int) -> bool:
            if not limits:
                return True
            if d_lat0 is None:
                return m >= m0
            return d_lat0 * ratio[m] <= min(limits)

        chosen: list[int] = []
        free_pick = pick(feasible)
        if free_pick is not None and free_pick != m0:
            chosen.append(free_pick)
        safe_pick = pick([m for m in feasible if meets_latency(m)])
        if safe_pick is not None and safe_pick != m0 and safe_pick not in chosen:
            chosen.append(safe_pick)
        for m in chosen:
            opt_notes = [f"strategy {ctx.strategy}: {m0} MB -> {m} MB, predicted duration x {run.ratio(m):.3f}"]
            risk_floor = 0
            if not f_known and m < m0:
                opt_notes.append("f unknown: the smaller size is assumed fully CPU-bound (slower)")
            if m < m0 and m0 > FULL_VCPU_MB and not run.multithreaded:
                risk_floor = MULTITHREAD_RISK_FLOOR
                opt_notes.append(
                    f"above {FULL_VCPU_MB} MB the function has more than one vCPU: the CPU time reads as "
                    f"single-threaded, but multi-threaded code would run x {run.multithreaded_ratio(m):.3f} "
                    f"(not x {run.ratio(m):.3f}) at {m} MB, so performance risk is at least {risk_floor}")
            plan.options.append(Option(action="lambda_memory", proposed={**cfg.model_dump(), "memory_mb": m},
                                       monthly_cost_usd=cost(m), prediction=predict(m), notes=opt_notes,
                                       strategy=ctx.strategy, risk_floor=risk_floor))

    # ---------------------------------------------------------------- arm64
    if arch == "x86_64" and ctx.service.policy.allow_graviton and invocations > 0:
        p = predict(m0)
        p.reduces_capacity = False
        plan.options.append(Option(action="lambda_arm64", proposed={**cfg.model_dump(), "architecture": "arm64"},
                                   monthly_cost_usd=cost(m0, "arm64"), prediction=p, auto_applicable=False,
                                   notes=[ARM64_NOTE]))

    # ---------------------------------------------------------------- idle provisioned concurrency
    if pc0 > 0:
        conc = u.quantile(Metric.CONCURRENCY, 0.99)
        basis = "p99 of observed concurrency"
        if conc is None:
            lam = per_second(u, Metric.REQUESTS, 0.99) or 0.0
            conc = lam * (d_lat0 or d_avg0) / 1000.0
            basis = "Little's law: p99 request rate x duration"
        need = math.ceil(conc - 1e-9)
        idle = (req_total is None or not req_total.sum)
        if need < pc0:
            p = predict(m0)
            p.reduces_capacity = False
            plan.options.append(Option(
                action="lambda_drop_provisioned_concurrency",
                proposed={**cfg.model_dump(), "provisioned_concurrency": need},
                monthly_cost_usd=cost(m0, arch, need), prediction=p,
                risk_floor=2 if idle else 1, auto_applicable=not idle,
                notes=[f"provisioned concurrency {pc0} -> {need} ({basis} = {conc:.2f}); "
                       "requests above it run on demand and may see cold starts"]
                + (["idle: no invocations over the whole lookback"] if idle else [])))
    return plan
