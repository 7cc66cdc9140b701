"""Which actuator changes which resource kind (modules imported lazily: only the one needed)."""

from __future__ import annotations

import importlib

from costopt.actuators.base import Actuator
from costopt.domain.resources import ResourceKind
from costopt.errors import Unprocessable

_MODULES: dict[str, tuple[str, str]] = {
    ResourceKind.LAMBDA_FUNCTION: ("costopt.actuators.lambda_function", "LambdaActuator"),
    ResourceKind.ECS_SERVICE: ("costopt.actuators.ecs_service", "EcsActuator"),
    ResourceKind.EC2_INSTANCE: ("costopt.actuators.ec2_instance", "Ec2Actuator"),
    ResourceKind.EBS_VOLUME: ("costopt.actuators.ebs_volume", "EbsActuator"),
    ResourceKind.DYNAMODB_TABLE: ("costopt.actuators.dynamodb_table", "DynamoDbActuator"),
    ResourceKind.GENERIC: ("costopt.actuators.generic", "GenericActuator"),
}
_instances: dict[str, Actuator] = {}


def actuator_for(kind: str) -> Actuator:
    found = _instances.get(kind)
    if found is not None:
        return found
    if kind not in _MODULES:
        raise Unprocessable(f"no actuator can change resources of kind {kind!r}")
    module_name, class_name = _MODULES[kind]
    actuator: Actuator = getattr(importlib.import_module(module_name), class_name)()
    _instances[kind] = actuator
    return actuator
