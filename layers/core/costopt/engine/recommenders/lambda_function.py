"""Lambda: memory size by strategy (as AWS Lambda Power Tuning), arm64, idle provisioned concurrency.

Duration model (DESIGN §4): ``d(m) = d0 * ((1 - f) + f * cpu(m0) / cpu(m))`` with
``cpu(m) = min(m, 1769) / 1769`` (Lambda gives one full vCPU at 1,769 MB; the model assumes the
function cannot use more than one). ``f`` is the CPU-bound fraction: the mean CPU time per invocation
(Lambda Insights ``cpu_total_time``) over the mean duration, which comes from the billed cost when there
is billing data (GB-seconds / invocations), else the median per-period p99 duration (a lower bound on f,
said so in the evidence). Without CPU time ``f`` is
unknown and taken as 1 -- the worst case for a downsize -- for latency *and* cost, so no downsize is
ever claimed to be latency-neutral and no saving is claimed from a slower, smaller function.

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
from costopt.engine.recommenders.base import (
    SECONDS_PER_MONTH,
    Context,
    Option,
    Plan,
    ceil_to,
    monthly_count,
    per_second,
)
from costopt.engine.sla import Prediction, scale_memory_pct

FULL_VCPU_MB = 1769
MIN_MB, MAX_MB, STEP_MB = 128, 10_240, 64
MEMORY_SIZES = tuple(range(MIN_MB, MAX_MB + 1, STEP_MB))
ARM64_NOTE = ("arm64 (Graviton2) is ~20% cheaper per GB-second; performance assumed equal -- benchmark first. "
              "Not auto-applicable: the code and its native dependencies must be built for arm64.")


def cpu_share(memory_mb: float) -> float:
    """vCPU share at ``memory_mb``: proportional to memory up to one vCPU at 1,769 MB."""
    return min(memory_mb, FULL_VCPU_MB) / FULL_VCPU_MB


def duration_ratio(m0: float, m: float, f: float) -> float:
    """d(m) / d(m0) for CPU-bound fraction ``f``."""
    return (1.0 - f) + f * cpu_share(m0) / cpu_share(m)


def billed_mean_duration_ms(ctx: Context, invocations: float, d_p99_median: float | None) -> float | None:
    """Mean duration implied by the billed cost: (cost - requests) / GB-s price / (invocations x GB).

    Only without provisioned concurrency, and only when the result is plausible (0 < mean <= p99)."""
    from costopt.pricing import lambda_gb_second_price

    cost = ctx.usage.summaries.get(Metric.COST_USD)
    cfg = ctx.resource.config
    if cost is None or not cost.count or cost.mean is None or invocations <= 0 or cfg.provisioned_concurrency:
        return None
    period_h = (ctx.usage.period_s.get(Metric.COST_USD) or 86_400) / 3600.0
    monthly = cost.mean * 730.0 / period_h
    duration_usd = monthly - invocations / 1e6 * ctx.catalog.lambda_.request_usd_per_million
    price = lambda_gb_second_price(ctx.catalog, cfg.architecture)
    if duration_usd <= 0 or price <= 0:
        return None
    mean_ms = duration_usd / price / (invocations * cfg.memory_mb / 1024.0) * 1000.0
    if d_p99_median is None or not 0 < mean_ms <= d_p99_median * 1.05:
        return None
    return mean_ms


def recommend_lambda(ctx: Context) -> Plan:
    from costopt.pricing import lambda_cost, lambda_gb_second_price

    res, u, cat = ctx.resource, ctx.usage, ctx.catalog
    cfg = res.config
    m0, arch, pc0 = cfg.memory_mb, cfg.architecture, cfg.provisioned_concurrency
    invocations = monthly_count(u, Metric.REQUESTS) or 0.0
    dur = u.summaries.get(Metric.DURATION_MS)
    d_lat0 = u.quantile(Metric.DURATION_MS, ctx.q)
    d_median = u.quantile(Metric.DURATION_MS, 0.5)
    billed = billed_mean_duration_ms(ctx, invocations, d_median)
    notes: list[str] = []
    if billed is not None:
        d_avg0 = billed
        notes.append(f"mean duration {billed:.1f} ms derived from the billed cost (GB-seconds / invocations)")
    else:
        d_avg0 = (dur.mean if dur is not None else None) or 0.0
        notes.append("cost uses the mean of the per-period p99 durations (an upper bound on the mean duration)")

    cpu_time = u.mean(Metric.CPU_TIME_MS)
    denominator = billed if billed is not None else d_median
    if cpu_time is not None and denominator:
        f = max(0.0, min(1.0, cpu_time / denominator))
        f_known = True
        notes.append(f"CPU-bound fraction f = {f:.2f} = mean CPU time / "
                     + ("billed mean duration" if billed is not None else
                        "median per-period p99 duration (without billing data this underestimates f)"))
    else:
        f, f_known = 1.0, False
        notes.append("CPU-bound fraction unknown (no CPU-time data): assumed f = 1, the worst case for a "
                     "downsize, so no smaller size is claimed latency-neutral")
    mem_max = u.max(Metric.MEMORY_PCT)
    if mem_max is not None:
        floor_mb = max(MIN_MB, int(ceil_to(mem_max / 100.0 * m0 * ctx.rs.memory_headroom, STEP_MB)))
    else:
        floor_mb = m0
        notes.append("no memory data: memory is never sized below the current allocation")
    err = None
    req_total, err_total = u.summaries.get(Metric.REQUESTS), u.summaries.get(Metric.ERRORS)
    if req_total is not None and req_total.sum and err_total is not None:
        err = err_total.sum / req_total.sum * 100.0

    def cost(m: int, architecture: str = arch, pc: int = pc0) -> float:
        ratio = duration_ratio(m0, m, f)
        return lambda_cost(cat, invocations=invocations, avg_duration_ms=d_avg0 * ratio, memory_mb=m,
                           architecture=architecture, provisioned_concurrency=pc).total_usd  # type: ignore[arg-type]

    current_cost = cost(m0)
    percentiles: dict[str, float] = {"invocations_per_month": round(invocations, 1),
                                     "duration_mean_ms": round(d_avg0, 3)}
    if d_lat0 is not None:
        percentiles[f"duration_p99_ms_p{ctx.rs.cpu_percentile:g}"] = round(d_lat0, 3)
    if mem_max is not None:
        percentiles["memory_max_pct"] = round(mem_max, 3)
    if f_known:
        percentiles["cpu_bound_fraction"] = round(f, 4)
    plan = Plan(current_cost_usd=current_cost, percentiles=percentiles, notes=notes)

    def predict(m: int) -> Prediction:
        ratio = duration_ratio(m0, m, f)
        lat = None if d_lat0 is None else d_lat0 * ratio
        return Prediction(latency_p95_ms=lat, latency_p99_ms=lat,
                          memory_utilization_pct=None if mem_max is None else scale_memory_pct(mem_max, m0, m),
                          error_rate_pct=err, reduces_capacity=m < m0)

    # ---------------------------------------------------------------- memory size by strategy
    sizes = sorted({*MEMORY_SIZES, m0})
    feasible = [m for m in sizes if m >= floor_mb]
    if invocations > 0 and d_avg0 > 0 and feasible:
        # fast ranking: marginal GB-s price (exact prices are computed for what is offered)
        price = lambda_gb_second_price(cat, arch, invocations * d_avg0 / 1000.0 * m0 / 1024.0)
        pc_price = cat.lambda_.architectures[arch].provisioned_concurrency_usd_per_gb_second

        gb_price = d_avg0 / 1000.0 / 1024.0 * invocations * price
        pc_gb_price = pc0 / 1024.0 * SECONDS_PER_MONTH * pc_price
        c0 = cpu_share(m0)
        ratio = {m: (1.0 - f) + f * c0 / cpu_share(m) for m in feasible}  # d(m)/d(m0), computed once
        rank = {m: m * (gb_price * ratio[m] + pc_gb_price) for m in feasible}
        ratio.setdefault(m0, 1.0)
        rank.setdefault(m0, m0 * (gb_price + pc_gb_price))

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
            opt_notes = [f"strategy {ctx.strategy}: {m0} MB -> {m} MB, predicted duration x "
                         f"{duration_ratio(m0, m, f):.3f}"]
            if not f_known and m < m0:
                opt_notes.append("f unknown: the smaller size is assumed fully CPU-bound (slower)")
            plan.options.append(Option(action="lambda_memory", proposed={**cfg.model_dump(), "memory_mb": m},
                                       monthly_cost_usd=cost(m), prediction=predict(m), notes=opt_notes,
                                       strategy=ctx.strategy))

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
