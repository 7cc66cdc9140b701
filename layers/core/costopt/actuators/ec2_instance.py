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

from botocore.exceptions import ClientError

from costopt.actuators.aws import ActuationFailed, aws_errors, client, region_of, waiter_config
from costopt.actuators.base import Actuation, Actuator, Progress, as_kind
from costopt.actuators.preflight import refuse
from costopt.domain.common import Model
from costopt.domain.resources import Ec2Config, Ec2Instance, Resource, ResourceKind
from costopt.domain.service import Service
from costopt.errors import Unprocessable

KIND = ResourceKind.EC2_INSTANCE
MAX_STEPS = 12  # stop, modify, start and their waits, with room for a state found mid-way


def _instance_types(ec2: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """DescribeInstanceTypes of ``names``: {name: InstanceTypeInfo}; an unknown type is a 422."""
    try:
        found = ec2.describe_instance_types(InstanceTypes=sorted(set(names))).get("InstanceTypes", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidInstanceType":
            raise Unprocessable(f"{KIND}: {exc.response['Error'].get('Message', 'unknown instance type')}",
                                extra={"actuator": KIND, "preflight": "instance_type"}) from exc
        with aws_errors(KIND, "DescribeInstanceTypes"):
            raise
    return {str(t["InstanceType"]): t for t in found}


def _offered(ec2: Any, instance_type: str, az: str) -> bool:
    with aws_errors(KIND, "DescribeInstanceTypeOfferings"):
        offerings = ec2.describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "location", "Values": [az]}, {"Name": "instance-type", "Values": [instance_type]}],
        ).get("InstanceTypeOfferings", [])
    return any(o.get("InstanceType") == instance_type for o in offerings)


def _image_architecture(ec2: Any, image_id: str) -> str | None:
    """The AMI's architecture from DescribeImages (None when the AMI is gone or not visible)."""
    if not image_id:
        return None
    try:
        images = ec2.describe_images(ImageIds=[image_id]).get("Images", [])
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")).startswith("InvalidAMIID"):
            return None
        with aws_errors(KIND, "DescribeImages"):
            raise
    return str(images[0]["Architecture"]) if images and images[0].get("Architecture") else None

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ec2:DescribeInstances",  # read, and the instance_stopped / instance_running waiters
    "ec2:StopInstances",
    "ec2:ModifyInstanceAttribute",
    "ec2:StartInstances",
    "ec2:DescribeInstanceStatus",  # the instance_status_ok waiter: the status checks after the start
    "ec2:DescribeInstanceTypes",  # pre-flight: the target's architectures, virtualization, ENA and NVMe
    "ec2:DescribeInstanceTypeOfferings",  # pre-flight: the target offered in the instance's zone
    "ec2:DescribeImages",  # pre-flight: the AMI's architecture when the instance does not say
})


