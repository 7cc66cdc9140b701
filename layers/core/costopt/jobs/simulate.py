"""Run simulations: load what a scenario needs, run the engine, store the result.

I/O lives here (services, observations, recommendations, prices, the Simulations table); the
engine (``costopt.engine.simulation``, numpy) is imported lazily, only when a scenario runs.

Public API::

    run_scenario(scenario: Scenario, *, now: datetime | None = None, deps: Dependencies | None = None)
        -> SimulationResult                     # stored; raises CostoptError (404/409/422)
    run_batch(scenarios: list[dict], *, now=None, deps=None) -> BatchResult
        each scenario validated and run on its own; a bad one becomes its own problem entry;
        results in request order; more than MAX_BATCH -> PayloadTooLarge (413). A dependency
        failing (DynamoDB, a connector: ``costopt.dependency``) is not a scenario's problem: it
        fails the whole batch (a 503 with Retry-After), nothing is stored, the client retries it
    Dependencies(services, recommendations, usage, catalog, simulations) -- injectable for tests/bench
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from costopt import clock
from costopt import deps as wiring
from costopt.config import settings
from costopt.dependency import dependency_failure
from costopt.domain.recommendation import Recommendation
from costopt.domain.service import Service
from costopt.domain.simulation import (
    MAX_BATCH,
    BatchEntry,
    BatchProblem,
    BatchResult,
    Scenario,
    SimulationResult,
)
from costopt.errors import PROBLEM_BASE, CostoptError, InvalidRequest, NotFound, PayloadTooLarge
from costopt.jobs.usage import load_usage
from costopt.observability import logger
from costopt.observe.usage import ServiceUsage
from costopt.ports import Recommendations, Services, Simulations
from costopt.pricing.catalog import Catalog

if TYPE_CHECKING:
    from costopt.engine.cost_model import CostInputs
    from costopt.engine.simulation.history import History

MAX_LOOKBACK_DAYS = 93


def _usage(service: Service, lookback_days: int, now: datetime) -> ServiceUsage:
    return load_usage(service, lookback_days, now)


@dataclass
class Dependencies:
    services: Services = field(default_factory=wiring.services)
    recommendations: Recommendations = field(default_factory=wiring.recommendations)
    usage: Callable[[Service, int, datetime], ServiceUsage] = _usage
    catalog: Callable[[str], Catalog] = wiring.catalog
    simulations: Simulations = field(default_factory=wiring.simulations)


def lookback_days(service: Service) -> int:
    return min(MAX_LOOKBACK_DAYS, max(service.policy.lookback_days, settings.simulation_lookback_days))


class _Loaded:
    """Per-request cache: a batch that simulates one service many times loads it once."""

    def __init__(self, deps: Dependencies, now: datetime) -> None:
        self.deps, self.now = deps, now
        self._services: dict[str, Service] = {}
        self._history: dict[str, History | CostoptError] = {}
        self._usage: dict[str, ServiceUsage] = {}
        self._active: dict[str, list[Recommendation]] = {}

    def service(self, service_id: str) -> Service:
        if service_id not in self._services:
            self._services[service_id] = self.deps.services.get(service_id)
        return self._services[service_id]

    def history(self, service: Service) -> History:
        from costopt.engine.simulation.history import history_from_usage

        sid = service.service_id
        if sid not in self._history:
            try:
                usage = self.deps.usage(service, lookback_days(service), self.now)
                self._usage[sid] = usage
                self._history[sid] = history_from_usage(usage, min_hours=settings.simulation_min_history_hours)
            except CostoptError as exc:
                self._history[sid] = exc
        cached = self._history[sid]
        if isinstance(cached, CostoptError):
            raise cached
        return cached

    def cost_inputs(self, service: Service, catalog: Catalog) -> dict[str, CostInputs]:
        """Each resource's shared cost model over the same lookback (what the recommender prices with)."""
        from costopt.engine.cost_model import cost_inputs, usage_stats

        usage = self._usage.get(service.service_id)
        if usage is None:
            return {}
        out: dict[str, CostInputs] = {}
        for res in service.resources:
            ru = usage.resource(res.resource_id)
            if ru is not None:
                out[res.resource_id] = cost_inputs(res, usage_stats(ru), catalog)
        return out

    def active(self, service_id: str) -> list[Recommendation]:
        if service_id not in self._active:
            self._active[service_id] = self.deps.recommendations.list_all(service_id, "ACTIVE")
        return self._active[service_id]

    def by_ids(self, service_id: str, ids: list[str]) -> dict[str, Recommendation]:
        found: dict[str, Recommendation] = {}
        for rid in dict.fromkeys(ids):
            try:
                found[rid] = self.deps.recommendations.get(service_id, rid)
            except NotFound:
                continue
        return found


