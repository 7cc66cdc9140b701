"""EC2: rightsize within the family and to the Graviton family of the same generation (disruptive:
stop, modify, start). Idle instances -> idle_stop.

Candidates are the catalog's instance types with at least the CPU target (p95 cores used / target
utilization) and the memory target (max working set x headroom; without memory data, today's memory),
cheaper than today, walked cheapest first; the first SLA-compliant one is offered, cheaper failing
ones are reported under ``rejected``. Graviton moves are not auto-applicable (the AMI must be arm64).
"""

from __future__ import annotations

from costopt.engine.recommend.compute import ComputeShape, open_compute
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.ladder import ladder
from costopt.engine.recommend.sizing import first_fit
from costopt.pricing import InstanceType


def recommend_ec2(ctx: Context) -> Plan:
    from costopt.pricing import graviton_equivalent, instance_type, instance_types

    cat = ctx.catalog
    now = instance_type(cat, ctx.resource.config.instance_type)
    cur = ComputeShape(1, float(now.vcpu), now.memory_gib)
    o = open_compute(ctx, cur, ctx.monthly(), nothing_running="no instance running",
                     idle_reason="CPU under the idle threshold (and no requests) over the lookback",
                     target_labels=("cpu_target_vcpu", 4, "memory_target_gib", 3))
    plan = o.plan
    if o.usage is None:
        return plan
    cores, mem = o.cores_total, o.memory
    if now.burstable_baseline_cpu_pct is not None:
        plan.notes.append(f"{now.name} is burstable (baseline {now.burstable_baseline_cpu_pct:g}% per vCPU); "
                          "sustained use above the baseline spends CPU credits")

    def fits(t: InstanceType) -> bool:
        return t.vcpu >= cores and t.memory_gib >= mem and t.hourly_usd < now.hourly_usd - 1e-12

    def build(t: InstanceType, graviton: bool) -> Option:
        opt = o.option("ec2_rightsize", {"instance_type": t.name}, ctx.monthly({"instance_type": t.name}),
                       ComputeShape(1, float(t.vcpu), t.memory_gib),
                       f"{now.name} ({now.vcpu} vCPU, {now.memory_gib:g} GiB) -> {t.name} ({t.vcpu} vCPU, "
                       f"{t.memory_gib:g} GiB); stop, modify, start", disruptive=True, auto_applicable=not graviton)
        if graviton:
            opt.notes.append("Graviton (arm64): not auto-applicable, the AMI and software must be arm64")
        opt.prediction.replicas = None  # one instance before and after: the replica rule is not this option's to judge
        return opt

    same = first_fit(instance_types(cat, family=now.family), fits)
    plan.options.extend(ladder(ctx, same, lambda t: build(t, False)))
    if ctx.service.policy.allow_graviton and now.architecture == "x86_64":
        target = graviton_equivalent(now.name, cat)
        if target is not None:
            family = target.split(".", 1)[0]
            arm = first_fit(instance_types(cat, family=family), fits)
            plan.options.extend(ladder(ctx, arm, lambda t: build(t, True)))
    return plan
