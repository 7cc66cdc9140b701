"""generic (e.g. Kubernetes workloads): costopt cannot change them itself, so it asks a GitOps
pipeline to. It emits an EventBridge event ``costopt.config`` / ``ConfigChangeRequested`` with
{service_id, resource_id, workload, before, after, change_id}; the pipeline turns it into a pull
request (or applies it) and the change is recorded here.

Its "live config" is what costopt last applied (the newest SUCCEEDED change of the resource, from
the change history the jobs hand it with ``use_change_history``), else the service's registered config.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from costopt.actuators.aws import ActuationFailed, aws_errors, client, region_of
from costopt.actuators.base import Actuation, Actuator, Progress
from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.resources import GenericConfig, GenericResource, Resource, ResourceKind
from costopt.domain.service import Service

KIND = ResourceKind.GENERIC
EVENT_SOURCE = "costopt.config"
EVENT_DETAIL_TYPE = "ConfigChangeRequested"

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"events:PutEvents"})


class ChangeHistory(Protocol):
    def last_applied_config(self, service_id: str, resource_id: str) -> dict[str, Any] | None: ...


_history: Callable[[], ChangeHistory] | None = None


def use_change_history(history: Callable[[], ChangeHistory] | None) -> None:
    """Where ``read`` finds what costopt last applied (None: only the registered config is known)."""
    global _history
    _history = history


class GenericActuator(Actuator):
    kind = KIND
    config_model = GenericConfig
    managed_fields = ("replicas", "cpu_cores", "memory_gb")

    def read(self, service: Service, resource: Resource) -> Model:
        assert isinstance(resource, GenericResource)
        last = _history().last_applied_config(service.service_id, resource.resource_id) if _history else None
        return self.merge_live(resource, last or {})

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        return [f"generic resources are changed by your GitOps pipeline: costopt emits {EVENT_SOURCE}/"
                f"{EVENT_DETAIL_TYPE} on the event bus {settings.event_bus_name!r} and records the change; "
                "the workload changes when the pipeline applies it"]

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        assert isinstance(resource, GenericResource)
        res = resource
        detail = {"service_id": service.service_id, "resource_id": res.resource_id, "workload": res.workload,
                  "before": self.parse(before).model_dump(mode="json"),
                  "after": self.parse(target).model_dump(mode="json"), "change_id": change_id}
        events = client("events", region_of(service, res))  # costopt's own bus, in its account
        with aws_errors(KIND, "PutEvents"):
            resp = events.put_events(Entries=[{
                "Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE, "Detail": json.dumps(detail),
                "EventBusName": settings.event_bus_name, "Time": now,
                "Resources": [f"costopt:{service.service_id}:{res.resource_id}"],
            }])
        if resp.get("FailedEntryCount", 0):
            entry = (resp.get("Entries") or [{}])[0]
            raise ActuationFailed(KIND, f"PutEvents rejected the event: {entry.get('ErrorCode')}: "
                                  f"{entry.get('ErrorMessage')}")
        event_id = (resp.get("Entries") or [{}])[0].get("EventId")
        return Actuation(after=self.parse(target), warnings=[
            f"{EVENT_DETAIL_TYPE} event {event_id} sent to {settings.event_bus_name!r} for {res.workload}"])
