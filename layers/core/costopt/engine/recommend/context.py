"""What a recommender takes and returns: its input (``Context``) and its output (a ``Plan`` of ``Option``s).

A recommender takes a ``Context`` (service, resource, its usage, price catalog, strategy) and returns
a ``Plan``: the resource's current monthly cost and its candidate ``Option``s, each with a
``Prediction`` for the SLA engine. Orchestration (``engine.recommend.orchestrator``) checks every option
against the SLA, ranks and filters them. A recommender may return options already known to fail (e.g. the
cheapest candidate of a ladder): they end up under ``rejected`` with the failing clauses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from costopt.domain.recommendation import Action, SlaVerdict, Strategy
from costopt.domain.resources import ResourceConfig
from costopt.domain.service import RightsizingPolicy, Service, Sla
from costopt.engine.cost_model import CostInputs, cost_inputs, monthly, usage_stats
from costopt.engine.sla import Prediction, evaluate

if TYPE_CHECKING:
    from costopt.observe.usage import ResourceUsage
    from costopt.pricing import Catalog


@dataclass
class Context:
    service: Service
    resource: Any  # one of costopt.domain.resources.* (the discriminated Resource union)
    usage: ResourceUsage
    catalog: Catalog
    strategy: Strategy
    cost: CostInputs | None = None
    """The resource's usage and cost model (``engine.cost_model``); built from ``usage`` when not given."""

    def __post_init__(self) -> None:
        if self.cost is None:
            self.cost = cost_inputs(self.resource, usage_stats(self.usage), self.catalog)

    @property
    def model(self) -> CostInputs:
        assert self.cost is not None
        return self.cost

    def monthly(self, config: ResourceConfig | dict[str, Any] | None = None) -> float:
        """Monthly USD (unrounded) of ``config`` (today's when None; a dict is validated as the kind's
        config) under the shared cost model."""
        resolved: ResourceConfig | None = (type(self.resource.config).model_validate(config)
                                           if isinstance(config, dict) else config)
        return monthly(self.resource, self.model, self.catalog, resolved)

    @property
    def sla(self) -> Sla:
        return self.service.sla

    @property
    def rs(self) -> RightsizingPolicy:
        return self.service.policy.rightsizing

    @property
    def q(self) -> float:
        """The sizing percentile as a quantile (0.95 by default)."""
        return self.rs.cpu_percentile / 100.0

    def verdict(self, p: Prediction) -> SlaVerdict:
        return evaluate(self.sla, p, allow_spot=self.service.policy.allow_spot)


@dataclass
class Option:
    action: Action
    proposed: dict[str, Any]
    monthly_cost_usd: float
    prediction: Prediction
    disruptive: bool = False
    auto_applicable: bool = True
    risk_floor: int = 0
    notes: list[str] = field(default_factory=list)
    strategy: Strategy | None = None
    verdict: SlaVerdict | None = None  # filled by the orchestrator (or a ladder that already checked it)
    assumptions: list[str] = field(default_factory=list)  # ids of the assumptions its cost rests on, e.g.
    # "fargate_spot_discount", "generic_unit_price_estimate" (costopt.pricing.catalog); empty = published prices


@dataclass
class Plan:
    current_cost_usd: float
    options: list[Option] = field(default_factory=list)
    percentiles: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)



__all__ = ["Context", "Option", "Plan"]
