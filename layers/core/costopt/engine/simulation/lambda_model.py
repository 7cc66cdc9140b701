"""The Lambda model of the simulation: the cost model's billed duration at the config's memory, per hour.

The hour's requests x ($0.20/M + (mean billed duration + billed INIT) x GB x price(arch)) at the
config's memory: the cost model's duration ratio ``d(m) = d0 * ((1-f) + f * cpu(m0)/cpu(m))`` and its
1 ms rounding. Provisioned concurrency is billed for its capacity; invocations fill it first at the
provisioned duration price. The latency clauses use the hour's p99 duration x the same ratio.
"""

from __future__ import annotations

import numpy as np

from costopt.domain.observation import Metric
from costopt.domain.resources import LambdaConfig
from costopt.engine.cost_model import CostInputs
from costopt.engine.simulation.grid import Clause, Evaluation, Grid, Prepared, ServiceTerms, safe_div
from costopt.engine.simulation.history import History
from costopt.engine.simulation.plan import ResourcePlan, Variant
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import lambda_gb_second_price


def prepare_lambda(rp: ResourcePlan, history: History, catalog: Catalog, cost: CostInputs) -> Prepared:
    """Notes on what the history lacks (the model itself needs no constants beyond the cost model)."""
    prep = Prepared(cost=cost)
    run = cost.lambda_run
    if run is not None and run.cpu_fraction is None and rp.scenario != rp.resource.config:
        prep.notes.append("no Lambda Insights cpu time: duration assumed fully CPU-bound (f = 1)")
    if history.get(rp.resource_id, Metric.DURATION_MS) is None:
        prep.notes.append("no p99 duration data: Lambda latency is not modelled")
    return prep


def evaluate_lambda(terms: ServiceTerms, rp: ResourcePlan, variant: Variant, grid: Grid, prep: Prepared) -> Evaluation:
    """Cost lines (requests, duration, init, provisioned concurrency) and clauses (latency, memory, errors)."""
    rid, current, cfg = rp.resource_id, rp.resource.config, variant.config
    assert isinstance(current, LambdaConfig) and isinstance(cfg, LambdaConfig)
    ev = Evaluation()
    prices = terms.catalog.lambda_.architectures[cfg.architecture]
    req = grid.load(rid, Metric.REQUESTS)
    dur0 = grid.get(rid, Metric.DURATION_MS)
    gb = cfg.memory_mb / 1024.0
    run = prep.cost.lambda_run if prep.cost is not None else None
    if req is not None:
        ev.lines["requests"] = req * (terms.catalog.lambda_.request_usd_per_million / 1e6)
    dur = None if dur0 is None or run is None else dur0 * run.ratio(cfg.memory_mb)
    gbs = init_gbs = None
    if req is not None and run is not None:
        _, billed_ms, init_ms = run.billed_ms(cfg.memory_mb)
        gbs = req * (billed_ms * gb / 1000.0)
        init_gbs = req * (init_ms * gb / 1000.0) if init_ms > 0 and cfg.provisioned_concurrency == 0 else None
    price = lambda_gb_second_price(terms.catalog, cfg.architecture)
    if cfg.provisioned_concurrency > 0:
        capacity = cfg.provisioned_concurrency * gb * 3600.0
        ev.lines["provisioned_concurrency"] = capacity * prices.provisioned_concurrency_usd_per_gb_second
        if gbs is not None:
            on_pc = np.minimum(gbs, capacity)
            ev.lines["provisioned_duration"] = on_pc * prices.provisioned_duration_usd_per_gb_second
            ev.lines["duration"] = (gbs - on_pc) * price
    elif gbs is not None:
        ev.lines["duration"] = gbs * price
    if init_gbs is not None:
        ev.lines["init"] = init_gbs * price
    sla = terms.sla
    if dur is not None:
        for name, limit in (("latency_p95_ms", sla.latency_p95_ms), ("latency_p99_ms", sla.latency_p99_ms)):
            if limit is not None:  # the p99 duration bounds the p95 from above
                ev.clauses.append(Clause(name, limit, dur))
    mem = grid.get(rid, Metric.MEMORY_PCT)
    if mem is not None:
        ev.clauses.append(Clause("max_memory_utilization_pct", sla.max_memory_utilization_pct,
                                 mem * (current.memory_mb / cfg.memory_mb)))
    errors = grid.get(rid, Metric.ERRORS)
    raw_req = grid.get(rid, Metric.REQUESTS)
    if sla.max_error_rate_pct is not None and errors is not None and raw_req is not None:
        ev.clauses.append(Clause("max_error_rate_pct", sla.max_error_rate_pct,
                                 safe_div(errors * 100.0, raw_req, 100.0)))
    return ev
