"""What every actuator shares: the interface, boto3 clients, error mapping and comparisons.

Clients are created once per (AWS service, region) with timeouts and bounded retries (botocore
``standard`` mode: exponential backoff with jitter). Endpoints are not configured here: botocore
honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``, so the same code talks to a local
sandbox (moto server) and to a real account.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.resources import Resource
from costopt.domain.service import Service
from costopt.errors import ActuatorError, Unprocessable

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()

# AWS error codes meaning "the live resource is not there": the caller's data is wrong, not AWS.
NOT_FOUND_CODES = frozenset({
    "ResourceNotFoundException", "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
    "InvalidVolume.NotFound", "InvalidVolumeID.Malformed", "ServiceNotFoundException",
    "ClusterNotFoundException", "ServiceNotActiveException", "TableNotFoundException",
})


def client(service_name: str, region: str) -> Any:
    """A boto3 client for (service, region), created once and reused (thread-safe)."""
    key = (service_name, region)
    found = _clients.get(key)
    if found is not None:
        return found
    with _clients_lock:
        if key not in _clients:
            _clients[key] = boto3.client(
                service_name, region_name=region,
                config=Config(
                    connect_timeout=settings.actuator_connect_timeout_s,
                    read_timeout=settings.actuator_read_timeout_s,
                    retries={"max_attempts": settings.actuator_max_attempts, "mode": "standard"},
                    user_agent_extra="costopt-actuator",
                ),
            )
        return _clients[key]


def waiter_config() -> dict[str, float | int]:
    return {"Delay": settings.actuator_wait_delay_s, "MaxAttempts": settings.actuator_wait_max_attempts}


class ActuationFailed(ActuatorError):
    """The change failed. ``partial`` says whether the live resource may already differ from before."""

    def __init__(self, kind: str, detail: str, *, partial: bool = False) -> None:
        super().__init__(kind, detail)
        self.partial = partial
        self.extra["partial"] = partial


@contextmanager
def aws_errors(kind: str, what: str, *, partial: bool = False) -> Iterator[None]:
    """Turn botocore failures into typed errors: a missing resource is 422, the rest ActuationFailed."""
    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "ClientError"))
        message = str(err.get("Message", "")) or str(exc)
        if code in NOT_FOUND_CODES:
            raise Unprocessable(f"{kind}: {what}: the live resource was not found ({code}: {message})",
                                extra={"actuator": kind, "aws_error": code}) from exc
        raise ActuationFailed(kind, f"{what}: {code}: {message}", partial=partial) from exc
    except WaiterError as exc:
        raise ActuationFailed(kind, f"{what}: gave up waiting: {exc}", partial=partial) from exc
    except BotoCoreError as exc:
        raise ActuationFailed(kind, f"{what}: {exc}", partial=partial) from exc


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


def region_of(service: Service, resource: Resource) -> str:
    return resource.region or service.region
