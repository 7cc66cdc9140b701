"""EBS: ModifyVolume (type, IOPS, throughput, size; a volume never shrinks).

AWS allows one modification per volume every 6 hours, so a rollback is blocked until then:
the actuation says so and sets ``rollback_not_before``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from costopt.actuators.aws import ActuationFailed, aws_errors, client, region_of
from costopt.actuators.base import Actuation, Actuator, Progress, as_kind
from costopt.domain.common import Model
from costopt.domain.resources import EbsConfig, EbsVolume, Resource, ResourceKind
from costopt.domain.service import Service
from costopt.errors import Unprocessable

KIND = ResourceKind.EBS_VOLUME

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ec2:DescribeVolumes",
    "ec2:ModifyVolume",
    "ec2:DescribeVolumesModifications",
})
MODIFICATION_COOLDOWN = timedelta(hours=6)
IOPS_TYPES = frozenset({"gp3", "io1", "io2"})       # IOPS you provision (gp2 derives it from size)
THROUGHPUT_TYPES = frozenset({"gp3"})


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    """Only the settings the volume type lets you choose: gp2's IOPS follow its size, etc."""
    out = dict(config)
    if out.get("volume_type") not in IOPS_TYPES:
        out["iops"] = None
    if out.get("volume_type") not in THROUGHPUT_TYPES:
        out["throughput_mbps"] = None
    return out


class EbsActuator(Actuator):
    kind = KIND
    config_model = EbsConfig
    managed_fields = ("volume_type", "size_gb", "iops", "throughput_mbps")

    def parse(self, config: dict[str, Any] | Model) -> Model:
        data = config.model_dump() if isinstance(config, Model) else dict(config)
        return EbsConfig.model_validate(normalized(data))

    def read(self, service: Service, resource: Resource) -> Model:
        vol = as_kind(resource, EbsVolume)
        ec2 = client("ec2", region_of(service, vol), vol.account_id)
        with aws_errors(KIND, "DescribeVolumes"):
            volumes = ec2.describe_volumes(VolumeIds=[vol.volume_id]).get("Volumes", [])
        if not volumes:
            raise Unprocessable(f"{KIND}: volume {vol.volume_id} not found", extra={"actuator": KIND})
        v = volumes[0]
        live = {"volume_type": v["VolumeType"], "size_gb": int(v["Size"]),
                "iops": v.get("Iops"), "throughput_mbps": v.get("Throughput")}
        merged = {**vol.config.model_dump(), **live}
        return self.parse(merged)

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse_as(before, EbsConfig), self.parse_as(target, EbsConfig)
        if t.size_gb < b.size_gb:
            raise Unprocessable(f"an EBS volume cannot shrink ({b.size_gb} GiB -> {t.size_gb} GiB)",
                                extra={"actuator": KIND, "field": "size_gb"})
        return [f"AWS allows one modification per EBS volume every 6 hours: this change cannot be rolled back "
                f"for {int(MODIFICATION_COOLDOWN.total_seconds() // 3600)} hours after it is made"]

    def rollback_target(self, before: Model, live: Model) -> tuple[Model, list[str]]:
        b, lv = self.parse_as(before, EbsConfig), self.parse_as(live, EbsConfig)
        if lv.size_gb > b.size_gb:
            return (self.parse({**b.model_dump(), "size_gb": lv.size_gb}),
                    [f"the volume keeps {lv.size_gb} GiB: EBS volumes cannot shrink back to {b.size_gb} GiB"])
        return b, []

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        vol = as_kind(resource, EbsVolume)
        b, t = self.parse_as(before, EbsConfig), self.parse_as(target, EbsConfig)
        self.check(service, resource, b, t)
        args: dict[str, Any] = {"VolumeId": vol.volume_id}
        if t.volume_type != b.volume_type:
            args["VolumeType"] = t.volume_type
        if t.size_gb != b.size_gb:
            args["Size"] = t.size_gb
        if t.iops is not None and (t.iops != b.iops or "VolumeType" in args):
            args["Iops"] = t.iops
        if t.throughput_mbps is not None and (t.throughput_mbps != b.throughput_mbps or "VolumeType" in args):
            args["Throughput"] = t.throughput_mbps
        ec2 = client("ec2", region_of(service, vol), vol.account_id)
        with aws_errors(KIND, "ModifyVolume"):
            mod = ec2.modify_volume(**args).get("VolumeModification", {})
        state = mod.get("ModificationState", "modifying")
        if state == "failed":
            raise ActuationFailed(KIND, f"ModifyVolume failed: {mod.get('StatusMessage', 'no message')}")
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, vol)
            if self.differences(t, after):
                # DescribeVolumes shows the new settings once the modification reaches "optimizing";
                # until then the accepted modification's targets are the read-back.
                after = self._accepted_target(ec2, vol.volume_id, t) or after
        self.confirm(t, after)
        not_before = now + MODIFICATION_COOLDOWN
        return Actuation(after=after, rollback_not_before=not_before, warnings=[
            f"EBS modification is {state}; AWS blocks another modification of {vol.volume_id} for 6 hours: "
            f"a rollback is possible from {not_before.isoformat()}"])

    def _accepted_target(self, ec2: Any, volume_id: str, target: EbsConfig) -> Model | None:
        mods = ec2.describe_volumes_modifications(VolumeIds=[volume_id]).get("VolumesModifications", [])
        if not mods:
            return None
        latest = max(mods, key=lambda m: str(m.get("StartTime", "")))
        if latest.get("ModificationState") not in ("modifying", "optimizing", "completed"):
            return None
        pairs = (("TargetVolumeType", target.volume_type), ("TargetSize", target.size_gb),
                 ("TargetIops", target.iops), ("TargetThroughput", target.throughput_mbps))
        if all(latest.get(key) in (None, want) for key, want in pairs):
            return target
        return None