class Ec2Actuator(Actuator):
    kind = KIND
    config_model = Ec2Config
    managed_fields = ("instance_type",)
    typical_duration_s: ClassVar[float] = 300.0  # stop + start + status checks: minutes

    def _describe(self, ec2: Any, instance_id: str) -> dict[str, Any]:
        with aws_errors(KIND, "DescribeInstances"):
            reservations = ec2.describe_instances(InstanceIds=[instance_id]).get("Reservations", [])
        instances = [i for r in reservations for i in r.get("Instances", [])]
        if not instances:
            raise Unprocessable(f"{KIND}: instance {instance_id} not found", extra={"actuator": KIND})
        return instances[0]

    def read(self, service: Service, resource: Resource) -> Model:
        inst = as_kind(resource, Ec2Instance)
        live = self._describe(client("ec2", region_of(service, inst), inst.account_id), inst.instance_id)
        return self.merge_live(inst, {"instance_type": live["InstanceType"]})

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        if not service.policy.allow_disruptive:
            raise Unprocessable(
                "changing an EC2 instance type stops and starts the instance; the service's policy does not "
                "allow disruptive changes (set policy.allow_disruptive to true to permit it)",
                extra={"actuator": KIND, "policy": "allow_disruptive"},
            )
        inst = as_kind(resource, Ec2Instance)
        t = self.parse_as(target, Ec2Config)
        ec2 = client("ec2", region_of(service, inst), inst.account_id)
        failures = self._preflight(ec2, self._describe(ec2, inst.instance_id), t.instance_type)
        if failures:
            raise refuse(KIND, failures)
        return ["the instance is stopped, modified and started again: it is unavailable meanwhile, and its "
                "public IPv4 address changes unless it has an Elastic IP"]

    def facts(self, service: Service, resource: Resource) -> dict[str, Any]:
        inst = as_kind(resource, Ec2Instance)
        ec2 = client("ec2", region_of(service, inst), inst.account_id)
        return {"instance_state": self._describe(ec2, inst.instance_id)["State"]["Name"]}

    def unsettled(self, service: Service, resource: Resource, facts: Mapping[str, Any]) -> str | None:
        inst = as_kind(resource, Ec2Instance)
        ec2 = client("ec2", region_of(service, inst), inst.account_id)
        state = self._describe(ec2, inst.instance_id)["State"]["Name"]
        expected = facts.get("instance_state", "running")
        if state != expected:
            return f"instance {inst.instance_id} is {state}; it was {expected} when the change began"
        return None

    # ------------------------------------------------------------------ pre-flight

    def _preflight(self, ec2: Any, live: dict[str, Any], target_type: str) -> list[dict[str, Any]]:
        """What would make the resize fail or the instance not boot on ``target_type``.

        Target type offered in the instance's AZ; the AMI's architecture among the type's; the AMI's
        virtualization type supported; ENA enabled when the type requires it; NVMe: a type that
        exposes EBS as NVMe when the current one does not needs NVMe drivers, which the API cannot
        show."""
        current_type = str(live["InstanceType"])
        if target_type == current_type:
            return []
        types = _instance_types(ec2, [current_type, target_type])
        target, current = types.get(target_type), types.get(current_type, {})
        if target is None:
            raise Unprocessable(f"{KIND}: DescribeInstanceTypes does not describe {target_type}",
                                extra={"actuator": KIND, "preflight": "instance_type"})
        failures: list[dict[str, Any]] = []
        az = str(live.get("Placement", {}).get("AvailabilityZone", ""))
        if az and not _offered(ec2, target_type, az):
            failures.append({
                "preflight": "instance_type_offering", "instance_type": target_type, "availability_zone": az,
                "reason": f"{target_type} is not offered in {az}, the instance's Availability Zone, so it cannot "
                          f"be resized there: choose a type listed by DescribeInstanceTypeOfferings for {az}, or "
                          "move the workload to an instance in another zone.",
            })
        image_id = str(live.get("ImageId", ""))
        arch = live.get("Architecture") or _image_architecture(ec2, image_id)
        supported = list(target.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
        if arch is None:
            failures.append({
                "preflight": "ami_architecture", "ami_architecture": None, "image_id": image_id,
                "target_architectures": supported,
                "reason": f"the architecture of the instance's AMI {image_id} cannot be read (DescribeImages "
                          f"does not return it), so whether it boots on {target_type} cannot be verified.",
            })
        elif arch not in supported:
            failures.append({
                "preflight": "ami_architecture", "ami_architecture": arch, "image_id": image_id,
                "target_architectures": supported,
                "reason": f"the instance's AMI {image_id} is {arch} but {target_type} runs "
                          f"{'/'.join(supported) or 'another architecture'} only: AWS would refuse the type change "
                          "after the instance was stopped (an outage). That move needs an AMI and software built "
                          f"for {'/'.join(supported)}: launch a new instance from one and move the workload to it.",
            })
        virtualization = live.get("VirtualizationType")
        virtualizations = list(target.get("SupportedVirtualizationTypes", []))
        if virtualization and virtualizations and virtualization not in virtualizations:
            failures.append({
                "preflight": "virtualization_type", "virtualization_type": virtualization,
                "target_virtualization_types": virtualizations,
                "reason": f"the instance's AMI uses {virtualization} virtualization, which {target_type} does not "
                          f"support ({'/'.join(virtualizations)} only): migrate the workload to an "
                          f"{'/'.join(virtualizations)} AMI first.",
            })
        target_ena = target.get("NetworkInfo", {}).get("EnaSupport")
        # an instance running on a type that requires ENA has it enabled
        if target_ena == "required" and current.get("NetworkInfo", {}).get("EnaSupport") != "required" \
                and live.get("EnaSupport") is not True:
            failures.append({
                "preflight": "ena_support", "target_ena_support": "required", "instance_ena_support": False,
                "reason": f"{target_type} requires the Elastic Network Adapter (ENA), which is not enabled on "
                          "the instance: make sure the OS has the ENA driver (modinfo ena), stop the instance, "
                          "enable it (aws ec2 modify-instance-attribute --ena-support), start it and apply again.",
            })
        target_nvme = target.get("EbsInfo", {}).get("NvmeSupport")
        current_nvme = current.get("EbsInfo", {}).get("NvmeSupport", "unsupported")
        if target_nvme == "required" and current_nvme == "unsupported":
            failures.append({
                "preflight": "nvme", "target_nvme_support": "required", "current_nvme_support": current_nvme,
                "reason": f"{target_type} exposes EBS volumes as NVMe devices and {current_type} does not, so the "
                          "instance would only boot if its AMI has NVMe drivers and mounts volumes by UUID or "
                          "label (not /dev/sd* or /dev/xvd* names), which the AWS API cannot show: check that "
                          "in the OS (modinfo nvme, /etc/fstab), then resize the instance yourself.",
            })
        return failures

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        """stop -> wait until stopped -> modify -> start -> wait for the status checks, each step taken
        from the live state, so a worker that died half-way resumes where the instance is."""
        inst = as_kind(resource, Ec2Instance)
        t = self.parse_as(target, Ec2Config)
        self.check(service, resource, before, target)  # never rely on the caller: policy and pre-flight
        progress = progress or Progress()
        ec2 = client("ec2", region_of(service, inst), inst.account_id)
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
