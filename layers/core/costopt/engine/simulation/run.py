"""Running a plan: bootstrap the days, evaluate every resource's two sides on the grid, publish the result.

``simulate`` is the entry point (the model: the package doc). Cost per hour comes from the shared usage
and cost model (``engine.cost_model``), the one the recommender prices with: ``simulate`` takes each
resource's ``CostInputs`` (from the lookback, bill calibrated; built from the history when not given),
so the baseline reproduces the recommender's current cost and a recommendation's simulated saving its
projected one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.simulation import BaselineOutcome, CostLine, ResourceOutcome, ScenarioOutcome, SimulationResult
from costopt.engine.cost_model import CostInputs
from costopt.engine.cost_model import cost_inputs as model_inputs
from costopt.engine.simulation.accumulate import Gather, Samples, SideTables, tables
from costopt.engine.simulation.calendar import bootstrap_days, off_hours_mask, traffic_factor
from costopt.engine.simulation.grid import Grid, Prepared, ServiceTerms
from costopt.engine.simulation.history import HOURS_PER_DAY, History, stats_from_history
from costopt.engine.simulation.kinds import KIND_MODELS
from costopt.engine.simulation.outcome import PercentileBatch, outcome
from costopt.engine.simulation.plan import ResourcePlan, SimulationPlan
from costopt.pricing.catalog import Catalog

ASSUMPTIONS = [
    "A month is 730 hours: monthly cost = cost over the horizon x 730 / horizon hours.",
    "Baseline and scenario see the same simulated traffic (the same bootstrapped days, multiplier, growth and "
    "events), so savings are paired per sample.",
    "Days are bootstrapped whole, by weekday class (weekdays from observed weekdays, weekends from observed "
    "weekend days, any day when a class was never observed); all resources draw the same day.",
    "Hour-level clauses compare each hour's mean utilization and the hour's p99 latency with the limit.",
    "Lambda: the recommender's cost model (mean billed duration rounded up to 1 ms per invocation, plus "
    "INIT), billed at the first duration tier, no free tier; duration scales with memory by the CPU-bound "
    "fraction; arm64 runs at the same duration as x86_64.",
    "Pools (ECS, generic, EC2): CPU demand scales linearly with traffic; the memory working set per replica "
    "does not; arm64/Graviton and other instance families are assumed to deliver the same per-vCPU throughput.",
    "Autoscaled pools (min/max set) follow load with no scaling lag, at the target utilization that makes "
    "the observed history run the average count the cost model (calibrated to the bill) says it runs (the "
    "policy's target utilization when there is no CPU data); their history is read as if it ran at the "
    "current desired count.",
    "Latency: the queueing part (wait + CPU service) is M/M/c with c = replicas x cores and exponential CPU "
    "time per request (its spread is not observed), p95/p99 exact (tabulated to ~1e-4); the rest of the "
    "latency (I/O, downstream calls) is a constant residual, the median over the observed hours of observed "
    "p99 - model p99 at the current config (0 when the model exceeds the observation), which does not change "
    "with the number of servers. The hour's mean of per-period p99s is read as that hour's p99.",
    "EBS gp2 volumes under 1 TiB burst to 3,000 IOPS; EBS IOPS and throughput scale with traffic.",
    "DynamoDB: consumed capacity scales with traffic; provisioned tables do not autoscale; storage is not "
    "modelled.",
]


def simulate(plan: SimulationPlan, history: History, catalog: Catalog, *, simulation_id: str = "",
             start: date | None = None, cost_inputs: Mapping[str, CostInputs] | None = None) -> SimulationResult:
    """Run ``plan`` over ``history``. ``start`` is the first simulated day (default: the day after the
    last observed day, so a fixed seed over the same history always gives the same result).

    ``cost_inputs``: each resource's shared cost model (``engine.cost_model.cost_inputs`` over the
    lookback, bill-calibrated) -- what the recommender priced with. A resource without one gets the model
    built from the history's means (``stats_from_history``), which has no bill to calibrate against."""
    start = start or (history.days[-1] + timedelta(days=1))
    prepared = {rp.resource_id: _prepare(rp, history, catalog, cost_inputs or {}) for rp in plan.resources}
    baseline, scenario = _evaluate(plan, _grid(plan, history, start), catalog, prepared)
    idx = bootstrap_days(history.weekend, start, plan.horizon_days, plan.samples, np.random.default_rng(plan.seed))
    gather = Gather(idx, len(history.days))
    return _result(plan, history, catalog, start, simulation_id, prepared,
                   Samples.of(baseline, gather), Samples.of(scenario, gather))


def _prepare(rp: ResourcePlan, history: History, catalog: Catalog, given: Mapping[str, CostInputs]) -> Prepared:
    """The resource's constants from the whole history, with notes on what its cost model rests on."""
    cost = given.get(rp.resource_id) or model_inputs(rp.resource, stats_from_history(history, rp.resource_id),
                                                     catalog)
    prep = KIND_MODELS[rp.resource.kind].prepare(rp, history, catalog, cost)
    if cost.basis == "upper_bound":
        prep.notes.append("cost rests on an upper bound (the p99 duration stands in for the mean): it reads high")
    if cost.assumptions:
        prep.notes.append("cost rests on labelled assumptions: " + ", ".join(cost.assumptions))
    return prep


