"""The actuator interface: read the live config, check, apply and read back, roll back, compare.

How an actuator calls AWS (clients, waiters, error mapping) is ``costopt.actuators.aws``'s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from costopt.actuators.aws import ActuationFailed as ActuationFailed  # re-exported: what an actuation raises
from costopt.domain.common import Model
from costopt.domain.resources import Resource
from costopt.domain.service import Service

M = TypeVar("M", bound=Model)


@dataclass
class Actuation:
    """What an apply did: the config read back from the live resource afterwards."""

    after: Model
    warnings: list[str] = field(default_factory=list)
    rollback_not_before: datetime | None = None


def _no_report(step: str, detail: str | None = None) -> None:
    return None


@dataclass
class Progress:
    """What the change flow hands an actuation: the facts recorded with the intent (``Actuator.facts``,
    e.g. whether an EC2 instance was running) and where to report each step (a heartbeat on the change)."""

    facts: Mapping[str, Any] = field(default_factory=dict)
    report: Callable[[str, str | None], None] = _no_report


class Actuator(ABC):
    kind: ClassVar[str]
    config_model: ClassVar[type[Model]]
    # the config fields this actuator reads from and writes to the live resource (drift compares these)
    managed_fields: ClassVar[tuple[str, ...]]
    # seconds an actuation can take; above ~20 s it runs in the actuation worker, not in the request
    typical_duration_s: ClassVar[float] = 5.0

    # ------------------------------------------------------------------ interface

    @abstractmethod
    def read(self, service: Service, resource: Resource) -> Model:
        """The live config in the kind's config shape (unmanaged fields from the registered config)."""

    @abstractmethod
    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        """Change the live resource from ``before`` to ``target`` and read it back.

        Raises ``ActuationFailed`` (``partial`` when the resource may be half-changed). An actuator
        whose work takes minutes (``typical_duration_s``) resumes from the live state when called
        again for the same change (the worker is retried after a crash)."""

    def facts(self, service: Service, resource: Resource) -> dict[str, Any]:
        """Live facts outside the config that the intent records (e.g. an EC2 instance's state)."""
        return {}

    def unsettled(self, service: Service, resource: Resource, facts: Mapping[str, Any]) -> str | None:
        """Why the live resource is not in a settled state for the recorded ``facts`` (mid-change), or None."""
        return None

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        """Refuse (``Unprocessable``) what this kind cannot do; return warnings for what it can."""
        return []

    def rollback_target(self, before: Model, live: Model) -> tuple[Model, list[str]]:
        """The config a rollback should set to restore ``before`` (some kinds cannot restore all of it)."""
        return before, []

    # ------------------------------------------------------------------ helpers

    def parse(self, config: dict[str, Any] | Model) -> Model:
        data = config.model_dump() if isinstance(config, Model) else dict(config)
        return self.config_model.model_validate(data)

    def parse_as(self, config: dict[str, Any] | Model, cls: type[M]) -> M:
        """``parse`` typed as this kind's config class ``cls``."""
        parsed = self.parse(config)
        assert isinstance(parsed, cls), f"{self.kind} parses configs as {self.config_model.__name__}"
        return parsed

    def differences(self, a: Model | dict[str, Any], b: Model | dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Managed fields whose values differ: {field: {"expected": a, "live": b}}."""
        pa, pb = self.parse(a), self.parse(b)
        out = {}
        for name in self.managed_fields:
            va, vb = getattr(pa, name), getattr(pb, name)
            if va != vb:
                out[name] = {"expected": va, "live": vb}
        return out

    def merge_live(self, resource: Resource, live: dict[str, Any]) -> Model:
        """Live values over the registered config (for fields the AWS API does not expose)."""
        data = resource.config.model_dump()
        data.update(live)
        return self.config_model.model_validate(data)

    def confirm(self, target: Model, after: Model) -> None:
        """The read-back must show the target on every managed field, else the change did not take."""
        diff = self.differences(target, after)
        if diff:
            raise ActuationFailed(self.kind, f"read-back does not match the target: {diff}", partial=True)


def as_kind(resource: Resource, cls: type[M]) -> M:
    """``resource`` typed as the actuator's resource class (the registry only hands it its own kind)."""
    assert isinstance(resource, cls), f"not a {cls.__name__}: {type(resource).__name__}"
    return resource
