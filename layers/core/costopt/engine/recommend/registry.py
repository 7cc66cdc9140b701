"""The recommender registry: each ``ResourceKind`` mapped to its recommender, ``recommend_<kind>(ctx) -> Plan``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from costopt.domain.resources import ResourceKind
from costopt.engine.recommend.context import Context, Plan
from costopt.engine.recommend.dynamodb import recommend_dynamodb
from costopt.engine.recommend.ebs import recommend_ebs
from costopt.engine.recommend.ec2 import recommend_ec2
from costopt.engine.recommend.ecs import recommend_ecs
from costopt.engine.recommend.generic import recommend_generic
from costopt.engine.recommend.lambda_function import recommend_lambda

Recommender = Callable[[Context], Plan]

RECOMMENDERS: Mapping[ResourceKind, Recommender] = {
    ResourceKind.LAMBDA_FUNCTION: recommend_lambda,
    ResourceKind.ECS_SERVICE: recommend_ecs,
    ResourceKind.EC2_INSTANCE: recommend_ec2,
    ResourceKind.EBS_VOLUME: recommend_ebs,
    ResourceKind.DYNAMODB_TABLE: recommend_dynamodb,
    ResourceKind.GENERIC: recommend_generic,
}


def recommender_for(kind: ResourceKind) -> Recommender:
    """The recommender of ``kind`` (every kind has one: a new kind without one fails here, loudly)."""
    return RECOMMENDERS[kind]


__all__ = ["RECOMMENDERS", "Recommender", "recommender_for"]
