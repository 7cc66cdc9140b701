"""Simulation: what a scenario asks for and what the engine answers (DESIGN §4, Simulation).

A scenario is a set of config overrides (``changes``), recommendation ids and/or a template,
plus the traffic it should be tested under. The result keeps the field names of the API
contract: ``baseline``/``scenario`` cost percentiles and SLA probability, ``savings_usd``,
``per_resource`` and ``assumptions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from costopt.domain.common import Model, ResourceId, ServiceId

TemplateId = Literal[
    "rightsize-all", "graviton", "spot", "traffic-spike", "seasonal-peak",
    "nights-and-weekends", "gp3-migration",
]

MAX_BATCH = 50

# as ApplyRequest.recommendation_id: an empty or >1 KB id would reach DynamoDB as an invalid key
RecommendationRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ScenarioChange(Model):
    resource_id: ResourceId
    config: dict[str, Any] = Field(
        min_length=1, max_length=20,
        description="Config fields to change; merged onto the resource's current config and validated "
                    "with that kind's config model",
    )


class TemplateRef(Model):
    id: TemplateId
    params: dict[str, Any] = Field(default_factory=dict, max_length=20,
                                   description="See GET /v1/simulate/templates for each template's schema")


class Scenario(Model):
    """What to simulate. With no changes, recommendation ids or template, it simulates the
    current configuration alone under the given traffic."""

    service_id: ServiceId
    changes: list[ScenarioChange] = Field(default_factory=list, max_length=100)
    recommendation_ids: list[RecommendationRef] = Field(default_factory=list, max_length=100)
    template: TemplateRef | None = None
    traffic_multiplier: float = Field(default=1.0, ge=0.1, le=100, description="Scales every hour's load")
    growth_pct_per_month: float = Field(default=0.0, ge=-90, le=1000,
                                        description="Compounding monthly traffic growth over the horizon")
    horizon_days: int = Field(default=30, ge=1, le=90)
    samples: int = Field(default=1000, ge=100, le=10_000)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1,
                             description="Fixes the bootstrap; omitted = random (the result reports it)")


class Percentiles(Model):
    p10: float
    p50: float
    p90: float


class BreachedClause(Model):
    """One SLA clause of one resource over the horizon (also used for clauses that never broke)."""

    clause: str = Field(description="e.g. latency_p99_ms, max_cpu_utilization_pct, min_replicas")
    resource_id: str
    limit: float
    probability: float = Field(description="Share of samples with at least one breached hour")
    expected_breach_hours: float = Field(description="Mean breached hours per sample over the horizon")
    predicted_p99: float | None = Field(
        default=None, description="The worst hour's predicted value in the 99th-percentile sample (the 1st "
                                  "percentile for lower bounds such as min_replicas); null when unbounded")


class BaselineOutcome(Model):
    monthly_cost_usd: Percentiles
    sla_probability: float = Field(description="Share of samples in which every clause holds for the whole horizon")
    expected_breach_hours: float = 0.0
    breached_clauses: list[BreachedClause] = Field(default_factory=list,
                                                   description="Clauses breached in at least one sample")
    clauses: list[BreachedClause] = Field(default_factory=list,
                                          description="Every clause evaluated, including those that always held")


class ScenarioOutcome(BaselineOutcome):
    pass


class CostLine(Model):
    line: str
    baseline_monthly_usd: float = Field(description="p50 over samples")
    scenario_monthly_usd: float = Field(description="p50 over samples")


class ResourceOutcome(Model):
    """One resource's simulated month: both configs, their cost percentiles and the paired saving."""

    resource_id: str
    kind: str
    changed: bool = Field(description="The scenario changes its config, off hours or Spot")
    baseline_config: dict[str, Any]
    scenario_config: dict[str, Any]
    baseline_monthly_cost_usd: Percentiles
    scenario_monthly_cost_usd: Percentiles
    savings_usd: Percentiles = Field(description="Baseline - scenario, paired per sample")
    lines: list[CostLine] = Field(default_factory=list, description="Cost lines (p50 of each side)")
    notes: list[str] = Field(default_factory=list, description="What the resource's model rests on")


class SimulationResult(Model):
    simulation_id: str
    service_id: ServiceId
    horizon_days: int
    samples: int
    seed: int
    traffic_multiplier: float = 1.0
    growth_pct_per_month: float = 0.0
    template: TemplateRef | None = None
    recommendation_ids: list[str] = Field(default_factory=list)
    baseline: BaselineOutcome
    scenario: ScenarioOutcome
    savings_usd: Percentiles
    per_resource: list[ResourceOutcome] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    history_hours: int = Field(default=0, description="Hours of observed history the bootstrap drew from")
    created_at: datetime | None = None
    expires_at: datetime | None = None


class BatchProblem(Model):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BatchEntry(Model):
    index: int
    status: int
    result: SimulationResult | None = None
    problem: BatchProblem | None = None


class BatchResult(Model):
    results: list[BatchEntry]
    succeeded: int
    failed: int


class TemplateInfo(Model):
    id: TemplateId
    description: str
    parameters: dict[str, Any] = Field(description="JSON schema of `template.params`")
