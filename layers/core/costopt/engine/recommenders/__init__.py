"""Recommenders, one module per resource kind (plus ``idle``). Each is ``recommend_<kind>(ctx) -> Plan``."""

from __future__ import annotations

from collections.abc import Callable

from costopt.engine.recommenders.base import Context, Option, Plan
from costopt.engine.recommenders.dynamodb import recommend_dynamodb
from costopt.engine.recommenders.ebs import recommend_ebs
from costopt.engine.recommenders.ec2 import recommend_ec2
from costopt.engine.recommenders.ecs import recommend_ecs
from costopt.engine.recommenders.generic import recommend_generic
from costopt.engine.recommenders.lambda_function import recommend_lambda

RECOMMENDERS: dict[str, Callable[[Context], Plan]] = {
    "lambda_function": recommend_lambda,
    "ecs_service": recommend_ecs,
    "ec2_instance": recommend_ec2,
    "ebs_volume": recommend_ebs,
    "dynamodb_table": recommend_dynamodb,
    "generic": recommend_generic,
}

__all__ = ["RECOMMENDERS", "Context", "Option", "Plan"]
