"""DynamoDB: on-demand <-> provisioned, by pricing both at the observed usage.

On-demand cost = mean consumed units per second x seconds in a month x the request-unit price (the shared
cost model, ``engine.cost_model``).
Provisioned capacity = p99 of consumed units / target utilization (policy.rightsizing.cpu_target_utilization,
0.7 like DynamoDB auto scaling's default target), at least 1; its SLA check has capacity clauses (p99 consumed
vs provisioned). Storage is the same in both modes and left out. A table with no traffic at all -> idle_delete,
and nothing else.
"""

from __future__ import annotations

from costopt.domain.observation import Metric
from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.idle import idle_option
from costopt.engine.recommend.sizing import at_utilization, floor, size, step
from costopt.engine.sla import CapacityClause, Prediction


def recommend_dynamodb(ctx: Context) -> Plan:
    cfg, u = ctx.resource.config, ctx.usage
    r_mean, w_mean = u.mean(Metric.CONSUMED_RCU) or 0.0, u.mean(Metric.CONSUMED_WCU) or 0.0
    r99, w99 = u.quantile(Metric.CONSUMED_RCU, 0.99) or 0.0, u.quantile(Metric.CONSUMED_WCU, 0.99) or 0.0
    on_demand = ctx.monthly({"billing_mode": "PAY_PER_REQUEST"})
    target = ctx.rs.cpu_target_utilization
    rcu, wcu = (int(size(p99, at_utilization(target), floor(1), step(1))) for p99 in (r99, w99))
    provisioned = ctx.monthly({"billing_mode": "PROVISIONED", "rcu": rcu, "wcu": wcu})
    current = ctx.monthly()
    plan = Plan(current_cost_usd=current, percentiles={
        "consumed_rcu_mean": round(r_mean, 4), "consumed_rcu_p99": round(r99, 4),
        "consumed_wcu_mean": round(w_mean, 4), "consumed_wcu_p99": round(w99, 4),
        "on_demand_monthly_usd": round(on_demand, 4), "provisioned_monthly_usd": round(provisioned, 4)},
        notes=["storage is billed the same in both modes and is not included"])
    if (u.max(Metric.CONSUMED_RCU) or 0.0) <= 0 and (u.max(Metric.CONSUMED_WCU) or 0.0) <= 0:
        plan.options.append(idle_option(ctx, "no reads or writes over the whole lookback"))
        return plan  # an idle table gets the idle option alone, not a capacity mode as well
    if cfg.billing_mode == "PAY_PER_REQUEST":
        plan.options.append(Option(
            action="dynamodb_capacity_mode",
            proposed={"billing_mode": "PROVISIONED", "rcu": rcu, "wcu": wcu}, monthly_cost_usd=provisioned,
            prediction=Prediction(reduces_capacity=True, capacity=[
                CapacityClause("provisioned_rcu", rcu, r99, "p99 consumed RCU vs provisioned"),
                CapacityClause("provisioned_wcu", wcu, w99, "p99 consumed WCU vs provisioned")]),
            risk_floor=1,
            notes=[f"provisioned {rcu} RCU / {wcu} WCU = p99 consumed / {target:g}; enable auto scaling; "
                   "bursts above it use burst capacity, then throttle",
                   "a table can switch to on-demand and back once every 24 hours"]))
    else:
        plan.options.append(Option(
            action="dynamodb_capacity_mode", proposed={"billing_mode": "PAY_PER_REQUEST", "rcu": None, "wcu": None},
            monthly_cost_usd=on_demand, prediction=Prediction(reduces_capacity=False),
            notes=["on-demand at the observed request units; no capacity to manage",
                   "a table can switch to on-demand and back once every 24 hours"]))
    return plan
