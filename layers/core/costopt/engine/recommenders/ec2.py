"""EC2: rightsize within the family and to the Graviton family of the same generation (disruptive:
stop, modify, start). Idle instances -> idle_stop.

Candidates are the catalog's instance types with at least the CPU target (p95 cores used / target
utilization) and the memory target (max working set x headroom; without memory data, today's memory),
cheaper than today, walked cheapest first; the first SLA-compliant one is offered, cheaper failing
ones are reported under ``rejected``. Graviton moves are not auto-applicable (the AMI must be arm64).
"""

from __future__ import annotations

from costopt.engine.recommenders.base import ComputeShape, ComputeUsage, Context, Option, Plan, ladder
from costopt.engine.recommenders.idle import idle_option
from costopt.pricing import InstanceType


def recommend_ec2(ctx: Context) -> Plan:
    from costopt.pricing import graviton_equivalent, instance_type, instance_types

    cat = ctx.catalog
    now = instance_type(cat, ctx.resource.config.instance_type)
    current_cost = ctx.monthly()
    cur = ComputeShape(1, float(now.vcpu), now.memory_gib)
    cu = ComputeUsage.read(ctx, cur)
    plan = Plan(current_cost_usd=current_cost, percentiles=cu.percentiles, notes=cu.notes)
    if cu.idle:
        plan.options.append(idle_option(ctx, "CPU under the idle threshold (and no requests) over the lookback"))
        return plan
    cores, mem = cu.targets(ctx, cur)
    plan.percentiles["cpu_target_vcpu"] = round(cores, 4)
    plan.percentiles["memory_target_gib"] = round(mem, 3)
    if now.burstable_baseline_cpu_pct is not None:
        plan.notes.append(f"{now.name} is burstable (baseline {now.burstable_baseline_cpu_pct:g}% per vCPU); "
                          "sustained use above the baseline spends CPU credits")

    def fits(t: InstanceType) -> bool:
        return t.vcpu >= cores and t.memory_gib >= mem and t.hourly_usd < now.hourly_usd - 1e-12

    def build(t: InstanceType, graviton: bool) -> Option:
        notes = [f"{now.name} ({now.vcpu} vCPU, {now.memory_gib:g} GiB) -> {t.name} ({t.vcpu} vCPU, "
                 f"{t.memory_gib:g} GiB); stop, modify, start"]
        if graviton:
            notes.append("Graviton (arm64): not auto-applicable, the AMI and software must be arm64")
        prediction = cu.predict(cur, ComputeShape(1, float(t.vcpu), t.memory_gib))
        prediction.replicas = None  # one instance before and after: the replica rule is not this option's to judge
        return Option(action="ec2_rightsize", proposed={"instance_type": t.name},
                      monthly_cost_usd=ctx.monthly({"instance_type": t.name}),
                      prediction=prediction, disruptive=True, auto_applicable=not graviton, notes=notes)

    same = [t for t in instance_types(cat, family=now.family) if fits(t)]
    plan.options.extend(ladder(ctx, same, lambda t: build(t, False)))
    if ctx.service.policy.allow_graviton and now.architecture == "x86_64":
        target = graviton_equivalent(now.name, cat)
        if target is not None:
            family = target.split(".", 1)[0]
            arm = [t for t in instance_types(cat, family=family) if fits(t)]
            plan.options.extend(ladder(ctx, arm, lambda t: build(t, True)))
    return plan
