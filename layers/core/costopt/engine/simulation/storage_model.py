"""The storage models of the simulation: EBS volumes and DynamoDB tables, hour by hour.

EBS, and provisioned DynamoDB, cost the same at any load; their IOPS / throughput and consumed
capacity scale with traffic and are held against what the config delivers (``domain.ebs`` for EBS).
DynamoDB on demand is priced per consumed unit; provisioned tables do not autoscale.
"""

from __future__ import annotations

import math

from costopt.domain.ebs import ebs_limits
from costopt.domain.observation import Metric
from costopt.domain.resources import DynamoDbConfig, EbsConfig
from costopt.engine.simulation.grid import Clause, Evaluation, Grid, Prepared, ServiceTerms, safe_div, scheduled
from costopt.engine.simulation.plan import ResourcePlan, Variant
from costopt.pricing.costs import ebs_monthly


def evaluate_ebs(terms: ServiceTerms, rp: ResourcePlan, variant: Variant, grid: Grid, prep: Prepared) -> Evaluation:
    """The volume's hourly price at any load; clauses: IOPS and throughput against what it delivers."""
    rid, cfg = rp.resource_id, variant.config
    assert isinstance(cfg, EbsConfig)
    cost = ebs_monthly(terms.catalog, cfg.volume_type, cfg.size_gb, cfg.iops, cfg.throughput_mbps, hours=1.0)
    ev = Evaluation(lines=dict(cost.lines))
    iops_cap, tp_cap = ebs_limits(cfg)
    iops, tp = grid.load(rid, Metric.IOPS), grid.load(rid, Metric.THROUGHPUT_MBPS)
    if iops is not None:
        ev.clauses.append(Clause("ebs_iops", iops_cap, iops))
    if tp is not None:
        ev.clauses.append(Clause("ebs_throughput_mbps", tp_cap, tp))
    return ev


def evaluate_dynamodb(terms: ServiceTerms, rp: ResourcePlan, variant: Variant, grid: Grid,
                      prep: Prepared) -> Evaluation:
    """On demand: the consumed units' price; provisioned: the (scheduled) capacity's price, and the
    consumed share of it as clauses."""
    rid, cfg = rp.resource_id, variant.config
    assert isinstance(cfg, DynamoDbConfig)
    prices = terms.catalog.dynamodb
    ev = Evaluation()
    rcu, wcu = grid.load(rid, Metric.CONSUMED_RCU), grid.load(rid, Metric.CONSUMED_WCU)
    if cfg.billing_mode == "PAY_PER_REQUEST":
        if rcu is not None:
            ev.lines["reads"] = rcu * (3600.0 * prices.on_demand.usd_per_million_read_request_units / 1e6)
        if wcu is not None:
            ev.lines["writes"] = wcu * (3600.0 * prices.on_demand.usd_per_million_write_request_units / 1e6)
        return ev
    off = variant.off_hours or {}
    read_cap = scheduled(float(cfg.rcu or 0), off.get("rcu"), grid.off)
    write_cap = scheduled(float(cfg.wcu or 0), off.get("wcu"), grid.off)
    ev.lines["reads"] = read_cap * prices.provisioned.usd_per_rcu_hour
    ev.lines["writes"] = write_cap * prices.provisioned.usd_per_wcu_hour
    if rcu is not None:
        ev.clauses.append(Clause("dynamodb_read_capacity_pct", 100.0, safe_div(rcu * 100.0, read_cap, math.inf)))
    if wcu is not None:
        ev.clauses.append(Clause("dynamodb_write_capacity_pct", 100.0,
                                 safe_div(wcu * 100.0, write_cap, math.inf)))
    return ev
