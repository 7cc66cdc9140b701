"""PricingCache table: one item per region holding a parsed ``Catalog`` as JSON.

Key ``cache_key`` = ``catalog#<schema version>#<region>``; ``expires_at`` is the table's TTL
attribute (7 days). DynamoDB deletes expired items lazily, so reads check it too.

``load(region, now=None) -> Catalog | None`` and ``save(catalog, now=None)``; ``PriceCacheTable``
is the same as the ``costopt.pricing.regions.PriceCache`` that ``get_catalog`` reads through
(importing this module makes it the default cache of ``get_catalog``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from costopt import clock
from costopt.config import settings
from costopt.pricing.catalog import Catalog
from costopt.pricing.regions import use_price_cache
from costopt.store.base import ExpiringItem, table_meta, texts

CACHE_TTL = timedelta(days=7)
SCHEMA_VERSION = "v2"  # v2: per-section sources, fargate.spot assumption (v1 items are not read)


def cache_key(region: str) -> str:
    return f"catalog#{SCHEMA_VERSION}#{region}"


class PricingCacheItem(ExpiringItem):
    Meta = table_meta(settings.pricing_cache_table)
    cache_key = UnicodeAttribute(hash_key=True)
    region, doc = texts(2)
    fetched_at = UTCDateTimeAttribute()


def load(region: str, *, now: datetime | None = None) -> Catalog | None:
    """The cached catalog for ``region``, or None when absent or expired."""
    item = PricingCacheItem.live(cache_key(region), now=now)
    return Catalog.model_validate_json(item.doc) if item else None


def save(catalog: Catalog, *, now: datetime | None = None) -> None:
    at = now or clock.now()
    PricingCacheItem(cache_key(catalog.region), region=catalog.region, doc=catalog.model_dump_json(by_alias=True),
                     fetched_at=at, expires_at=at + CACHE_TTL).save()


class PriceCacheTable:
    """The PricingCache table as ``get_catalog``'s cache."""

    def load(self, region: str) -> Catalog | None:
        return load(region)

    def save(self, catalog: Catalog) -> None:
        save(catalog)


use_price_cache(PriceCacheTable())
