"""``get_catalog(region)``: the price catalog for a region.

- us-east-1: the bundled, dated file (no I/O).
- other regions: the cache given to ``use_price_cache`` (the PricingCache table, 7-day TTL:
  ``costopt.store.price_cache``, which ``costopt.deps`` loads), else the AWS Price List Query API
  (``pricing:GetProducts``), stored back into the cache; when both fail, the us-east-1
  catalog with a ``warnings`` entry saying so (APIs pass warnings on to clients).
- every region: the deployment's overrides (``COSTOPT_FARGATE_SPOT_DISCOUNT``) applied on the way out
  (``catalog.with_settings``); the PricingCache keeps what the Price List said, so a changed setting never
  waits for a cache entry to expire.

Results are kept in-process (a warm Lambda asks DynamoDB at most once per region per
``_MEMORY_TTL_S``); a fallback is retried after ``_FALLBACK_RETRY_S``. boto3 and PynamoDB
are imported lazily so pricing stays cheap to import.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from costopt.observability import logger
from costopt.pricing.catalog import DEFAULT_REGION, Catalog, bundled_catalog, with_settings

_MEMORY_TTL_S = 6 * 3600.0
_FALLBACK_RETRY_S = 900.0

_memory: dict[str, tuple[Catalog, float]] = {}
_lock = threading.Lock()
_client: Any = None


class PriceCache(Protocol):
    """Where fetched region catalogs are kept between cold starts (``costopt.store.price_cache``)."""

    def load(self, region: str) -> Catalog | None: ...

    def save(self, catalog: Catalog) -> None: ...


_cache: PriceCache | None = None


def use_price_cache(cache: PriceCache | None) -> None:
    """Make ``cache`` the one ``get_catalog`` reads and fills (None: no cache between cold starts)."""
    global _cache
    _cache = cache


def pricing_client() -> Any:
    """The Price List Query API client (its endpoint lives in us-east-1), created once."""
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config

        _client = boto3.client(
            "pricing",
            region_name="us-east-1",
            config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"}),
        )
    return _client


def clear_catalog_cache() -> None:
    """Forget in-process catalogs (tests; or after a price refresh)."""
    with _lock:
        _memory.clear()


def get_catalog(region: str = DEFAULT_REGION, *, client: Any = None) -> Catalog:
    """Prices for ``region``; never raises for a missing/unavailable region (see module doc)."""
    if region == DEFAULT_REGION:
        return bundled_catalog()
    now = time.monotonic()
    hit = _memory.get(region)
    if hit is not None and hit[1] > now:
        return hit[0]
    catalog, keep_s = _load_region(region, client)
    catalog = with_settings(catalog)
    with _lock:
        _memory[region] = (catalog, now + keep_s)
    return catalog


def _load_region(region: str, client: Any) -> tuple[Catalog, float]:
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    from costopt.pricing.price_list import PriceListError, fetch_region_catalog

    cache = _cache
    try:
        cached = cache.load(region) if cache else None
    except (PynamoDBException, BotoCoreError, ClientError, ValueError) as exc:
        logger.warning("pricing cache read failed", extra={"region": region, "error": str(exc)})
        cached = None
    if cached is not None:
        return cached, _MEMORY_TTL_S

    try:
        catalog = fetch_region_catalog(region, client or pricing_client())
    except (PriceListError, BotoCoreError, ClientError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        logger.warning("price list unavailable; using us-east-1 prices", extra={"region": region, "error": reason})
        fallback = bundled_catalog().with_warning(
            f"prices for {region} unavailable ({reason}); using {DEFAULT_REGION} prices as of "
            f"{bundled_catalog().as_of}"
        )
        return fallback, _FALLBACK_RETRY_S

    try:
        if cache:
            cache.save(catalog)
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        logger.warning("pricing cache write failed", extra={"region": region, "error": str(exc)})
    return catalog, _MEMORY_TTL_S