def _simulate(scenario: Scenario, loaded: _Loaded, simulation_id: str) -> SimulationResult:
    from costopt.engine.simulation.build import build_plan
    from costopt.engine.simulation.run import simulate

    service = loaded.service(scenario.service_id)
    catalog = loaded.deps.catalog(service.region)
    seed = scenario.seed if scenario.seed is not None else secrets.randbelow(2**32)
    plan = build_plan(
        service, scenario, catalog, seed=seed,
        recommendations=lambda ids: loaded.by_ids(service.service_id, ids),
        active_recommendations=lambda: loaded.active(service.service_id),
    )
    history = loaded.history(service)
    result = simulate(plan, history, catalog, simulation_id=simulation_id,
                      cost_inputs=loaded.cost_inputs(service, catalog))
    return result.model_copy(update={"template": scenario.template})


def run_scenario(scenario: Scenario, *, now: datetime | None = None,
                 deps: Dependencies | None = None) -> SimulationResult:
    now = now or clock.now()
    using = deps or Dependencies()
    result = _simulate(scenario, _Loaded(using, now), wiring.new_simulation_id(now))
    return using.simulations.put(result, now)


def _problem(exc: CostoptError) -> BatchProblem:
    return BatchProblem(type=PROBLEM_BASE + exc.type_slug, title=exc.title, status=exc.status, detail=exc.detail,
                        errors=exc.errors)


def run_batch(scenarios: list[Any], *, now: datetime | None = None,
              deps: Dependencies | None = None) -> BatchResult:
    if len(scenarios) > MAX_BATCH:
        raise PayloadTooLarge(f"a batch holds at most {MAX_BATCH} scenarios; got {len(scenarios)}",
                              extra={"max_scenarios": MAX_BATCH, "scenarios": len(scenarios)},
                              errors=[{"loc": ["body", "scenarios"], "msg": f"at most {MAX_BATCH} items"}])
    now = now or clock.now()
    deps = deps or Dependencies()
    loaded = _Loaded(deps, now)
    entries: list[BatchEntry] = []
    results: list[SimulationResult] = []
    for i, raw in enumerate(scenarios):
        try:
            try:
                scenario = Scenario.model_validate(raw)
            except ValidationError as exc:
                errors = [{"loc": ["body", "scenarios", i, *e["loc"]], "msg": e["msg"], "type": e["type"]}
                          for e in exc.errors()]
                invalid = InvalidRequest("the scenario does not match the schema", errors=errors)
                entries.append(BatchEntry(index=i, status=invalid.status, problem=_problem(invalid)))
                continue
            result = _simulate(scenario, loaded, wiring.new_simulation_id(now))
            results.append(result)
            entries.append(BatchEntry(index=i, status=200, result=result))
        except CostoptError as exc:
            if exc.status == 503:  # DependencyUnavailable: the request's, not the scenario's
                raise
            entries.append(BatchEntry(index=i, status=exc.status, problem=_problem(exc)))
        except Exception as exc:  # one scenario's bug must not fail the others
            if dependency_failure(exc) is not None:
                raise
            logger.exception("simulation failed", extra={"index": i})
            bug = CostoptError("an unexpected error occurred; it has been logged")
            entries.append(BatchEntry(index=i, status=bug.status, problem=_problem(bug)))
    if results:
        stored = {r.simulation_id: r for r in deps.simulations.put_many(results, now)}
        entries = [e.model_copy(update={"result": stored[e.result.simulation_id]}) if e.result else e
                   for e in entries]
    ok = sum(1 for e in entries if e.result is not None)
    return BatchResult(results=entries, succeeded=ok, failed=len(entries) - ok)


def get_simulation(simulation_id: str, *, deps: Dependencies | None = None) -> SimulationResult:
    repo = deps.simulations if deps else wiring.simulations()
    return repo.get(simulation_id)
