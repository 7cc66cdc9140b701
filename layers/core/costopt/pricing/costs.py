"""Price any resource: dispatch on its kind to the kind's price functions (``costopt.pricing.kinds``).

``config_cost(kind, config, usage, catalog)`` prices a (current or proposed) config under a
``ResourceCostUsage``; ``monthly_cost(resource, ...)`` a domain resource at its own config. The conventions
(USD unrounded, 730-hour month, per-month prices prorated by the calendar month) are
``costopt.pricing.breakdown``'s. The kinds' functions are re-exported here, where callers import them.
"""

from __future__ import annotations

from costopt.domain.resources import (
    DynamoDbConfig,
    DynamoDbTable,
    EbsConfig,
    EbsVolume,
    Ec2Config,
    Ec2Instance,
    EcsConfig,
    EcsService,
    GenericConfig,
    GenericResource,
    LambdaConfig,
    LambdaFunction,
    ResourceConfig,
    ResourceKind,
)
from costopt.pricing.breakdown import MB_PER_GB, SECONDS_PER_HOUR, CostBreakdown, PricingError, ResourceCostUsage
from costopt.pricing.catalog import Catalog, bundled_catalog
from costopt.pricing.kinds.dynamodb_table import BillingMode, dynamodb_monthly
from costopt.pricing.kinds.ebs_volume import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    VolumeType,
    ebs_monthly,
    gp2_baseline_iops,
    gp2_max_throughput_mbps,
)
from costopt.pricing.kinds.ec2_instance import (
    GRAVITON_FAMILY,
    InstanceType,
    ec2_hourly,
    ec2_monthly,
    graviton_equivalent,
    instance_type,
    instance_types,
)
from costopt.pricing.kinds.ecs_service import (
    Capacity,
    fargate_hourly,
    fargate_monthly,
    fargate_spot_supported,
    fargate_valid_pairs,
    is_valid_fargate,
    smallest_valid_fargate,
)
from costopt.pricing.kinds.generic import GenericUnitPrices, generic_hourly, generic_unit_prices
from costopt.pricing.kinds.lambda_function import (
    LAMBDA_BILLING_GRANULARITY_MS,
    lambda_billed_duration_ms,
    lambda_cost,
    lambda_gb_second_price,
    lambda_gb_seconds,
    lognormal_log_sd,
)

__all__ = [
    "GP3_BASELINE_IOPS", "GP3_BASELINE_THROUGHPUT_MBPS", "GRAVITON_FAMILY", "LAMBDA_BILLING_GRANULARITY_MS",
    "MB_PER_GB", "SECONDS_PER_HOUR", "AnyResource", "BillingMode", "Capacity", "CostBreakdown", "GenericUnitPrices",
    "InstanceType", "PricingError", "ResourceCostUsage", "VolumeType", "config_cost", "dynamodb_monthly",
    "ebs_monthly", "ec2_hourly", "ec2_monthly", "fargate_hourly", "fargate_monthly", "fargate_spot_supported",
    "fargate_valid_pairs", "generic_hourly", "generic_unit_prices", "gp2_baseline_iops", "gp2_max_throughput_mbps",
    "graviton_equivalent", "instance_type", "instance_types", "is_valid_fargate", "lambda_billed_duration_ms",
    "lambda_cost", "lambda_gb_second_price", "lambda_gb_seconds", "lognormal_log_sd", "monthly_cost",
    "smallest_valid_fargate",
]

AnyResource = LambdaFunction | EcsService | Ec2Instance | EbsVolume | DynamoDbTable | GenericResource


def config_cost(
    kind: str, config: ResourceConfig, usage: ResourceCostUsage | None = None, catalog: Catalog | None = None
) -> CostBreakdown:
    """Price a resource ``config`` of ``kind`` (current or proposed) under ``usage``."""
    u = usage or ResourceCostUsage()
    cat = catalog or bundled_catalog()
    if kind == ResourceKind.LAMBDA_FUNCTION and isinstance(config, LambdaConfig):
        return lambda_cost(
            cat, invocations=u.invocations, avg_duration_ms=u.avg_duration_ms, memory_mb=config.memory_mb,
            architecture=config.architecture, provisioned_concurrency=config.provisioned_concurrency,
            free_tier=u.free_tier, hours=u.hours, init_ms_per_invocation=u.init_ms_per_invocation,
            month_hours=u.month_hours,
        )
    if kind == ResourceKind.ECS_SERVICE and isinstance(config, EcsConfig):
        tasks = config.desired_count if u.avg_replicas is None else u.avg_replicas
        return fargate_monthly(
            cat, cpu_units=config.cpu_units, memory_mb=config.memory_mb, architecture=config.architecture,
            capacity=config.capacity, tasks=tasks, hours=u.hours,
        )
    if kind == ResourceKind.EC2_INSTANCE and isinstance(config, Ec2Config):
        return ec2_monthly(cat, config.instance_type, hours=u.hours * u.running_fraction)
    if kind == ResourceKind.EBS_VOLUME and isinstance(config, EbsConfig):
        return ebs_monthly(cat, config.volume_type, config.size_gb, config.iops, config.throughput_mbps, hours=u.hours,
                           month_hours=u.month_hours)
    if kind == ResourceKind.DYNAMODB_TABLE and isinstance(config, DynamoDbConfig):
        return dynamodb_monthly(
            cat, billing_mode=config.billing_mode, rcu=config.rcu, wcu=config.wcu,
            read_request_units=u.read_request_units, write_request_units=u.write_request_units,
            storage_gb=u.storage_gb, hours=u.hours, month_hours=u.month_hours,
        )
    if kind == ResourceKind.GENERIC and isinstance(config, GenericConfig):
        return CostBreakdown.of({"compute": generic_hourly(config, u.avg_replicas, cat) * u.hours})
    raise PricingError(f"cannot price a {type(config).__name__} as {kind!r}")


def monthly_cost(
    resource: AnyResource, usage: ResourceCostUsage | None = None, catalog: Catalog | None = None
) -> CostBreakdown:
    """Price any domain resource (``costopt.domain.resources.Resource``) at its own config."""
    kind = getattr(resource, "kind", None)
    config = getattr(resource, "config", None)
    if not isinstance(kind, str) or config is None:
        raise PricingError(f"not a resource: {type(resource).__name__}")
    return config_cost(kind, config, usage, catalog)
