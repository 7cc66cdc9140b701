"""PricingCache table: one item per region holding a parsed ``Catalog`` as JSON.

Key ``cache_key`` = ``catalog#<schema version>#<region>``; ``expires_at`` is the table's TTL
attribute (7 days). DynamoDB deletes expired items lazily, so reads check it too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from costopt import clock
from costopt.config import settings
from costopt.pricing.catalog import Catalog
from costopt.store.base import BaseMeta

CACHE_TTL = timedelta(days=7)
SCHEMA_VERSION = "v2"  # v2: per-section sources, fargate.spot assumption (v1 items are not read)


def cache_key(region: str) -> str:
    return f"catalog#{SCHEMA_VERSION}#{region}"


class PricingCacheItem(Model):
    class Meta(BaseMeta):
        table_name = settings.pricing_cache_table

    cache_key = UnicodeAttribute(hash_key=True)
    region = UnicodeAttribute()
    doc = UnicodeAttribute()
    fetched_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


def load(region: str, *, now: datetime | None = None) -> Catalog | None:
    """The cached catalog for ``region``, or None when absent or expired."""
    try:
        item = PricingCacheItem.get(cache_key(region), consistent_read=False)
    except DoesNotExist:
        return None
    if item.expires_at <= (now or clock.now()):
        return None
    return Catalog.model_validate_json(item.doc)


def save(catalog: Catalog, *, now: datetime | None = None) -> None:
    at = now or clock.now()
    PricingCacheItem(
        cache_key(catalog.region),
        region=catalog.region,
        doc=catalog.model_dump_json(by_alias=True),
        fetched_at=at,
        expires_at=at + CACHE_TTL,
    ).save()
