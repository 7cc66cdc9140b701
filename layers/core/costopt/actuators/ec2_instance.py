"""EC2: change the instance type = stop, ModifyInstanceAttribute InstanceType, start again.

Disruptive (the instance is down for the stop/start), so only when ``service.policy.allow_disruptive``.
An instance that was running is started again even when the modification fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from costopt.actuators.base import (
    Actuation,
    ActuationFailed,
    Actuator,
    aws_errors,
    client,
    region_of,
    waiter_config,
)
from costopt.domain.common import Model
from costopt.domain.resources import Ec2Config, Ec2Instance, Resource
from costopt.domain.service import Service
from costopt.errors import Unprocessable

KIND = "ec2_instance"

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ec2:DescribeInstances",  # read, and the instance_stopped / instance_running waiters
    "ec2:StopInstances",
    "ec2:ModifyInstanceAttribute",
    "ec2:StartInstances",
})


class Ec2Actuator(Actuator):
    kind = KIND
    config_model = Ec2Config
    managed_fields = ("instance_type",)

    def _inst(self, resource: Resource) -> Ec2Instance:
        assert isinstance(resource, Ec2Instance)
        return resource

    def _describe(self, ec2: Any, instance_id: str) -> dict[str, Any]:
        with aws_errors(KIND, "DescribeInstances"):
            reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations", [])
        instances = [i for r in reservations for i in r.get("Instances", [])]
        if not instances:
            raise Unprocessable(f"{KIND}: instance {instance_id} not found", extra={"actuator": KIND})
        return instances[0]

    def read(self, service: Service, resource: Resource) -> Model:
        inst = self._inst(resource)
        live = self._describe(client("ec2", region_of(service, inst)), inst.instance_id)
        return self.merge_live(inst, {"instance_type": live["InstanceType"]})

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        if not service.policy.allow_disruptive:
            raise Unprocessable(
                "changing an EC2 instance type stops and starts the instance; the service's policy does not "
                "allow disruptive changes (set policy.allow_disruptive to true to permit it)",
                extra={"actuator": KIND, "policy": "allow_disruptive"},
            )
        return ["the instance is stopped, modified and started again: it is unavailable meanwhile, and its "
                "public IPv4 address changes unless it has an Elastic IP"]

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime) -> Actuation:
        inst = self._inst(resource)
        t = self.parse(target)
        assert isinstance(t, Ec2Config)
        if not service.policy.allow_disruptive:  # never rely on the caller having called check()
            self.check(service, resource, before, target)
        ec2 = client("ec2", region_of(service, inst))
        state = self._describe(ec2, inst.instance_id)["State"]["Name"]
        if state not in ("running", "stopped"):
            raise ActuationFailed(KIND, f"instance {inst.instance_id} is {state}; it must be running or stopped")
        was_running = state == "running"
        if was_running:
            with aws_errors(KIND, "StopInstances"):
                ec2.stop_instances(InstanceIds=[inst.instance_id])
            with aws_errors(KIND, "waiting for the instance to stop", partial=True):
                ec2.get_waiter("instance_stopped").wait(InstanceIds=[inst.instance_id], WaiterConfig=waiter_config())
        modify_error: ActuationFailed | None = None
        try:
            with aws_errors(KIND, "ModifyInstanceAttribute InstanceType", partial=True):
                ec2.modify_instance_attribute(InstanceId=inst.instance_id, InstanceType={"Value": t.instance_type})
        except ActuationFailed as exc:
            modify_error = exc
        if was_running:  # start again even when the modification failed: leave it as we found it
            with aws_errors(KIND, "StartInstances", partial=True):
                ec2.start_instances(InstanceIds=[inst.instance_id])
            with aws_errors(KIND, "waiting for the instance to run", partial=True):
                ec2.get_waiter("instance_running").wait(InstanceIds=[inst.instance_id], WaiterConfig=waiter_config())
        if modify_error is not None:
            # the type did not change and the instance is back in its state: nothing is half-done
            raise ActuationFailed(KIND, modify_error.detail, partial=False)
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, inst)
        self.confirm(t, after)
        return Actuation(after=after)
