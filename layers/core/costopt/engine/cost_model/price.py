"""Pricing a config: what any config of a resource (today's or an option) costs under its cost inputs.

Per kind: **Lambda** invocations x (mean billed duration + billed INIT) x GB x the GB-second price, plus
requests (``cost_model.lambda_run``); **ECS / generic** tasks (replicas) running on average x the hourly price,
an autoscaled pool at the count its autoscaler would run (``cost_model.pools``); **EC2** hours running;
**EBS** the volume's configuration; **DynamoDB** on-demand = mean consumed units x seconds x price,
provisioned = capacity x hours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import DynamoDbConfig, Ec2Config, EcsConfig, GenericConfig, LambdaConfig, ResourceConfig
from costopt.engine.cost_model.pools import autoscaled_shape

if TYPE_CHECKING:
    from costopt.engine.cost_model.inputs import CostInputs
    from costopt.pricing import Catalog, CostBreakdown


def price(kind: str, config: ResourceConfig, inputs: CostInputs, catalog: Catalog, *,
          hours: float = HOURS_PER_MONTH) -> CostBreakdown:
    """The cost of ``config`` over ``hours`` (default a 730-hour month) under the resource's ``inputs``."""
    from costopt.pricing import ResourceCostUsage, config_cost

    month = hours / HOURS_PER_MONTH
    if isinstance(config, LambdaConfig):
        run = inputs.lambda_run
        if run is None:
            return config_cost(kind, config, ResourceCostUsage(hours=hours), catalog)
        _, billed, init = run.billed_ms(config.memory_mb)
        return config_cost(kind, config, ResourceCostUsage(
            hours=hours, invocations=run.invocations_per_month * month, avg_duration_ms=billed,
            init_ms_per_invocation=init if config.provisioned_concurrency == 0 else 0.0), catalog)
    if isinstance(config, (EcsConfig, GenericConfig)):
        shape = autoscaled_shape(config)
        if inputs.scaling is not None and shape is not None:
            replicas = inputs.scaling.replicas(shape.cores, shape.lo, shape.hi)
        else:
            count = config.desired_count if isinstance(config, EcsConfig) else config.replicas
            replicas = count * inputs.replica_factor
        return config_cost(kind, config, ResourceCostUsage(hours=hours, avg_replicas=replicas), catalog)
    if isinstance(config, Ec2Config):
        return config_cost(kind, config, ResourceCostUsage(hours=hours, running_fraction=inputs.running_fraction),
                           catalog)
    if isinstance(config, DynamoDbConfig):
        seconds = hours * 3600.0
        return config_cost(kind, config, ResourceCostUsage(
            hours=hours, read_request_units=inputs.rcu_per_s * seconds,
            write_request_units=inputs.wcu_per_s * seconds), catalog)
    return config_cost(kind, config, ResourceCostUsage(hours=hours), catalog)


def monthly(resource: Any, inputs: CostInputs, catalog: Catalog, config: ResourceConfig | None = None) -> float:
    """Monthly USD (unrounded) of ``config`` (default today's) of ``resource``."""
    return price(resource.kind, config if config is not None else resource.config, inputs, catalog).total_usd


__all__ = ["monthly", "price"]
