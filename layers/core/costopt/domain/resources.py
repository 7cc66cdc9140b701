"""Resources a service pays for. Each kind has an identity and a ``config`` block.

``config`` is what recommendations propose and changes record (before/after), so
it holds only what costopt can change; identity fields say which live resource it is.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from costopt.domain.common import AccountId, Model, ResourceId, TagKey, TagValue


class ResourceKind(StrEnum):
    """The kinds of resource costopt models; the value is the ``kind`` field on the wire."""

    LAMBDA_FUNCTION = "lambda_function"
    ECS_SERVICE = "ecs_service"
    EC2_INSTANCE = "ec2_instance"
    EBS_VOLUME = "ebs_volume"
    DYNAMODB_TABLE = "dynamodb_table"
    GENERIC = "generic"


Architecture = Literal["x86_64", "arm64"]
CPU_UNITS_PER_VCPU = 1024  # ECS task CPU units in one vCPU
InstanceType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", max_length=32)]


class ResourceBase(Model):
    resource_id: ResourceId = Field(description="Unique within the service; used in recommendations")
    name: str | None = Field(default=None, max_length=256)
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
                               description="Defaults to the service's region")
    account_id: AccountId | None = Field(
        default=None, description="The AWS account it lives in; unset: the account costopt runs in. Another "
                                  "account is reached through its member role (STS AssumeRole with the ExternalId)")
    arn: str | None = Field(default=None, max_length=2048, description="Its ARN, as discovery found it")
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=50)
    vanished_at: datetime | None = Field(
        default=None, description="Set by discovery when the live resource was no longer found (when first "
                                  "missed); cleared when it is found again. A vanished resource gets no "
                                  "recommendations")


# ------------------------------------------------------------------ Lambda


class LambdaConfig(Model):
    memory_mb: int = Field(ge=128, le=10240)
    architecture: Architecture = "x86_64"
    provisioned_concurrency: int = Field(default=0, ge=0, le=10_000)


class LambdaFunction(ResourceBase):
    kind: Literal[ResourceKind.LAMBDA_FUNCTION] = ResourceKind.LAMBDA_FUNCTION
    function_name: str = Field(min_length=1, max_length=170, description="Function name or ARN")
    config: LambdaConfig


# ------------------------------------------------------------------ ECS (Fargate)


class EcsConfig(Model):
    cpu_units: int = Field(ge=256, le=16384, description="Task CPU units (1024 = 1 vCPU)")
    memory_mb: int = Field(ge=512, le=122_880)
    desired_count: int = Field(ge=0, le=5000)
    min_count: int | None = Field(default=None, ge=0, le=5000, description="Autoscaling minimum")
    max_count: int | None = Field(default=None, ge=0, le=5000, description="Autoscaling maximum")
    architecture: Architecture = "x86_64"
    capacity: Literal["on_demand", "spot"] = "on_demand"

    @model_validator(mode="after")
    def _bounds(self) -> EcsConfig:
        if self.min_count is not None and self.max_count is not None and self.min_count > self.max_count:
            raise ValueError("min_count must be <= max_count")
        return self


class EcsService(ResourceBase):
    kind: Literal[ResourceKind.ECS_SERVICE] = ResourceKind.ECS_SERVICE
    cluster: str = Field(min_length=1, max_length=255)
    service_name: str = Field(min_length=1, max_length=255)
    target_group_arn: str | None = Field(default=None, max_length=512,
                                         description="ALB target group for latency/request metrics")
    load_balancer_arn: str | None = Field(default=None, max_length=512)
    config: EcsConfig


# ------------------------------------------------------------------ EC2


class Ec2Config(Model):
    instance_type: InstanceType


class Ec2Instance(ResourceBase):
    kind: Literal[ResourceKind.EC2_INSTANCE] = ResourceKind.EC2_INSTANCE
    instance_id: str = Field(pattern=r"^i-[0-9a-f]{8,17}$")
    config: Ec2Config


# ------------------------------------------------------------------ EBS


class EbsConfig(Model):
    volume_type: Literal["gp2", "gp3", "io1", "io2", "st1", "sc1"]
    size_gb: int = Field(ge=1, le=65_536)
    iops: int | None = Field(default=None, ge=100, le=256_000)
    throughput_mbps: int | None = Field(default=None, ge=125, le=4_000)


class EbsVolume(ResourceBase):
    kind: Literal[ResourceKind.EBS_VOLUME] = ResourceKind.EBS_VOLUME
    volume_id: str = Field(pattern=r"^vol-[0-9a-f]{8,17}$")
    config: EbsConfig


# ------------------------------------------------------------------ DynamoDB


class DynamoDbConfig(Model):
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"]
    rcu: int | None = Field(default=None, ge=1, le=1_000_000)
    wcu: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _capacity(self) -> DynamoDbConfig:
        if self.billing_mode == "PROVISIONED" and (self.rcu is None or self.wcu is None):
            raise ValueError("PROVISIONED needs rcu and wcu")
        return self


class DynamoDbTable(ResourceBase):
    kind: Literal[ResourceKind.DYNAMODB_TABLE] = ResourceKind.DYNAMODB_TABLE
    table_name: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    config: DynamoDbConfig


# ------------------------------------------------------------------ generic (e.g. Kubernetes)


class GenericConfig(Model):
    replicas: int = Field(ge=0, le=10_000)
    cpu_cores: float = Field(gt=0, le=512, description="Per replica")
    memory_gb: float = Field(gt=0, le=4096, description="Per replica")
    price_per_core_hour_usd: float | None = Field(
        default=None, ge=0, le=100,
        description="What one core costs you for an hour (e.g. node price / allocatable cores). Unset: priced at "
                    "the region catalog's Fargate on-demand x86_64 per-vCPU-hour price, labelled as the estimate "
                    "generic_unit_price_estimate on every recommendation and plan")
    price_per_gb_hour_usd: float | None = Field(
        default=None, ge=0, le=100,
        description="What one GB of memory costs you for an hour. Unset: the Fargate on-demand x86_64 per-GB-hour "
                    "price, labelled as generic_unit_price_estimate")
    min_replicas: int | None = Field(default=None, ge=0, le=10_000)
    max_replicas: int | None = Field(default=None, ge=0, le=10_000)


class GenericResource(ResourceBase):
    kind: Literal[ResourceKind.GENERIC] = ResourceKind.GENERIC
    workload: str = Field(min_length=1, max_length=255, description="e.g. namespace/deployment")
    config: GenericConfig


Resource = Annotated[
    LambdaFunction | EcsService | Ec2Instance | EbsVolume | DynamoDbTable | GenericResource,
    Field(discriminator="kind"),
]
ResourceConfig = LambdaConfig | EcsConfig | Ec2Config | EbsConfig | DynamoDbConfig | GenericConfig

CONFIG_MODELS: dict[str, type[Model]] = {
    ResourceKind.LAMBDA_FUNCTION: LambdaConfig,
    ResourceKind.ECS_SERVICE: EcsConfig,
    ResourceKind.EC2_INSTANCE: Ec2Config,
    ResourceKind.EBS_VOLUME: EbsConfig,
    ResourceKind.DYNAMODB_TABLE: DynamoDbConfig,
    ResourceKind.GENERIC: GenericConfig,
}
