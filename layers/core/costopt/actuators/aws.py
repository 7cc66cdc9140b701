"""Calling AWS from an actuator: one bounded boto3 client per (AWS service, region), the waiters' settings,
and botocore failures as typed errors (``ActuationFailed``; 422 when the live resource is not there).

Clients are created once per (AWS service, region) with timeouts and bounded retries (botocore
``standard`` mode: exponential backoff with jitter). Endpoints are not configured here: botocore
honours ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``, so the same code talks to a local
sandbox (moto server) and to a real account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from costopt import accounts
from costopt.config import settings
from costopt.domain.resources import Resource
from costopt.domain.service import Service
from costopt.errors import ActuatorError, Unprocessable

# AWS error codes meaning "the live resource is not there": the caller's data is wrong, not AWS.
NOT_FOUND_CODES = frozenset({
    "ResourceNotFoundException", "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
    "InvalidVolume.NotFound", "InvalidVolumeID.Malformed", "ServiceNotFoundException",
    "ClusterNotFoundException", "ServiceNotActiveException", "TableNotFoundException",
})


def client(service_name: str, region: str, account_id: str | None = None) -> Any:
    """A boto3 client for (service, region, account), created once and reused (thread-safe); ``account_id``
    None is the account costopt runs in, another one is reached through :func:`costopt.accounts.session`."""
    return accounts.client(service_name, region, account_id, purpose="actuator", config=lambda: Config(
        connect_timeout=settings.actuator_connect_timeout_s,
        read_timeout=settings.actuator_read_timeout_s,
        retries={"max_attempts": settings.actuator_max_attempts, "mode": "standard"},
        user_agent_extra="costopt-actuator",
    ))


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


def region_of(service: Service, resource: Resource) -> str:
    return resource.region or service.region