def _grid(plan: SimulationPlan, history: History, start: date) -> Grid:
    hours = plan.horizon_days * HOURS_PER_DAY
    shape = (plan.horizon_days, 1, HOURS_PER_DAY)
    mask = off_hours_mask(plan.off_hours, start, hours) if plan.off_hours else None
    return Grid(history=history, t=traffic_factor(plan, hours).reshape(shape),
                off=None if mask is None else mask.reshape(shape))


def _evaluate(plan: SimulationPlan, grid: Grid, catalog: Catalog,
              prepared: Mapping[str, Prepared]) -> tuple[SideTables, SideTables]:
    """Both sides' day-pair tables; an unchanged resource's scenario is its baseline."""
    service = plan.service
    terms = ServiceTerms(sla=service.sla, catalog=catalog,
                         target_utilization=service.policy.rightsizing.cpu_target_utilization,
                         allow_spot=service.policy.allow_spot)
    baseline, scenario = SideTables(grid.shape), SideTables(grid.shape)
    for rp in plan.resources:
        evaluate, prep = KIND_MODELS[rp.resource.kind].evaluate, prepared[rp.resource_id]
        base = tables(evaluate(terms, rp, rp.baseline_variant, grid, prep), grid.shape)
        baseline.add(rp.resource_id, base)
        scen = tables(evaluate(terms, rp, rp.scenario_variant, grid, prep), grid.shape) if rp.changed else base
        scenario.add(rp.resource_id, scen)
    return baseline, scenario


def _result(plan: SimulationPlan, history: History, catalog: Catalog, start: date, simulation_id: str,
            prepared: Mapping[str, Prepared], baseline: Samples, scenario: Samples) -> SimulationResult:
    pct = PercentileBatch(HOURS_PER_MONTH / (plan.horizon_days * HOURS_PER_DAY))
    rows = [(rp, _resource_rows(pct, rp, baseline, scenario, plan.samples)) for rp in plan.resources]
    totals = (pct.add(baseline.total()), pct.add(scenario.total()), pct.add(baseline.total() - scenario.total()))
    pct.compute()
    per_resource = [ResourceOutcome(
        resource_id=rp.resource_id, kind=rp.resource.kind, changed=rp.changed,
        baseline_config=rp.baseline.model_dump(mode="json"), scenario_config=rp.scenario.model_dump(mode="json"),
        baseline_monthly_cost_usd=pct.get(b), scenario_monthly_cost_usd=pct.get(sc), savings_usd=pct.get(sv),
        lines=[CostLine(line=ln, baseline_monthly_usd=pct.get(lb).p50, scenario_monthly_usd=pct.get(ls).p50)
               for ln, lb, ls in lines],
        notes=[*rp.notes, *prepared[rp.resource_id].notes],
    ) for rp, (b, sc, sv, lines) in rows]
    return SimulationResult(
        simulation_id=simulation_id, service_id=plan.service.service_id, horizon_days=plan.horizon_days,
        samples=plan.samples, seed=plan.seed, traffic_multiplier=plan.traffic_multiplier,
        growth_pct_per_month=plan.growth_pct_per_month, recommendation_ids=plan.recommendation_ids,
        baseline=outcome(baseline, pct.get(totals[0]), BaselineOutcome),
        scenario=outcome(scenario, pct.get(totals[1]), ScenarioOutcome),
        savings_usd=pct.get(totals[2]),
        per_resource=per_resource, assumptions=_assumptions(plan, history, catalog, start),
        history_hours=history.hours_available,
    )


def _resource_rows(pct: PercentileBatch, rp: ResourcePlan, baseline: Samples, scenario: Samples,
                   samples: int) -> tuple[int, int, int, list[tuple[str, int, int]]]:
    """Indices in ``pct`` of the resource's baseline, scenario and savings totals and of its lines."""
    rid = rp.resource_id
    b_total, s_total = baseline.total(rid), scenario.total(rid)
    line_names = sorted({ln for (r, ln) in (*baseline.lines, *scenario.lines) if r == rid})
    zeros = np.zeros(samples)
    lines = [(ln, pct.add(baseline.lines.get((rid, ln), zeros)), pct.add(scenario.lines.get((rid, ln), zeros)))
             for ln in line_names]
    return pct.add(b_total), pct.add(s_total), pct.add(b_total - s_total), lines


def _assumptions(plan: SimulationPlan, history: History, catalog: Catalog, start: date) -> list[str]:
    weekend = history.weekend
    return [
        *ASSUMPTIONS,
        f"History: {history.hours_available} observed hours; {len(history.days)} days kept "
        f"({int((~weekend).sum())} weekdays, {int(weekend.sum())} weekend days); the horizon starts "
        f"{start.isoformat()} (UTC days).",
        f"Traffic x{plan.traffic_multiplier:g}, growth {plan.growth_pct_per_month:g}% a month (compounding).",
        f"Prices: {catalog.region} catalog as of {catalog.as_of}.",
        *catalog.warnings,
        *plan.notes,
    ]
