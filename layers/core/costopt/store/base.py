"""What every PynamoDB model shares: region, timeouts, retries, ids, time helpers.

Endpoints are not configured here on purpose: botocore honours ``AWS_ENDPOINT_URL_DYNAMODB``
(and ``AWS_ENDPOINT_URL``), so the same code talks to DynamoDB Local and to AWS.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime

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
