"""ECS (Fargate): a new task definition revision copying the current one with the new cpu/memory
(and runtimePlatform.cpuArchitecture for Graviton), then UpdateService with it, the desired count
and, for Spot, the FARGATE_SPOT capacity provider strategy.

The new revision carries the current revision's tags (a service with ``propagateTags: TASK_DEFINITION``
keeps tagging its tasks, e.g. for cost allocation) and ``costopt:managed=true``, so it says who made it.
If UpdateService then fails, costopt deregisters that revision, and only that one.

Autoscaling bounds (min_count/max_count) live in Application Auto Scaling, not in ECS: they are
not read or changed here (they come from the registered config).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from costopt.actuators.base import Actuation, Actuator, aws_errors, client, region_of
from costopt.domain.common import Model
from costopt.domain.resources import EcsConfig, EcsService, Resource
from costopt.domain.service import Service

KIND = "ecs_service"

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",  # RegisterTaskDefinition with tags (tag on create: ecs:CreateAction = RegisterTaskDefinition)
    "iam:PassRole",  # RegisterTaskDefinition keeps the revision's taskRoleArn / executionRoleArn
    "ecs:UpdateService",
    "ecs:DeregisterTaskDefinition",  # the revision this apply registered, when UpdateService failed
})
MANAGED_TAG = {"key": "costopt:managed", "value": "true"}
MAX_TAGS = 50  # ECS: at most 50 user tags per resource

# RegisterTaskDefinition parameters that DescribeTaskDefinition returns and a new revision keeps.
COPIED = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
          "placementConstraints", "requiresCompatibilities", "pidMode", "ipcMode", "proxyConfiguration",
          "inferenceAccelerators", "ephemeralStorage", "runtimePlatform")
ARCH_TO_ECS = {"x86_64": "X86_64", "arm64": "ARM64"}
ECS_TO_ARCH = {v: k for k, v in ARCH_TO_ECS.items()}
SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
ON_DEMAND = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]


def capacity_of(strategy: list[dict[str, Any]] | None) -> str:
    """spot when every weighted provider is FARGATE_SPOT, else on_demand."""
    weighted = [s for s in (strategy or []) if int(s.get("weight", 0)) > 0]
    if weighted and all(s.get("capacityProvider") == "FARGATE_SPOT" for s in weighted):
        return "spot"
    return "on_demand"


def revision_tags(source: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """The tags of a revision costopt registers: ``costopt:managed=true`` and the source revision's tags
    (not the ``aws:`` ones, which no caller may set), at most ``MAX_TAGS``; also the keys left out."""
    copied = [{"key": t["key"], "value": t.get("value", "")} for t in source
              if not t["key"].lower().startswith("aws:") and t["key"] != MANAGED_TAG["key"]]
    kept = copied[:MAX_TAGS - 1]
    return [dict(MANAGED_TAG), *kept], [t["key"] for t in copied[MAX_TAGS - 1:]]


def _fits(task_def: dict[str, Any], target: EcsConfig) -> None:
    """Container-level limits must fit in the new task size, or ECS rejects the revision."""
    containers = task_def.get("containerDefinitions", [])
    too_big = [c["name"] for c in containers if int(c.get("memory") or 0) > target.memory_mb]
    cpu = sum(int(c.get("cpu") or 0) for c in containers)
    if too_big or cpu > target.cpu_units:
        from costopt.errors import Unprocessable

        raise Unprocessable(
            f"the containers' own limits do not fit the new task size ({target.cpu_units} CPU units, "
            f"{target.memory_mb} MiB): " + (f"memory of {', '.join(too_big)}; " if too_big else "")
            + (f"container CPU {cpu} units" if cpu > target.cpu_units else "")
            + "; lower them in the task definition first", extra={"actuator": KIND})


class EcsActuator(Actuator):
    kind = KIND
    config_model = EcsConfig
    managed_fields = ("cpu_units", "memory_mb", "desired_count", "architecture", "capacity")

    def _svc(self, resource: Resource) -> EcsService:
        assert isinstance(resource, EcsService)
        return resource

    def _describe(self, ecs: Any, svc: EcsService, *, with_tags: bool = False
                  ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, str]]]:
        with aws_errors(KIND, "DescribeServices"):
            resp = ecs.describe_services(cluster=svc.cluster, services=[svc.service_name])
        services = resp.get("services", [])
        if not services or services[0].get("status") == "INACTIVE":
            from costopt.errors import Unprocessable

            raise Unprocessable(f"{KIND}: service {svc.service_name!r} not found in cluster {svc.cluster!r}",
                                extra={"actuator": KIND})
        extra = {"include": ["TAGS"]} if with_tags else {}
        with aws_errors(KIND, "DescribeTaskDefinition"):
            resp = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"], **extra)
        return services[0], resp["taskDefinition"], list(resp.get("tags") or [])

    def read(self, service: Service, resource: Resource) -> Model:
        svc = self._svc(resource)
        live_service, task_def, _ = self._describe(client("ecs", region_of(service, svc)), svc)
        platform = task_def.get("runtimePlatform") or {}
        return self.merge_live(svc, {
            "cpu_units": int(task_def["cpu"]),
            "memory_mb": int(task_def["memory"]),
            "desired_count": int(live_service.get("desiredCount", 0)),
            "architecture": ECS_TO_ARCH.get(str(platform.get("cpuArchitecture", "X86_64")), "x86_64"),
            "capacity": capacity_of(live_service.get("capacityProviderStrategy")),
        })

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse(before), self.parse(target)
        assert isinstance(b, EcsConfig) and isinstance(t, EcsConfig)
        warnings = []
        if (b.cpu_units, b.memory_mb, b.architecture, b.capacity) != (t.cpu_units, t.memory_mb, t.architecture,
                                                                         t.capacity):
            warnings.append("ECS replaces every task in a rolling deployment (new task definition revision or "
                            "capacity provider)")
        if t.architecture == "arm64" and b.architecture != "arm64":
            warnings.append("ARM64 tasks need every container image to be built for linux/arm64")
        if t.capacity == "spot" and b.capacity != "spot":
            warnings.append("Fargate Spot tasks can be interrupted with a two-minute warning")
        return warnings

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime) -> Actuation:
        svc = self._svc(resource)
        t = self.parse(target)
        assert isinstance(t, EcsConfig)
        ecs = client("ecs", region_of(service, svc))
        live_service, task_def, source_tags = self._describe(ecs, svc, with_tags=True)
        platform = task_def.get("runtimePlatform") or {}
        update: dict[str, Any] = {"cluster": svc.cluster, "service": svc.service_name,
                                  "desiredCount": t.desired_count}
        size_changes = (int(task_def["cpu"]), int(task_def["memory"]),
                        ECS_TO_ARCH.get(str(platform.get("cpuArchitecture", "X86_64")), "x86_64")) != (
            t.cpu_units, t.memory_mb, t.architecture)
        new_arn = None
        warnings: list[str] = []
        if size_changes:
            _fits(task_def, t)
            register = {k: task_def[k] for k in COPIED if task_def.get(k) not in (None, [], {})}
            register["cpu"] = str(t.cpu_units)
            register["memory"] = str(t.memory_mb)
            register["runtimePlatform"] = {**platform, "cpuArchitecture": ARCH_TO_ECS[t.architecture],
                                           "operatingSystemFamily": platform.get("operatingSystemFamily", "LINUX")}
            register["tags"], left_out = revision_tags(source_tags)
            if left_out:
                warnings.append(f"the new task definition revision does not carry the tags {', '.join(left_out)}: "
                                f"ECS allows {MAX_TAGS} tags and costopt adds {MANAGED_TAG['key']}")
            with aws_errors(KIND, "RegisterTaskDefinition"):
                new_arn = ecs.register_task_definition(**register)["taskDefinition"]["taskDefinitionArn"]
            update["taskDefinition"] = new_arn
        if capacity_of(live_service.get("capacityProviderStrategy")) != t.capacity:
            update["capacityProviderStrategy"] = SPOT if t.capacity == "spot" else ON_DEMAND
            update["forceNewDeployment"] = True
        try:
            with aws_errors(KIND, "UpdateService"):
                ecs.update_service(**update)
        except Exception:
            if new_arn:  # the service never used the revision this apply registered: deregister it (best effort)
                with suppress(Exception):
                    ecs.deregister_task_definition(taskDefinition=new_arn)
            raise
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, svc)
        self.confirm(t, after)
        return Actuation(after=after, warnings=warnings)
