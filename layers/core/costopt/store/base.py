"""What every PynamoDB model shares: region, timeouts, retries, ids, time helpers.

Endpoints are not configured here on purpose: botocore honours ``AWS_ENDPOINT_URL_DYNAMODB``
(and ``AWS_ENDPOINT_URL``), so the same code talks to DynamoDB Local and to AWS.

Timeouts and retries come from ``settings.dynamodb_*`` (``COSTOPT_DYNAMODB_CONNECT_TIMEOUT_S``,
``COSTOPT_DYNAMODB_READ_TIMEOUT_S``, ``COSTOPT_DYNAMODB_MAX_RETRIES``), the same for the models
(``BaseMeta``), a transaction's ``connection()`` and the idempotency store's boto3 client
(``client_config()``): whatever is left failing after them becomes a 503 (``costopt.dependency``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model

from costopt.config import settings
from costopt.domain.ids import new_etag as new_etag  # re-exported: the id/etag factories live in domain
from costopt.domain.ids import time_ordered_id as time_ordered_id


class BaseMeta:
    region = settings.aws_region
    connect_timeout_seconds = settings.dynamodb_connect_timeout_s
    read_timeout_seconds = settings.dynamodb_read_timeout_s
    max_retry_attempts = settings.dynamodb_max_retries
    billing_mode = "PAY_PER_REQUEST"


T = TypeVar("T")
FINAL_WRITE_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # on top of botocore's own retries: ~4 s, inside any request


def is_transient(exc: BaseException) -> bool:
    """A failure a retry may cure (no connection, a timeout, a throttle, a 5xx): ``costopt.dependency``."""
    from costopt.dependency import dependency_failure

    return dependency_failure(exc) is not None


def retry_transient(write: Callable[[], T], delays: tuple[float, ...] = FINAL_WRITE_DELAYS_S) -> T:
    """Run ``write``, again after each of ``delays`` while it fails transiently (final transitions:
    a change that was made must be recorded; what still fails is left to the recovery sweep)."""
    for delay in delays:
        try:
            return write()
        except Exception as exc:
            if not is_transient(exc):
                raise
            time.sleep(delay)
    return write()


def connection() -> Connection:
    """A PynamoDB connection with the models' timeouts and retries (for ``TransactWrite``/``TransactGet``)."""
    return Connection(region=settings.aws_region, connect_timeout_seconds=settings.dynamodb_connect_timeout_s,
                      read_timeout_seconds=settings.dynamodb_read_timeout_s,
                      max_retry_attempts=settings.dynamodb_max_retries)


def client_config() -> Any:
    """The botocore ``Config`` of a plain boto3 DynamoDB client (the idempotency store's): the same bounds."""
    from botocore.config import Config

    return Config(connect_timeout=settings.dynamodb_connect_timeout_s, read_timeout=settings.dynamodb_read_timeout_s,
                  retries={"mode": "standard", "total_max_attempts": 1 + settings.dynamodb_max_retries})


class TimestampedModel(Model):
    updated_at = UTCDateTimeAttribute()


