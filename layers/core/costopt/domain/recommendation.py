"""Recommendations and their lifecycle (after Google's Recommender)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from costopt.domain.common import Model, ResourceId, ServiceId
from costopt.domain.resources import ResourceKind

RecommendationStatus = Literal[
    "ACTIVE", "CLAIMED", "SUCCEEDED", "FAILED", "DISMISSED", "ROLLED_BACK", "SUPERSEDED"
]

# Allowed lifecycle moves: from -> set of to
AUTO_APPLY_MAX_RISK = 1  # performance_risk 2 ("medium") and above always waits for a person


def auto_applicable(*, option_allows: bool, performance_risk: int, disruptive: bool, compliant: bool) -> bool:
    """The one rule for ``Recommendation.auto_applicable``."""
    return option_allows and performance_risk <= AUTO_APPLY_MAX_RISK and not disruptive and compliant


TRANSITIONS: dict[str, frozenset[str]] = {
    "ACTIVE": frozenset({"CLAIMED", "DISMISSED", "SUPERSEDED"}),
    "CLAIMED": frozenset({"SUCCEEDED", "FAILED", "ACTIVE"}),
    "DISMISSED": frozenset({"ACTIVE", "SUPERSEDED"}),
    "SUCCEEDED": frozenset({"ROLLED_BACK"}),
    "FAILED": frozenset({"ACTIVE", "SUPERSEDED"}),
    "ROLLED_BACK": frozenset(),
    "SUPERSEDED": frozenset(),
}
MUTABLE_FIELDS = frozenset({"status_reason", "applied_change_id", "realised"})
"""What a lifecycle transition may set besides the status (the rest of a recommendation is immutable)."""


def checked_transition(from_statuses: Iterable[str], to_status: str, fields: Iterable[str]) -> list[str]:
    """The sorted from-statuses of a transition to ``to_status`` setting ``fields``; ``ValueError`` when
    the lifecycle (``TRANSITIONS``) has no such move or a field is not ``MUTABLE_FIELDS``'."""
    froms = sorted(set(from_statuses))
    if not froms:
        raise ValueError("from_statuses must not be empty")
    for s in froms:
        if to_status not in TRANSITIONS.get(s, frozenset()):
            raise ValueError(f"{s} -> {to_status} is not a lifecycle transition")
    unknown = set(fields) - MUTABLE_FIELDS
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} on a recommendation")
    return froms

Action = Literal[
    "lambda_memory",
    "lambda_arm64",
    "lambda_drop_provisioned_concurrency",
    "ecs_task_size",
    "ecs_desired_count",
    "ecs_graviton",
    "ecs_spot",
    "ec2_rightsize",
    "ebs_gp3",
    "dynamodb_capacity_mode",
    "generic_replicas",
    "generic_size",
    "idle_stop",
    "idle_delete",
]
Priority = Literal["P1", "P2", "P3", "P4"]
Strategy = Literal["cost", "balanced", "speed"]


class SlaClauseVerdict(Model):
    clause: str = Field(description="e.g. latency_p99_ms, max_cpu_utilization_pct, min_replicas")
    limit: float
    predicted: float | None = None
    margin_pct: float | None = Field(default=None, description="(limit - predicted) / limit * 100")
    ok: bool
    breach_probability: float | None = Field(
        default=None, ge=0, le=1,
        description="predicted probability that the clause is breached at the option (lognormal error on the "
                    "prediction); None for rules (min_replicas, availability) and clauses not modelled")
    detail: str | None = None


class SlaVerdict(Model):
    compliant: bool
    clauses: list[SlaClauseVerdict] = Field(default_factory=list)

    @property
    def failing(self) -> list[SlaClauseVerdict]:
        return [c for c in self.clauses if not c.ok]


CostBasis = Literal["measured", "billed", "upper_bound", "config"]
"""What a cost figure rests on: measured usage (means) x prices; usage corrected to the bill; an upper bound
(e.g. a p99 duration standing in for the mean: the figure and its saving read high); the configuration alone
(a fixed price: instance-hours, capacity, storage)."""


