"""A registered service: what it runs on, what it promised, what it may spend."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BeforeValidator, ConfigDict, Field, model_validator

from costopt.domain.common import AwsRegion, Fraction, Model, Percent, ServiceId, ShortText, TagKey, TagValue
from costopt.domain.discovery import ConfigDrift, DiscoveryOrigin
from costopt.domain.resources import Resource

# A service names where its telemetry and billing come from: nothing is analysed on made-up data by default.
TELEMETRY_REQUIRED = ("name the telemetry source: set telemetry.source to \"cloudwatch\" (AWS resources) or "
                      "\"prometheus\" (Kubernetes, with telemetry.prometheus), or register the resources through "
                      "POST /v1/discover, which sets it")
BILLING_REQUIRED = ("name the billing source: set billing.source to \"cost_explorer\" (with "
                    "billing.cost_allocation_tag), \"http\" or \"focus_csv\" (with billing.focus_csv_uri), or "
                    "register the resources through POST /v1/discover, which sets it")


def _named(message: str) -> BeforeValidator:
    """Refuse a missing (None) value with ``message``: the field defaults to None only to be refused so."""

    def check(value: object) -> object:
        if value is None:
            raise ValueError(message)
        return value

    return BeforeValidator(check)


def _required(*names: str) -> Any:
    """A ``json_schema_extra`` that declares ``names`` required: they default to None only so that a missing
    one is refused with a message that says what to set (their validators raise on None)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:
            schema.get("properties", {}).get(name, {}).pop("default", None)

    return extra


class Sla(Model):
    latency_p95_ms: float | None = Field(default=None, gt=0, le=600_000)
    latency_p99_ms: float | None = Field(default=None, gt=0, le=600_000)
    availability_pct: float | None = Field(default=None, ge=50, le=100)
    max_error_rate_pct: float | None = Field(default=None, ge=0, le=100)
    max_cpu_utilization_pct: float = Field(default=80, gt=0, le=100)
    max_memory_utilization_pct: float = Field(default=90, gt=0, le=100)
    min_replicas: int | None = Field(default=None, ge=0, le=1000)

    @property
    def effective_min_replicas(self) -> int:
        if self.min_replicas is not None:
            return self.min_replicas
        return 2 if (self.availability_pct or 0) >= 99.9 else 1


class BudgetNotification(Model):
    type: Literal["ACTUAL", "FORECASTED"] = "ACTUAL"
    threshold: float = Field(gt=0, le=1_000_000_000)
    kind: Literal["PERCENTAGE", "ABSOLUTE"] = "PERCENTAGE"

    @model_validator(mode="after")
    def _pct(self) -> BudgetNotification:
        if self.kind == "PERCENTAGE" and self.threshold > 1000:
            raise ValueError("a PERCENTAGE threshold is at most 1000")
        return self


def _default_notifications() -> list[BudgetNotification]:
    return [
        BudgetNotification(type="ACTUAL", threshold=80),
        BudgetNotification(type="ACTUAL", threshold=100),
        BudgetNotification(type="FORECASTED", threshold=100),
    ]


class Budget(Model):
    monthly_usd: float = Field(gt=0, le=1_000_000_000)
    notifications: list[BudgetNotification] = Field(default_factory=_default_notifications, max_length=20)


class SyntheticProfile(Model):
    """Parameters of the deterministic synthetic telemetry/billing generator."""

    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="Defaults to a hash of service_id")
    base_rps: float = Field(default=20.0, ge=0, le=1_000_000)
    cpu_ms_per_request: float = Field(default=40.0, ge=0, le=600_000,
                                      description="CPU time per request at one full vCPU")
    io_ms_per_request: float = Field(default=30.0, ge=0, le=600_000,
                                     description="Time per request not spent on CPU (I/O waits)")
    error_rate_pct: Percent = 0.1
    lambda_insights: bool = Field(default=True,
                                  description="Emit Lambda cpu_time_ms, init_duration_ms and memory metrics")
    cold_start_pct: Percent = Field(default=0.5,
                                    description="Lambda: share of invocations that start a new environment")
    init_ms: float = Field(default=350.0, ge=0, le=10_000, description="Lambda: INIT duration of a cold start")
    memory_utilization_pct: Percent = 35.0
    daily_amplitude: Fraction = 0.6
    weekend_factor: float = Field(default=0.6, ge=0, le=2)
    noise: Fraction = 0.1
    spike_probability: Fraction = 0.01
    history_days: int = Field(default=21, ge=0, le=93)


