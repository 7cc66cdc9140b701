"""Idle resources (DESIGN §4): no requests, or CPU under ``policy.rightsizing.idle_cpu_pct`` over the whole
lookback -> stop (compute) or delete (storage/tables). Performance risk at least 2, never auto-applied.

Proposed configs of idle actions: compute keeps its config with zero replicas/tasks where the config can
express it (ECS ``desired_count`` 0, generic ``replicas`` 0); otherwise ``{"state": "stopped"}`` (EC2) or
``{"state": "deleted"}`` (EBS: snapshot first; DynamoDB: back up first).
"""

from __future__ import annotations

from typing import Any

from costopt.domain.recommendation import Action
from costopt.domain.resources import ResourceKind
from costopt.engine.recommend.context import Context, Option
from costopt.engine.sla import Prediction

IDLE_RISK = 2

_ACTIONS: dict[str, Action] = {
    ResourceKind.ECS_SERVICE: "idle_stop",
    ResourceKind.EC2_INSTANCE: "idle_stop",
    ResourceKind.GENERIC: "idle_stop",
    ResourceKind.EBS_VOLUME: "idle_delete",
    ResourceKind.DYNAMODB_TABLE: "idle_delete",
}


def idle_option(ctx: Context, reason: str, monthly_cost_after_usd: float = 0.0) -> Option:
    kind = ctx.resource.kind
    cfg: dict[str, Any] = ctx.resource.config.model_dump()
    action = _ACTIONS[kind]
    if kind == ResourceKind.ECS_SERVICE:
        proposed = {**cfg, "desired_count": 0, **({"min_count": 0} if cfg.get("min_count") is not None else {})}
        note = "scale the service to 0 tasks (or delete it)"
    elif kind == ResourceKind.GENERIC:
        proposed = {**cfg, "replicas": 0, **({"min_replicas": 0} if cfg.get("min_replicas") is not None else {})}
        note = "scale the workload to 0 replicas (or delete it)"
    elif kind == ResourceKind.EC2_INSTANCE:
        proposed = {"state": "stopped"}
        note = "stop the instance (its EBS volumes are still billed) or terminate it"
    elif kind == ResourceKind.EBS_VOLUME:
        proposed = {"state": "deleted"}
        note = "snapshot, then delete the volume"
    else:
        proposed = {"state": "deleted"}
        note = "back up, then delete the table"
    return Option(action=action, proposed=proposed, monthly_cost_usd=monthly_cost_after_usd,
                  prediction=Prediction(reduces_capacity=False), risk_floor=IDLE_RISK, auto_applicable=False,
                  notes=[f"idle: {reason}", note,
                         "availability and latency clauses do not apply to a resource that serves nothing"])
