"""The live config of found resources, per kind, from the AWS describe calls (the inventory's second step).

Each ``describe_<kind>(ctx, refs)`` takes the ARNs (with their tags) the selection found and answers
``(found, skipped)``: a domain resource per live resource (identity, live ``config``, ``account_id``,
``region``, ``arn``, tags), and a reason per resource it can't model (an EC2-launch ECS service, a
``standard`` magnetic volume, ...). A resource that vanished between the listing and the describe is
skipped the same way, never an error; a failure of the call itself raises ``ConnectorError``.

=================  ==========================================================================
lambda_function    GetFunctionConfiguration (MemorySize, Architectures) +
                   ListProvisionedConcurrencyConfigs (the requested executions, summed over qualifiers)
ecs_service        DescribeServices (10 at a time, desired count, launch type / capacity provider
                   strategy, the first load balancer's target group) + DescribeTaskDefinition (cpu,
                   memory, runtimePlatform.cpuArchitecture) + Application Auto Scaling
                   DescribeScalableTargets (min/max of the service's DesiredCount)
ec2_instance       DescribeInstances (instance-id filter, 100 at a time; terminated ones skipped)
ebs_volume         DescribeVolumes (volume-id filter; attached or not)
dynamodb_table     DescribeTable (billing mode, provisioned RCU/WCU)
=================  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from costopt.connectors.retry import aws_error, aws_errors, boto_client
from costopt.domain.resources import DynamoDbTable, EbsVolume, Ec2Instance, EcsService, LambdaFunction, Resource

SOURCE = "inventory"
# The IAM actions this module's AWS calls need (with the selection's: costopt.connectors.inventory.AWS_ACTIONS).
AWS_ACTIONS: frozenset[str] = frozenset({
    "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "application-autoscaling:DescribeScalableTargets",
    "lambda:GetFunctionConfiguration", "lambda:ListProvisionedConcurrencyConfigs", "ec2:DescribeInstances",
    "ec2:DescribeVolumes", "dynamodb:DescribeTable",
})
GONE_CODES = frozenset({
    "ResourceNotFoundException", "InvalidInstanceID.NotFound", "InvalidVolume.NotFound",
    "ServiceNotFoundException", "ClusterNotFoundException", "TableNotFoundException",
})
_INVALID_ID_CHARS = re.compile(r"[^A-Za-z0-9._:/-]")


@dataclass(frozen=True)
class Context:
    """The account and region every call of one selection goes to (through that account's member role)."""

    account_id: str
    region: str

    def client(self, service: str) -> Any:
        return boto_client(service, self.region, self.account_id)


@dataclass(frozen=True)
class ArnRef:
    """One ARN the selection found, with the tags AWS holds for it (``aws:`` keys dropped)."""

    arn: str
    tags: dict[str, str]

    @property
    def resource_part(self) -> str:
        return self.arn.split(":", 5)[5]


@dataclass(frozen=True)
class Found:
    """A live resource as costopt registers it; ``attached_to`` is a volume's instance id."""

    resource: Resource
    attached_to: str | None = None


@dataclass
class Described:
    """What a selection found: ``found`` resources, and ``skipped`` (a reason each)."""

    found: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def resource_id_for(name: str) -> str:
    """A deterministic ResourceId from a live name (characters it can't hold become '-')."""
    cleaned = _INVALID_ID_CHARS.sub("-", name).lstrip("._:/-") or "resource"
    return cleaned[:128]


def _aws_code(exc: Exception) -> str | None:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return None


def _model(out: Described, ref: ArnRef, model: type[Any], attached_to: str | None = None, **fields: Any) -> None:
    """Add ``model(**fields)``, or a reason to ``skipped`` when the live config is outside what costopt models."""
    try:
        out.found.append(Found(resource=model(**fields), attached_to=attached_to))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        out.skipped.append(f"{ref.arn}: not modelled ({where}: {first.get('msg')})")


def _base(ctx: Context, ref: ArnRef, resource_id: str) -> dict[str, Any]:
    return {"resource_id": resource_id_for(resource_id), "account_id": ctx.account_id, "region": ctx.region,
            "arn": ref.arn, "tags": dict(list(ref.tags.items())[:50])}


# ------------------------------------------------------------------ Lambda


def describe_lambda(ctx: Context, refs: list[ArnRef]) -> Described:
    out, lam = Described(), ctx.client("lambda")
    for ref in refs:
        name = ref.resource_part.split(":")[1]
        try:
            cfg = lam.get_function_configuration(FunctionName=name)
            provisioned = 0
            for page in lam.get_paginator("list_provisioned_concurrency_configs").paginate(FunctionName=name):
                provisioned += sum(int(c.get("RequestedProvisionedConcurrentExecutions") or 0)
                                   for c in page.get("ProvisionedConcurrencyConfigs", []))
        except Exception as exc:
            if _aws_code(exc) in GONE_CODES:
                out.skipped.append(f"{ref.arn}: gone before it could be described")
                continue
            raise aws_error(SOURCE, exc) from exc
        arch = (cfg.get("Architectures") or ["x86_64"])[0]
        _model(out, ref, LambdaFunction, **_base(ctx, ref, name), function_name=name,
               config={"memory_mb": int(cfg["MemorySize"]), "architecture": arch,
                       "provisioned_concurrency": provisioned})
    return out


# ------------------------------------------------------------------ ECS


def _ecs_capacity(svc: dict[str, Any]) -> str | None:
    """on_demand / spot for a Fargate service, None for what costopt does not model (EC2 launch type)."""
    strategy = svc.get("capacityProviderStrategy") or []
    if strategy:
        providers = {s.get("capacityProvider") for s in strategy if int(s.get("weight") or 0) > 0}
        if providers == {"FARGATE_SPOT"}:
            return "spot"
        return "on_demand" if providers <= {"FARGATE", "FARGATE_SPOT"} else None
    return "on_demand" if svc.get("launchType") == "FARGATE" else None


def _ecs_bounds(ctx: Context, ids: list[str]) -> dict[str, tuple[int, int]]:
    aas, bounds = ctx.client("application-autoscaling"), {}
    for i in range(0, len(ids), 50):
        with aws_errors(SOURCE):
            for page in aas.get_paginator("describe_scalable_targets").paginate(
                    ServiceNamespace="ecs", ResourceIds=ids[i:i + 50], ScalableDimension="ecs:service:DesiredCount"):
                for t in page.get("ScalableTargets", []):
                    bounds[t["ResourceId"]] = (int(t["MinCapacity"]), int(t["MaxCapacity"]))
    return bounds


def describe_ecs(ctx: Context, refs: list[ArnRef]) -> Described:
    out, ecs = Described(), ctx.client("ecs")
    by_cluster: dict[str, list[ArnRef]] = {}
    for ref in refs:
        parts = ref.resource_part.split("/")  # service/<cluster>/<name> (the long ARN format)
        if len(parts) != 3:
            out.skipped.append(f"{ref.arn}: an ECS service ARN without its cluster (the old ARN format)")
            continue
        by_cluster.setdefault(parts[1], []).append(ref)
    for cluster, members in by_cluster.items():
        for i in range(0, len(members), 10):
            batch = members[i:i + 10]
            with aws_errors(SOURCE):
                got = ecs.describe_services(cluster=cluster, services=[r.arn for r in batch])
            live = {s["serviceArn"]: s for s in got.get("services", []) if s.get("status") == "ACTIVE"}
            bounds = _ecs_bounds(ctx, [f"service/{cluster}/{s['serviceName']}" for s in live.values()])
            for ref in batch:
                svc = live.get(ref.arn)
                if svc is None:
                    out.skipped.append(f"{ref.arn}: gone (not ACTIVE) before it could be described")
                    continue
                capacity = _ecs_capacity(svc)
                if capacity is None:
                    out.skipped.append(f"{ref.arn}: not on Fargate (costopt models Fargate services)")
                    continue
                with aws_errors(SOURCE):
                    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
                arch = str((td.get("runtimePlatform") or {}).get("cpuArchitecture") or "X86_64").lower()
                low, high = bounds.get(f"service/{cluster}/{svc['serviceName']}", (None, None))
                lbs = svc.get("loadBalancers") or []
                _model(out, ref, EcsService, **_base(ctx, ref, svc["serviceName"]), cluster=cluster,
                       service_name=svc["serviceName"], target_group_arn=lbs[0].get("targetGroupArn") if lbs else None,
                       config={"cpu_units": int(td.get("cpu") or 0), "memory_mb": int(td.get("memory") or 0),
                               "desired_count": int(svc.get("desiredCount") or 0), "min_count": low,
                               "max_count": high, "architecture": "arm64" if arch == "arm64" else "x86_64",
                               "capacity": capacity})
    return out


# ------------------------------------------------------------------ EC2 and EBS


def _ec2_live(ctx: Context, refs: list[ArnRef], operation: str, filter_name: str, batch: int,
              items: Callable[[dict[str, Any]], list[dict[str, Any]]], key: str) -> tuple[dict[str, ArnRef],
                                                                                      dict[str, dict[str, Any]]]:
    """The refs by their EC2 id, and what ``operation`` answers for them (an id filter: a missing id is no error)."""
    ec2 = ctx.client("ec2")
    by_id = {ref.resource_part.split("/")[1]: ref for ref in refs}
    ids, live = sorted(by_id), {}
    for i in range(0, len(ids), batch):
        with aws_errors(SOURCE):
            for page in ec2.get_paginator(operation).paginate(Filters=[{"Name": filter_name,
                                                                         "Values": ids[i:i + batch]}]):
                live.update({item[key]: item for item in items(page)})
    return by_id, live


def describe_ec2(ctx: Context, refs: list[ArnRef]) -> Described:
    out = Described()
    by_id, live = _ec2_live(ctx, refs, "describe_instances", "instance-id", 100,
                            lambda page: [i for r in page.get("Reservations", []) for i in r.get("Instances", [])],
                            "InstanceId")
    ids = sorted(by_id)
    for iid in ids:
        ref, inst = by_id[iid], live.get(iid)
        if inst is None or inst.get("State", {}).get("Name") in ("terminated", "shutting-down"):
            out.skipped.append(f"{ref.arn}: gone (terminated) before it could be described")
            continue
        _model(out, ref, Ec2Instance, **_base(ctx, ref, iid), instance_id=iid,
               config={"instance_type": inst["InstanceType"]})
    return out


def describe_ebs(ctx: Context, refs: list[ArnRef]) -> Described:
    out = Described()
    by_id, live = _ec2_live(ctx, refs, "describe_volumes", "volume-id", 200, lambda page: page.get("Volumes", []),
                            "VolumeId")
    ids = sorted(by_id)
    for vid in ids:
        ref, vol = by_id[vid], live.get(vid)
        if vol is None or vol.get("State") in ("deleting", "deleted", "error"):
            out.skipped.append(f"{ref.arn}: gone before it could be described")
            continue
        vtype = vol.get("VolumeType")
        config: dict[str, Any] = {"volume_type": vtype, "size_gb": int(vol["Size"])}
        if vtype in ("gp3", "io1", "io2") and vol.get("Iops"):
            config["iops"] = int(vol["Iops"])  # gp2/st1/sc1 report a baseline costopt does not set
        if vtype == "gp3" and vol.get("Throughput"):
            config["throughput_mbps"] = int(vol["Throughput"])
        attached = next((a.get("InstanceId") for a in vol.get("Attachments") or []
                         if a.get("State") in ("attached", "attaching")), None)
        _model(out, ref, EbsVolume, attached, **_base(ctx, ref, vid), volume_id=vid, config=config)
    return out


# ------------------------------------------------------------------ DynamoDB


def describe_dynamodb(ctx: Context, refs: list[ArnRef]) -> Described:
    out, ddb = Described(), ctx.client("dynamodb")
    for ref in refs:
        name = ref.resource_part.split("/")[1]
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except Exception as exc:
            if _aws_code(exc) in GONE_CODES:
                out.skipped.append(f"{ref.arn}: gone before it could be described")
                continue
            raise aws_error(SOURCE, exc) from exc
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
        config: dict[str, Any] = {"billing_mode": mode}
        if mode == "PROVISIONED":
            throughput = table.get("ProvisionedThroughput") or {}
            config |= {"rcu": int(throughput.get("ReadCapacityUnits") or 0) or None,
                       "wcu": int(throughput.get("WriteCapacityUnits") or 0) or None}
        _model(out, ref, DynamoDbTable, **_base(ctx, ref, name), table_name=name, config=config)
    return out
