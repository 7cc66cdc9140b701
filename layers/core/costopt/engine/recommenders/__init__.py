"""Recommenders, one module per resource kind (plus ``idle``). Each is ``recommend_<kind>(ctx) -> Plan``."""

from __future__ import annotations

from collections.abc import Callable

from costopt.domain.resources import ResourceKind
from costopt.engine.recommenders.base import Context, Option, Plan
from costopt.engine.recommenders.dynamodb import recommend_dynamodb
from costopt.engine.recommenders.ebs import recommend_ebs
from costopt.engine.recommenders.ec2 import recommend_ec2
from costopt.engine.recommenders.ecs import recommend_ecs
from costopt.engine.recommenders.generic import recommend_generic
from costopt.engine.recommenders.lambda_function import recommend_lambda

RECOMMENDERS: dict[str, Callable[[Context], Plan]] = {
    ResourceKind.LAMBDA_FUNCTION: recommend_lambda,
    ResourceKind.ECS_SERVICE: recommend_ecs,
    ResourceKind.EC2_INSTANCE: recommend_ec2,
    ResourceKind.EBS_VOLUME: recommend_ebs,
    ResourceKind.DYNAMODB_TABLE: recommend_dynamodb,
    ResourceKind.GENERIC: recommend_generic,
}

__all__ = ["RECOMMENDERS", "Context", "Option", "Plan"]