class CostModelEvidence(Model):
    """How the resource's figures were priced (``costopt.engine.cost_model``) and how they compare with the bill."""

    basis: CostBasis
    upper_bound: bool = Field(description="True when a figure rests on an upper bound, not a measured mean")
    model_vs_bill_pct: float | None = Field(
        default=None, description="(model - bill) / bill x 100 for today's config over the lookback's billed days")
    billed_monthly_usd: float | None = Field(default=None, description="Mean billed day x 730 / 24")
    modelled_monthly_usd: float | None = Field(default=None, description="The model before any bill correction")
    bill_corrected: bool = Field(default=False, description="The gap exceeded ±5% and the model was corrected")
    bill_flagged: bool = Field(default=False, description="The gap exceeded ±5% and could not be corrected")
    detail: str | None = None
    assumptions: list[str] = Field(default_factory=list, description="Labelled assumptions the figures rest on")


class Evidence(Model):
    lookback_days: int
    window_start: datetime | None = None
    window_end: datetime | None = None
    hours_covered: int = 0
    percentiles: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    cost_model: CostModelEvidence | None = None


class RealisedSavings(Model):
    measured_at: datetime
    days_before: int
    days_after: int
    daily_cost_before_usd: float
    daily_cost_after_usd: float
    projected_monthly_savings_usd: float
    realised_monthly_savings_usd: float


class ConsideredOption(Model):
    """An option the engine considered for one resource: the action, the configs before and after, and its
    monthly money as published (``domain.money``: proposed + savings == current, each rounded to the cent)."""

    resource_id: ResourceId
    kind: ResourceKind
    action: Action
    current: dict[str, Any] = Field(description="Today's config (the kind's config block)")
    proposed: dict[str, Any] = Field(description='The config the option proposes ({"state": ...} for idle actions)')
    monthly_cost_current_usd: float = Field(description="Today's monthly cost (730 h), rounded to the cent")
    monthly_cost_proposed_usd: float = Field(description="The proposed config's monthly cost, rounded to the cent")
    monthly_savings_usd: float = Field(description="current - proposed, of the published figures")


class RejectedOption(ConsideredOption):
    """An option that was considered and failed an SLA clause (or another guard)."""

    failed_clauses: list[str]
    sla: SlaVerdict
    reason: str


class Recommendation(ConsideredOption):
    """A compliant option worth applying, with its evidence and lifecycle (``TRANSITIONS``)."""

    service_id: ServiceId
    recommendation_id: str
    savings_pct: float
    performance_risk: int = Field(ge=0, le=4)
    confidence: float = Field(ge=0, le=1, description=(
        "Probability that the option keeps every SLA clause (the product of 1 - each clause's "
        "breach_probability) times data_coverage"))
    data_coverage: float = Field(default=1.0, ge=0, le=1, description="Share of the lookback's hours observed")
    cost_basis: CostBasis = Field(default="config",
                                  description="What the cost figures rest on (see evidence.cost_model)")
    model_vs_bill_pct: float | None = Field(
        default=None, description="Model vs bill for today's config over the lookback, in % (None: no bill)")
    priority: Priority
    xor_group: str
    rank: int = Field(default=1, ge=1)
    disruptive: bool = False
    auto_applicable: bool = Field(
        default=True, description=(
            "Whether policy.auto_apply may apply it: compliant with the SLA, performance_risk at most "
            "AUTO_APPLY_MAX_RISK (1), not disruptive, and nothing a person must do (idle stop/delete, "
            "arm64 builds, Graviton AMIs/images)"))
    sla: SlaVerdict
    status: RecommendationStatus = "ACTIVE"
    status_reason: str | None = None
    etag: str = Field(description="Opaque version of the record: changes on every write (If-Match)")
    evidence: Evidence
    engine_version: str = Field(description="costopt.ENGINE_VERSION of the engine that computed it")
    strategy: Strategy | None = Field(default=None, description="The strategy that picked it (Lambda memory)")
    applied_change_id: str | None = Field(default=None, description="The change that applied it, once applied")
    realised: RealisedSavings | None = Field(
        default=None, description="The saving measured on the bill after the change (jobs.verify)")
    created_at: datetime
    updated_at: datetime


class InsufficientData(Model):
    """A resource (or one of its metrics) without enough data in the lookback to recommend on."""

    resource_id: ResourceId | None = None
    metric: str | None = None
    hours_available: int
    hours_required: int
    detail: str
