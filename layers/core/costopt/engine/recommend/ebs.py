"""EBS: gp2 -> gp3 when gp3's 3,000 IOPS / 125 MB/s baseline, or a paid increment, covers the observed
p99 IOPS and throughput (with the memory headroom factor as margin); io1/io2 -> gp3 where that performance
fits gp3's limits (16,000 IOPS, 1,000 MB/s, 500 IOPS per GB, 0.25 MB/s per IOPS); over-provisioned gp3
IOPS/throughput trimmed to what is used. No I/O at all over the lookback -> idle_delete.

The SLA check gets one capacity clause per dimension: provisioned IOPS / throughput vs the observed p99.
"""

from __future__ import annotations

from costopt.domain.ebs import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    GP3_MAX_IOPS,
    GP3_MAX_IOPS_PER_GB,
    GP3_MAX_MBPS_PER_IOPS,
    GP3_MAX_THROUGHPUT_MBPS,
)
from costopt.domain.observation import Metric
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.idle import idle_option
from costopt.engine.recommend.sizing import ceil_to, floor, headroom, size, step
from costopt.engine.sla import CapacityClause, Prediction

COOLDOWN_NOTE = "an EBS volume can be modified again only after 6 hours: this change cannot be reverted sooner"


def recommend_ebs(ctx: Context) -> Plan:
    cfg, u = ctx.resource.config, ctx.usage
    current_cost = ctx.monthly()
    iops99 = u.quantile(Metric.IOPS, 0.99) or 0.0
    tp99 = u.quantile(Metric.THROUGHPUT_MBPS, 0.99) or 0.0
    plan = Plan(current_cost_usd=current_cost, percentiles={"iops_p99": round(iops99, 2),
                                                             "throughput_p99_mbps": round(tp99, 3)})
    if (u.max(Metric.IOPS) or 0.0) <= 0 and (u.max(Metric.THROUGHPUT_MBPS) or 0.0) <= 0:
        plan.options.append(idle_option(ctx, "no I/O over the whole lookback"))
        return plan
    margin = ctx.rs.memory_headroom
    need_iops = int(size(iops99, headroom(margin), floor(GP3_BASELINE_IOPS), step(100)))
    need_tp = int(size(tp99, headroom(margin), floor(GP3_BASELINE_THROUGHPUT_MBPS), step(1)))
    if need_tp > GP3_BASELINE_THROUGHPUT_MBPS:  # gp3 allows at most 0.25 MB/s per provisioned IOPS
        need_iops = max(need_iops, int(ceil_to(need_tp / GP3_MAX_MBPS_PER_IOPS, 100)))
    fits = (need_iops <= min(GP3_MAX_IOPS, GP3_MAX_IOPS_PER_GB * cfg.size_gb) and need_tp <= GP3_MAX_THROUGHPUT_MBPS)
    if not fits:
        plan.notes.append(f"observed p99 ({iops99:.0f} IOPS, {tp99:.0f} MB/s) exceeds what gp3 can provide "
                          f"on {cfg.size_gb} GB")
        return plan
    proposed = {"volume_type": "gp3", "size_gb": cfg.size_gb, "iops": need_iops, "throughput_mbps": need_tp}
    if cfg.volume_type == "gp3" and (cfg.iops or GP3_BASELINE_IOPS) <= need_iops \
            and (cfg.throughput_mbps or GP3_BASELINE_THROUGHPUT_MBPS) <= need_tp:
        return plan
    if cfg.volume_type not in ("gp2", "gp3", "io1", "io2"):
        plan.notes.append(f"{cfg.volume_type} is not migrated to gp3 (throughput-optimised HDD has other economics)")
        return plan
    notes = [f"{cfg.volume_type} -> gp3 with {need_iops} IOPS and {need_tp} MB/s "
             f"(covers p99 {iops99:.0f} IOPS and {tp99:.1f} MB/s x {margin:g})", COOLDOWN_NOTE]
    if cfg.volume_type == "io2":
        notes.append("io2 offers 99.999% durability and sub-millisecond latency; gp3 offers 99.8-99.9% durability")
    if cfg.volume_type == "gp3":
        notes[0] = f"trim provisioned gp3 performance to {need_iops} IOPS / {need_tp} MB/s"
    prediction = Prediction(reduces_capacity=False, capacity=[
        CapacityClause("provisioned_iops", need_iops, iops99, "observed p99 IOPS vs provisioned"),
        CapacityClause("provisioned_throughput_mbps", need_tp, tp99, "observed p99 MB/s vs provisioned"),
    ])
    plan.options.append(Option(action="ebs_gp3", proposed=proposed,
                               monthly_cost_usd=ctx.monthly(proposed),
                               prediction=prediction, notes=notes))
    return plan
