"""Which actuator changes which resource kind (modules imported lazily: only the one needed)."""

from __future__ import annotations

import importlib

from costopt.actuators.base import Actuator
from costopt.errors import Unprocessable

_MODULES: dict[str, tuple[str, str]] = {
    "lambda_function": ("costopt.actuators.lambda_function", "LambdaActuator"),
    "ecs_service": ("costopt.actuators.ecs_service", "EcsActuator"),
    "ec2_instance": ("costopt.actuators.ec2_instance", "Ec2Actuator"),
    "ebs_volume": ("costopt.actuators.ebs_volume", "EbsActuator"),
    "dynamodb_table": ("costopt.actuators.dynamodb_table", "DynamoDbActuator"),
    "generic": ("costopt.actuators.generic", "GenericActuator"),
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