class PrometheusQueries(Model):
    url: AnyHttpUrl | None = Field(default=None, description="Defaults to PROMETHEUS_URL")
    namespace: str | None = Field(default=None, max_length=253)
    selector: str | None = Field(default=None, max_length=1024, description="Extra label matchers")
    queries: dict[str, str] = Field(default_factory=dict, max_length=20,
                                    description="metric name -> PromQL template overriding the default")


class Telemetry(Model):
    model_config = ConfigDict(json_schema_extra=_required("source"))

    source: Annotated[Literal["cloudwatch", "prometheus", "synthetic"], _named(TELEMETRY_REQUIRED)] = Field(
        default=None, validate_default=True,
        description="Where metrics come from. Required. synthetic exists only where a deployment adds it (the "
                    "local stack's demo)")
    prometheus: PrometheusQueries | None = None
    synthetic: SyntheticProfile = Field(default_factory=SyntheticProfile)
    period_s: int = Field(default=300, ge=60, le=3600, description="Resolution pulled from the source")


class CostAllocationTag(Model):
    key: str = Field(min_length=1, max_length=128)
    value: str = Field(min_length=1, max_length=256)


class Billing(Model):
    model_config = ConfigDict(json_schema_extra=_required("source"))

    source: Annotated[Literal["cost_explorer", "http", "focus_csv", "synthetic"], _named(BILLING_REQUIRED)] = Field(
        default=None, validate_default=True,
        description="Where costs come from. Required. synthetic exists only where a deployment adds it")
    cost_allocation_tag: CostAllocationTag | None = None
    account_id: str | None = Field(default=None, pattern=r"^\d{12}$")
    focus_csv_uri: str | None = Field(default=None, max_length=1024, description="s3://bucket/key or file path")


class RightsizingPolicy(Model):
    """The default formulas of the recommenders; override per service."""

    cpu_percentile: float = Field(default=95, ge=50, le=100)
    cpu_target_utilization: float = Field(default=0.7, ge=0.1, le=0.95)
    memory_headroom: float = Field(default=1.15, ge=1.0, le=3.0)
    idle_cpu_pct: float = Field(default=2.0, ge=0, le=20)
    min_savings_usd: float = Field(default=1.0, ge=0, le=1_000_000)
    min_savings_pct: Percent = 5.0


class Policy(Model):
    auto_apply: Literal["off", "low_risk"] = "off"
    auto_rollback: bool = True
    verify_hours: int = Field(default=24, ge=1, le=336)
    allow_disruptive: bool = False
    allow_spot: bool = Field(default=False, description="Allow Spot even when availability_pct >= 99.95")
    allow_graviton: bool = True
    strategy: Literal["cost", "balanced", "speed"] = "balanced"
    lookback_days: int = Field(default=14, ge=1, le=93)
    rightsizing: RightsizingPolicy = Field(default_factory=RightsizingPolicy)


class ServiceSpec(Model):
    """What a client sends to create or replace a service."""

    model_config = ConfigDict(json_schema_extra=_required("telemetry", "billing"))

    name: ShortText
    team: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    region: AwsRegion = "us-east-1"
    description: str | None = Field(default=None, max_length=1024)
    resources: list[Resource] = Field(default_factory=list, max_length=100)
    sla: Sla = Field(default_factory=Sla)
    budget: Budget | None = None
    telemetry: Annotated[Telemetry, _named(TELEMETRY_REQUIRED)] = Field(default=None, validate_default=True,
                                                                       description="Required")
    billing: Annotated[Billing, _named(BILLING_REQUIRED)] = Field(default=None, validate_default=True,
                                                                 description="Required")
    policy: Policy = Field(default_factory=Policy)
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=50)
    discovery: DiscoveryOrigin | None = Field(
        default=None, description="Set by POST /v1/discover: the selector that keeps this service in sync")
    drift: list[ConfigDrift] = Field(default_factory=list, max_length=50,
                                     description="Live configs discovery found changed, latest last")

    @model_validator(mode="after")
    def _unique_resources(self) -> ServiceSpec:
        seen: set[str] = set()
        for r in self.resources:
            if r.resource_id in seen:
                raise ValueError(f"duplicate resource_id {r.resource_id!r}")
            seen.add(r.resource_id)
        return self


class ServicePut(ServiceSpec):
    version: int | None = Field(
        default=None, ge=1,
        description="The version you read. Omit to create; give it to replace (a stale one gets 409).",
    )


class Service(ServiceSpec):
    service_id: ServiceId
    version: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime

    def resource(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources if r.resource_id == resource_id), None)


class ServiceSummary(Model):
    service_id: ServiceId
    name: str
    team: str
    region: str
    resource_count: int
    version: int
    updated_at: datetime
    health: str | None = Field(default=None, description="healthy|at_risk|breaching|no_data|stale")
    last_data_at: datetime | None = None
