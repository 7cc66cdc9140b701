"""What every PynamoDB model shares: region, timeouts, retries, base items and indexes (ids live in domain.ids).

Endpoints are not configured here on purpose: botocore honours ``AWS_ENDPOINT_URL_DYNAMODB``
(and ``AWS_ENDPOINT_URL``), so the same code talks to DynamoDB Local and to AWS.

Timeouts and retries come from ``settings.dynamodb_*`` (``COSTOPT_DYNAMODB_CONNECT_TIMEOUT_S``,
``COSTOPT_DYNAMODB_READ_TIMEOUT_S``, ``COSTOPT_DYNAMODB_MAX_RETRIES``), the same for the models
(``BaseMeta``), a transaction's ``connection()`` and the idempotency store's boto3 client
(``client_config()``): whatever is left failing after them becomes a 503 (``costopt.dependency``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from costopt import clock
from costopt.config import settings
from costopt.domain.ids import new_etag, time_ordered_id  # re-exported: the id/etag factories live in domain
from costopt.errors import NotFound
from costopt.store.retry import FINAL_WRITE_DELAYS_S, is_transient, retry_transient

if TYPE_CHECKING:
    from botocore.config import Config


class BaseMeta:
    region = settings.aws_region
    connect_timeout_seconds = settings.dynamodb_connect_timeout_s
    read_timeout_seconds = settings.dynamodb_read_timeout_s
    max_retry_attempts = settings.dynamodb_max_retries
    billing_mode = "PAY_PER_REQUEST"


def table_meta(table_name: str) -> Any:
    """A model's ``Meta``: ``table_name`` with the shared region, timeouts and retries (``BaseMeta``)."""
    return type("Meta", (BaseMeta,), {"table_name": table_name})


def texts(count: int, *, null: bool = False) -> tuple[UnicodeAttribute, ...]:
    """``count`` string attributes, declared together: ``team, name, region = texts(3)``."""
    return tuple(UnicodeAttribute(null=null) for _ in range(count))


M = TypeVar("M", bound="ExpiringItem")
Mo = TypeVar("Mo", bound=Model)
T = TypeVar("T")


def connection() -> Connection:
    """A PynamoDB connection with the models' timeouts and retries (for ``TransactWrite``/``TransactGet``)."""
    return Connection(region=settings.aws_region, connect_timeout_seconds=settings.dynamodb_connect_timeout_s,
                      read_timeout_seconds=settings.dynamodb_read_timeout_s,
                      max_retry_attempts=settings.dynamodb_max_retries)


def client_config() -> Config:
    """The botocore ``Config`` of a plain boto3 DynamoDB client (the idempotency store's): the same bounds."""
    from botocore.config import Config

    return Config(connect_timeout=settings.dynamodb_connect_timeout_s, read_timeout=settings.dynamodb_read_timeout_s,
                  retries={"mode": "standard", "total_max_attempts": 1 + settings.dynamodb_max_retries})


def consistent_get(model: type[Mo], hash_key: str, range_key: str | None = None) -> Mo | None:
    """The item (a strongly consistent GetItem), or None when there is none."""
    try:
        return model.get(hash_key, range_key, consistent_read=True)
    except DoesNotExist:
        return None


def existing(found: T | None, what: str) -> T:
    """``found``, or NotFound (404) saying ``what`` does not exist."""
    if found is None:
        raise NotFound(f"{what} does not exist")
    return found


def save_if(item: Model, condition: Condition, conflict: Callable[[], Exception]) -> None:
    """Put ``item`` if ``condition`` holds; when it does not, raise what ``conflict()`` makes (a 409)."""
    try:
        item.save(condition=condition)
    except PutError as exc:
        if is_conditional(exc):
            raise conflict() from None
        raise


def is_conditional(exc: BaseException) -> bool:
    """A conditional write's condition failed (PynamoDB's Put/Update/DeleteError with DynamoDB's code)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class TimestampedModel(Model):
    updated_at = UTCDateTimeAttribute()


class ServiceDocItem(TimestampedModel):
    """An item of one service (hash key ``service_id``) whose immutable part is a JSON ``doc``."""

    service_id = UnicodeAttribute(hash_key=True)
    doc = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ExpiringItem(Model):
    """An item with a DynamoDB TTL (``expires_at``); DynamoDB deletes expired items lazily (within
    days), so a read treats one past ``expires_at`` as gone."""

    expires_at = TTLAttribute()

    @classmethod
    def live(cls: type[M], hash_key: str, *, now: datetime | None = None) -> M | None:
        """The item, or None when absent or expired."""
        try:
            item = cls.get(hash_key)
        except DoesNotExist:
            return None
        expires = getattr(item, "expires_at", None)
        return None if expires is not None and expires <= (now or clock.now()) else item


def gsi(index_name: str, hash_key: str, range_key: str) -> GlobalSecondaryIndex[Any]:
    """A global secondary index projecting every attribute, keyed by two string attributes."""
    meta = type("Meta", (), {"index_name": index_name, "projection": AllProjection()})
    cls = type(f"{index_name}_index", (GlobalSecondaryIndex,),
               {"Meta": meta, hash_key: UnicodeAttribute(hash_key=True), range_key: UnicodeAttribute(range_key=True)})
    index: GlobalSecondaryIndex[Any] = cls()
    return index


__all__ = [
    "FINAL_WRITE_DELAYS_S",
    "BaseMeta",
    "ExpiringItem",
    "ServiceDocItem",
    "TimestampedModel",
    "client_config",
    "connection",
    "consistent_get",
    "existing",
    "gsi",
    "is_conditional",
    "is_transient",
    "new_etag",
    "retry_transient",
    "save_if",
    "table_meta",
    "texts",
    "time_ordered_id",
]
