"""ECS (Fargate): a new task definition revision copying the current one with the new cpu/memory
(and runtimePlatform.cpuArchitecture for Graviton), then UpdateService with it, the desired count
and, for Spot, the FARGATE_SPOT capacity provider strategy.

The new revision carries the current revision's tags (a service with ``propagateTags: TASK_DEFINITION``
keeps tagging its tasks, e.g. for cost allocation) and ``costopt:managed=true``, so it says who made it.
If UpdateService then fails, costopt deregisters that revision, and only that one.

Autoscaling bounds (min_count/max_count) live in Application Auto Scaling, not in ECS: they are
not read or changed here (they come from the registered config).

Pre-flight for an architecture change (``check`` and ``apply`` both run it): the task definition must
be Linux (Fargate runs ARM64 for Linux only), and every container image must be a private Amazon ECR
image whose manifest (ecr:BatchGetImage, manifest lists and OCI indexes accepted) names a
linux/<target> platform. An image from another registry, one costopt cannot read, or a
single-platform manifest (its architecture is in the config blob, not fetched) is unknown: the
change is recommend-only, refused with the reason.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from costopt.actuators.aws import aws_errors, client, region_of
from costopt.actuators.base import Actuation, Actuator, Progress, as_kind
from costopt.actuators.preflight import ACCEPTED_MEDIA_TYPES, OCI_ARCH, manifest_platforms, parse_ecr_image, refuse
from costopt.domain.common import Model
from costopt.domain.resources import EcsConfig, EcsService, Resource, ResourceKind
from costopt.domain.service import Service

KIND = ResourceKind.ECS_SERVICE

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",  # RegisterTaskDefinition with tags (tag on create: ecs:CreateAction = RegisterTaskDefinition)
    "iam:PassRole",  # RegisterTaskDefinition keeps the revision's taskRoleArn / executionRoleArn
    "ecs:UpdateService",
    "ecs:DeregisterTaskDefinition",  # the revision this apply registered, when UpdateService failed
    "ecr:BatchGetImage",  # pre-flight of an ARM64 switch: the images' manifest lists
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


def _image_platform(image: str, architecture: str) -> dict[str, Any] | None:
    """None when ``image`` has a linux/<architecture> build, else the failed check (unknown included)."""
    wanted = f"linux/{OCI_ARCH[architecture]}"
    ref = parse_ecr_image(image)
    if ref is None:
        return {"image": image, "platforms": None,
                "why": "not a private Amazon ECR image, so costopt cannot read its manifest"}
    try:
        got = client("ecr", ref.region).batch_get_image(
            registryId=ref.registry, repositoryName=ref.repository, imageIds=[ref.image_id()],
            acceptedMediaTypes=ACCEPTED_MEDIA_TYPES)
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
        return {"image": image, "platforms": None, "why": f"its manifest could not be read (BatchGetImage: {code})"}
    images = got.get("images") or []
    if not images:
        failure = (got.get("failures") or [{}])[0]
        return {"image": image, "platforms": None,
                "why": f"BatchGetImage found no such image ({failure.get('failureCode', 'ImageNotFound')})"}
    try:
        platforms = manifest_platforms(images[0].get("imageManifest", "{}"), images[0].get("imageManifestMediaType"))
    except ValueError:
        return {"image": image, "platforms": None, "why": "its manifest is not valid JSON"}
    if platforms is None:
        return {"image": image, "platforms": None,
                "why": "it is a single-platform manifest, whose architecture is recorded only in the image "
                       "config (not read)"}
    if wanted not in platforms:
        return {"image": image, "platforms": platforms,
                "why": f"it has no {wanted} build (platforms: {', '.join(platforms) or 'none'})"}
    return None


def _platform_preflight(task_def: dict[str, Any], architecture: str) -> None:
    """Refuse (422) unless every container image of ``task_def`` runs on ``architecture``."""
    failures: list[dict[str, Any]] = []
    os_family = str((task_def.get("runtimePlatform") or {}).get("operatingSystemFamily") or "LINUX")
    if architecture == "arm64" and os_family != "LINUX":
        failures.append({"preflight": "operating_system", "operating_system_family": os_family,
                         "reason": f"Fargate runs ARM64 tasks on Linux only, and this task definition is "
                                   f"{os_family}."})
    checked: dict[str, dict[str, Any] | None] = {}
    images = []
    for container in task_def.get("containerDefinitions", []):
        image = str(container.get("image", ""))
        if image not in checked:
            checked[image] = _image_platform(image, architecture)
        failure = checked[image]
        if failure is not None:
            images.append({"container": container.get("name"), **failure})
    if images:
        wanted = f"linux/{OCI_ARCH[architecture]}"
        failures.append({
            "preflight": "image_architecture", "target_architecture": architecture,
            "images": [{k: v for k, v in i.items() if k != "why"} for i in images],
            "reason": f"switching the tasks to {ARCH_TO_ECS[architecture]} needs every container image to have a "
                      f"{wanted} build, which costopt could not verify for "
                      + "; ".join(f"container {i['container']} ({i['image']}): {i['why']}" for i in images)
                      + f". Build and push {wanted} images (a multi-platform image in ECR is verified), or "
                      "change the task definition in your deployment.",
        })
    if failures:
        raise refuse(KIND, failures)


class EcsActuator(Actuator):
    kind = KIND
    config_model = EcsConfig
    managed_fields = ("cpu_units", "memory_mb", "desired_count", "architecture", "capacity")

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
        svc = as_kind(resource, EcsService)
        live_service, task_def, _ = self._describe(client("ecs", region_of(service, svc), svc.account_id), svc)
        platform = task_def.get("runtimePlatform") or {}
        return self.merge_live(svc, {
            "cpu_units": int(task_def["cpu"]),
            "memory_mb": int(task_def["memory"]),
            "desired_count": int(live_service.get("desiredCount", 0)),
            "architecture": ECS_TO_ARCH.get(str(platform.get("cpuArchitecture", "X86_64")), "x86_64"),
            "capacity": capacity_of(live_service.get("capacityProviderStrategy")),
        })

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse_as(before, EcsConfig), self.parse_as(target, EcsConfig)
        warnings = []
        if t.architecture != b.architecture:
            svc = as_kind(resource, EcsService)
            _, task_def, _ = self._describe(client("ecs", region_of(service, svc), svc.account_id), svc)
            _platform_preflight(task_def, t.architecture)
        if (b.cpu_units, b.memory_mb, b.architecture, b.capacity) != (t.cpu_units, t.memory_mb, t.architecture,
                                                                         t.capacity):
            warnings.append("ECS replaces every task in a rolling deployment (new task definition revision or "
                            "capacity provider)")
        if t.architecture == "arm64" and b.architecture != "arm64":
            warnings.append("every container image has a linux/arm64 build (read from its ECR manifest); its "
                            "performance on Graviton is assumed equal: benchmark it")
        if t.capacity == "spot" and b.capacity != "spot":
            warnings.append("Fargate Spot tasks can be interrupted with a two-minute warning")
        return warnings

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        svc = as_kind(resource, EcsService)
        t = self.parse_as(target, EcsConfig)
        ecs = client("ecs", region_of(service, svc), svc.account_id)
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
            if ECS_TO_ARCH.get(str(platform.get("cpuArchitecture", "X86_64")), "x86_64") != t.architecture:
                _platform_preflight(task_def, t.architecture)  # never rely on the caller having called check()
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
