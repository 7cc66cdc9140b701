"""The AWS actions costopt declares and the ones it really calls (DESIGN §11, IAM).

Every costopt module whose code calls an AWS API declares the IAM actions those calls need in one
constant, ``AWS_ACTIONS: frozenset[str]``. Two kinds of test read it:

- tests/contract/test_iam.py: template.yaml grants each function exactly what the modules it runs
  declare (and costopt's managed policies nothing else);
- the moto tests: ``AwsCallRecorder`` records every botocore call and the costopt module whose code
  made it, so tests/integration/aws/conftest.py fails any test in which a module calls an action it
  does not declare, and tests/integration/aws/iam/test_aws_actions.py runs every declared action at
  least once.

Adding an AWS call = one line in the module's ``AWS_ACTIONS`` and one in template.yaml.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "layers" / "core" / "costopt"

# boto3 service name -> IAM service prefix where they differ (CloudWatch is "cloudwatch" to both although
# its endpoint and signing name are "monitoring").
IAM_PREFIX: dict[str, str] = {"stepfunctions": "states", "elbv2": "elasticloadbalancing",
                              "resourcegroupstaggingapi": "tag"}

# (IAM prefix, API operation) -> the IAM action that authorizes it, where it is not named after the operation
# (Service Authorization Reference: SendMessageBatch is authorized by sqs:SendMessage, ...).
OPERATION_ACTION: dict[tuple[str, str], str] = {
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
}

# Operations no IAM policy is needed for (the STS API reference: "No permissions are required").
NO_PERMISSION = frozenset({("sts", "GetCallerIdentity")})

# ECS operations that tag the resource they create: with tags they also need ecs:TagResource.
ECS_TAG_ON_CREATE = frozenset({"CreateCapacityProvider", "CreateCluster", "CreateService", "CreateTaskSet",
                               "RegisterContainerInstance", "RegisterTaskDefinition", "RunTask", "StartTask"})


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> frozenset[str]:
    """The IAM actions one API call needs: its own action, and what the request implies besides
    (passing an IAM role, tagging on create)."""
    prefix = IAM_PREFIX.get(service, service)
    if (prefix, operation) in NO_PERMISSION:
        return frozenset()
    actions = {OPERATION_ACTION.get((prefix, operation), f"{prefix}:{operation}")}
    if prefix == "ecs" and operation in ECS_TAG_ON_CREATE and params.get("tags"):
        actions.add("ecs:TagResource")
    if (prefix, operation) == ("ecs", "RegisterTaskDefinition") and (
            params.get("taskRoleArn") or params.get("executionRoleArn")):
        actions.add("iam:PassRole")
    return frozenset(actions)


# ---------------------------------------------------------------- declarations


def product_modules() -> list[str]:
    """Every module of the costopt package, dotted."""
    names = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def declared_actions() -> dict[str, frozenset[str]]:
    """module -> its ``AWS_ACTIONS``, for every costopt module that declares some."""
    out = {}
    for name in product_modules():
        declared = getattr(importlib.import_module(name), "AWS_ACTIONS", None)
        if declared is not None:
            assert isinstance(declared, frozenset) and declared, f"{name}.AWS_ACTIONS must be a non-empty frozenset"
            out[name] = declared
    return out


# ---------------------------------------------------------------- recording


@dataclass(frozen=True)
class Call:
    module: str | None  # the innermost costopt module on the stack; None when test code made the call
    service: str
    operation: str
    actions: frozenset[str]


def _own_tables() -> set[str]:
    from costopt.config import settings

    return {str(v) for k, v in settings.model_dump().items() if k.endswith("_table")}


def _tables_named(params: dict[str, Any]) -> set[str]:
    names = set(params.get("RequestItems") or {})
    if params.get("TableName"):
        names.add(str(params["TableName"]))
    for item in params.get("TransactItems") or []:
        names.update(str(body["TableName"]) for body in item.values() if isinstance(body, dict) and "TableName" in body)
    return names


def _calling_module() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name == "costopt" or name.startswith("costopt."):
            return name
        frame = frame.f_back  # type: ignore[assignment]
    return None


class AwsCallRecorder:
    """Every botocore API call made while recording (boto3 clients, PynamoDB, Powertools, waiters and
    paginators all end in ``BaseClient._make_api_call``), except calls on costopt's own DynamoDB tables:
    those are the store's, granted by the SAM DynamoDB*Policy templates, not by a module's AWS_ACTIONS."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    @contextmanager
    def recording(self) -> Iterator[AwsCallRecorder]:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        own = _own_tables()
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            model = client.meta.service_model
            tables = _tables_named(api_params) if model.service_name == "dynamodb" else set()
            if not (tables and tables <= own):
                recorder.calls.append(Call(_calling_module(), model.service_name, operation_name,
                                           iam_actions(model.service_name, operation_name, api_params)))
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]

    def by_module(self) -> dict[str, set[str]]:
        """costopt module -> the IAM actions its calls needed (test code's own calls left out)."""
        out: dict[str, set[str]] = {}
        for call in self.calls:
            if call.module is not None:
                out.setdefault(call.module, set()).update(call.actions)
        return out

    def undeclared(self, declared: dict[str, frozenset[str]]) -> dict[str, set[str]]:
        """module -> the actions it called without declaring them."""
        out = {}
        for module, actions in self.by_module().items():
            missing = actions - declared.get(module, frozenset())
            if missing:
                out[module] = missing
        return out
