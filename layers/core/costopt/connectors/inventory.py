"""The inventory: which live resources a discovery selector names in one account and region, with their config.

``find_resources(selector, account_id, region) -> Inventory`` (``found``: one
:class:`~costopt.connectors.inventory_describe.Found` per live resource; ``skipped``: a reason per
resource that was named but is not registered). Two steps, every call in ``account_id`` (its member
role, :func:`costopt.accounts.session`):

1. Selection, as ARNs with their tags:
   - ``tag``: Resource Groups Tagging API ``GetResources`` (TagFilters, the supported resource types,
     paged with PaginationToken);
   - ``cloudformation_stack``: ``ListStackResources`` (paged) of the supported types, tags by
     ``GetResources(ResourceARNList)`` (100 ARNs a call);
   - ``ecs_cluster``: ``ListServices`` (paged), tags the same way.
2. The live config per kind (:mod:`costopt.connectors.inventory_describe`).

A failure of a call (the account's role can't read, throttling that outlasted botocore's retries)
raises ``ConnectorError`` (source "inventory"): the discovery job reports that account and region
and leaves what it holds alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costopt.connectors.inventory_describe import (
    SOURCE,
    ArnRef,
    Context,
    Described,
    Found,
    describe_dynamodb,
    describe_ebs,
    describe_ec2,
    describe_ecs,
    describe_lambda,
)
from costopt.connectors.retry import aws_errors
from costopt.domain.discovery import EcsClusterSelector, Selector, StackSelector, TagSelector
from costopt.domain.resources import ResourceKind

__all__ = ["AWS_ACTIONS", "Found", "Inventory", "find_resources", "kind_of"]

# The IAM actions this module's AWS calls need (template.yaml's InventoryReadPolicy and member-role.yaml grant
# them, with the describe calls' of costopt.connectors.inventory_describe.AWS_ACTIONS).
AWS_ACTIONS: frozenset[str] = frozenset({"tag:GetResources", "cloudformation:ListStackResources", "ecs:ListServices"})

# Tagging API resource type filters of the kinds costopt models
RESOURCE_TYPES = ("lambda:function", "ecs:service", "ec2:instance", "ec2:volume", "dynamodb:table")
# CloudFormation resource types -> how their physical id becomes an ARN (None: the physical id is the ARN)
STACK_TYPES: dict[str, str | None] = {
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{id}",
    "AWS::ECS::Service": None,
    "AWS::EC2::Instance": "arn:{p}:ec2:{r}:{a}:instance/{id}",
    "AWS::EC2::Volume": "arn:{p}:ec2:{r}:{a}:volume/{id}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{id}",
}
DESCRIBE: dict[str, Callable[[Context, list[ArnRef]], Described]] = {
    ResourceKind.LAMBDA_FUNCTION: describe_lambda,
    ResourceKind.ECS_SERVICE: describe_ecs,
    ResourceKind.EC2_INSTANCE: describe_ec2,
    ResourceKind.EBS_VOLUME: describe_ebs,
    ResourceKind.DYNAMODB_TABLE: describe_dynamodb,
}


Inventory = Described  # what find_resources answers


def kind_of(arn: str) -> str | None:
    """The resource kind of an ARN costopt models, else None."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    service, resource = parts[2], parts[5]
    if service == "lambda" and resource.startswith("function:") and resource.count(":") == 1:
        return ResourceKind.LAMBDA_FUNCTION
    if service == "ecs" and resource.startswith("service/"):
        return ResourceKind.ECS_SERVICE
    if service == "ec2" and resource.startswith("instance/"):
        return ResourceKind.EC2_INSTANCE
    if service == "ec2" and resource.startswith("volume/"):
        return ResourceKind.EBS_VOLUME
    if service == "dynamodb" and resource.startswith("table/") and resource.count("/") == 1:
        return ResourceKind.DYNAMODB_TABLE
    return None


def _refs(mappings: list[dict[str, Any]]) -> list[ArnRef]:
    return [ArnRef(arn=m["ResourceARN"], tags={t["Key"]: t["Value"] for t in m.get("Tags", [])
                                               if not t["Key"].startswith("aws:")})
            for m in mappings]


def _by_tag(ctx: Context, selector: TagSelector) -> list[ArnRef]:
    tagging = ctx.client("resourcegroupstaggingapi")
    tag_filter: dict[str, Any] = {"Key": selector.tag_key}
    if selector.tag_values:
        tag_filter["Values"] = list(selector.tag_values)
    refs: list[ArnRef] = []
    with aws_errors(SOURCE):
        for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[tag_filter], ResourceTypeFilters=list(RESOURCE_TYPES)):
            refs += _refs(page.get("ResourceTagMappingList", []))
    return refs


def _tagged(ctx: Context, arns: list[str]) -> list[ArnRef]:
    """``arns`` with their tags (an ARN the Tagging API does not list has none)."""
    tagging = ctx.client("resourcegroupstaggingapi")
    tags: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), 100):
        with aws_errors(SOURCE):
            for page in tagging.get_paginator("get_resources").paginate(ResourceARNList=arns[i:i + 100]):
                tags |= {r.arn: r.tags for r in _refs(page.get("ResourceTagMappingList", []))}
    return [ArnRef(arn=a, tags=tags.get(a, {})) for a in arns]


def _by_stack(ctx: Context, selector: StackSelector) -> list[ArnRef]:
    from costopt.accounts import partition

    cfn, arns = ctx.client("cloudformation"), []
    with aws_errors(SOURCE):
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=selector.stack_name):
            for r in page.get("StackResourceSummaries", []):
                rtype, physical = r.get("ResourceType"), r.get("PhysicalResourceId")
                if rtype not in STACK_TYPES or not physical or str(r.get("ResourceStatus", "")).startswith("DELETE"):
                    continue
                pattern = STACK_TYPES[rtype]
                arns.append(physical if pattern is None else
                            pattern.format(p=partition(), r=ctx.region, a=ctx.account_id, id=physical))
    return _tagged(ctx, arns)


def _by_cluster(ctx: Context, selector: EcsClusterSelector) -> list[ArnRef]:
    ecs, arns = ctx.client("ecs"), []
    with aws_errors(SOURCE):
        for page in ecs.get_paginator("list_services").paginate(cluster=selector.cluster):
            arns += page.get("serviceArns", [])
    return _tagged(ctx, arns)


def find_resources(selector: Selector, account_id: str, region: str) -> Inventory:
    """The live resources ``selector`` names in ``account_id``/``region``, with their config."""
    ctx = Context(account_id=account_id, region=region)
    if isinstance(selector, TagSelector):
        refs = _by_tag(ctx, selector)
    elif isinstance(selector, StackSelector):
        refs = _by_stack(ctx, selector)
    else:
        refs = _by_cluster(ctx, selector)
    out = Inventory()
    by_kind: dict[str, list[ArnRef]] = {}
    for ref in refs:
        kind = kind_of(ref.arn)
        if kind is None:
            out.skipped.append(f"{ref.arn}: not a kind costopt models")
            continue
        by_kind.setdefault(kind, []).append(ref)
    for kind, members in by_kind.items():
        described = DESCRIBE[kind](ctx, members)
        out.found += described.found
        out.skipped += described.skipped
    return out
