"""EC2: change the instance type = stop, ModifyInstanceAttribute InstanceType, start again, wait for
the status checks.

Disruptive (the instance is down for the stop/start), so only when ``service.policy.allow_disruptive``.
An instance that was running is started again even when the modification fails. It takes minutes,
so it runs in the actuation worker (``typical_duration_s``), one step at a time from the live state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from costopt.actuators.base import (
    Actuation,
    ActuationFailed,
    Actuator,
    Progress,
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
MAX_STEPS = 12  # stop, modify, start and their waits, with room for a state found mid-way


class Ec2Actuator(Actuator):
    kind = KIND
    config_model = Ec2Config
    managed_fields = ("instance_type",)
    typical_duration_s: ClassVar[float] = 300.0  # stop + start + status checks: minutes

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

    def facts(self, service: Service, resource: Resource) -> dict[str, Any]:
        inst = self._inst(resource)
        return {"instance_state": self._describe(client("ec2", region_of(service, inst)), inst.instance_id)
                ["State"]["Name"]}

    def unsettled(self, service: Service, resource: Resource, facts: Mapping[str, Any]) -> str | None:
        inst = self._inst(resource)
        state = self._describe(client("ec2", region_of(service, inst)), inst.instance_id)["State"]["Name"]
        expected = facts.get("instance_state", "running")
        if state != expected:
            return f"instance {inst.instance_id} is {state}; it was {expected} when the change began"
        return None

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        """stop -> wait until stopped -> modify -> start -> wait for the status checks, each step taken
        from the live state, so a worker that died half-way resumes where the instance is."""
        inst = self._inst(resource)
        t = self.parse(target)
        assert isinstance(t, Ec2Config)
        if not service.policy.allow_disruptive:  # never rely on the caller having called check()
            self.check(service, resource, before, target)
        progress = progress or Progress()
        ec2 = client("ec2", region_of(service, inst))
        ids = [inst.instance_id]
        live = self._describe(ec2, inst.instance_id)
        was_running = progress.facts.get("instance_state", live["State"]["Name"]) == "running"
        for _ in range(MAX_STEPS):
            state, current = live["State"]["Name"], live["InstanceType"]
            if state in ("pending", "stopping"):
                waiter = "instance_running" if state == "pending" else "instance_stopped"
                with aws_errors(KIND, f"waiting for the {state} instance", partial=True):
                    ec2.get_waiter(waiter).wait(InstanceIds=ids, WaiterConfig=waiter_config())
            elif state not in ("running", "stopped"):
                raise ActuationFailed(KIND, f"instance {inst.instance_id} is {state}; it must be running or stopped",
                                      partial=current != before.model_dump().get("instance_type"))
            elif current != t.instance_type and state == "running":
                progress.report("stop", f"stopping {inst.instance_id} to change its type")
                with aws_errors(KIND, "StopInstances", partial=True):
                    ec2.stop_instances(InstanceIds=ids)
                with aws_errors(KIND, "waiting for the instance to stop", partial=True):
                    ec2.get_waiter("instance_stopped").wait(InstanceIds=ids, WaiterConfig=waiter_config())
                progress.report("stopped", None)
            elif current != t.instance_type:  # stopped
                progress.report("modify", f"{current} -> {t.instance_type}")
                try:
                    with aws_errors(KIND, "ModifyInstanceAttribute InstanceType", partial=True):
                        ec2.modify_instance_attribute(InstanceId=inst.instance_id,
                                                      InstanceType={"Value": t.instance_type})
                except ActuationFailed as exc:
                    if was_running:  # start again even when the modification failed: leave it as we found it
                        self._start(ec2, ids, progress)
                    # the type did not change and the instance is back in its state: nothing is half-done
                    raise ActuationFailed(KIND, exc.detail, partial=False) from exc
            elif state == "stopped" and was_running:
                self._start(ec2, ids, progress)
            else:  # the target type, in the state it was found in
                if state == "running":
                    progress.report("status_checks", "waiting for the instance and system status checks")
                    with aws_errors(KIND, "waiting for the status checks", partial=True):
                        ec2.get_waiter("instance_status_ok").wait(InstanceIds=ids, WaiterConfig=waiter_config())
                with aws_errors(KIND, "read-back", partial=True):
                    after = self.read(service, inst)
                self.confirm(t, after)
                return Actuation(after=after)
            live = self._describe(ec2, inst.instance_id)
        raise ActuationFailed(KIND, f"instance {inst.instance_id} did not settle in {MAX_STEPS} steps", partial=True)

    def _start(self, ec2: Any, ids: list[str], progress: Progress) -> None:
        progress.report("start", f"starting {ids[0]}")
        with aws_errors(KIND, "StartInstances", partial=True):
            ec2.start_instances(InstanceIds=ids)
        with aws_errors(KIND, "waiting for the instance to run", partial=True):
            ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=waiter_config())
