"""What every PynamoDB model shares: region, timeouts, retries, ids, time helpers.

Endpoints are not configured here on purpose: botocore honours ``AWS_ENDPOINT_URL_DYNAMODB``
(and ``AWS_ENDPOINT_URL``), so the same code talks to DynamoDB Local and to AWS.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.models import Model

from costopt import clock
from costopt.config import settings


class BaseMeta:
    region = settings.aws_region
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3
    base_backoff_ms = 25
    billing_mode = "PAY_PER_REQUEST"


T = TypeVar("T")
# DynamoDB's answers about the request itself: retrying them changes nothing
_PERMANENT_CODES = frozenset({"ConditionalCheckFailedException", "ValidationException",
                              "TransactionCanceledException", "ResourceNotFoundException",
                              "AccessDeniedException", "UnrecognizedClientException"})
FINAL_WRITE_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # on top of botocore's own retries: ~4 s, inside any request


def is_transient(exc: BaseException) -> bool:
    """A DynamoDB failure a retry may cure: no connection, a timeout, a throttle, a 5xx."""
    from pynamodb.exceptions import PynamoDBException

    if not isinstance(exc, PynamoDBException):
        return False
    return (exc.cause_response_code or "") not in _PERMANENT_CODES


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


class TimestampedModel(Model):
    updated_at = UTCDateTimeAttribute()


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def time_ordered_id(prefix: str = "", at: datetime | None = None) -> str:
    """A ULID-like id: 10 chars of millisecond time then 16 random chars, lexically time-ordered."""
    ms = int((at or clock.now()).timestamp() * 1000)
    t = ""
    for _ in range(10):
        t = _CROCKFORD[ms % 32] + t
        ms //= 32
    rnd = int.from_bytes(secrets.token_bytes(10), "big")
    r = ""
    for _ in range(16):
        r = _CROCKFORD[rnd % 32] + r
        rnd //= 32
    return f"{prefix}{t}{r}"


def new_etag() -> str:
    return os.urandom(8).hex()
