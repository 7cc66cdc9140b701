"""EC2 Spot prices from ``DescribeSpotPriceHistory`` (IAM: ``ec2:DescribeSpotPriceHistory``): an optional,
dated enrichment of the price catalog. No recommender reads it yet.

``fetch_spot_prices(instance_types, region, *, aggregate="median", client=None, now=None) -> dict[str, SpotPrice]``
``enrich_catalog(catalog, *, region=None, aggregate="median", client=None, now=None) -> Catalog``

One paginated query per call: ``InstanceTypes`` = the types asked for, ``ProductDescriptions`` = Linux/UNIX
(and its old "(Amazon VPC)" spelling), ``StartTime`` = ``now - WINDOW``, ``EndTime`` = ``now`` (``now`` from
``costopt.clock``). AWS returns the price changes in that window plus the last change before it (the
price in effect at ``StartTime``), so the newest record per (type, Availability Zone) is the price in effect
now, however long ago it last changed.

Across zones a type's price is the **median** by default: Spot best practice spreads capacity over zones,
so a fleet pays about the typical zone's price; ``min`` (the cheapest zone) suits a workload pinned to that
zone and overstates the saving for anything else. Every zone's price is kept (``SpotPrice.zones``), and the
source records the call, the instant it was made and the newest price change.

Retries are botocore's (``connectors.retry.boto_client``: standard mode, bounded, full jitter); what is
left becomes ``ConnectorError`` (a 503 ``DependencyUnavailable``; retryable for throttling and 5xx).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from costopt import clock
from costopt.connectors.retry import aws_errors, boto_client
from costopt.domain.prices import SPOT_PRICE_HISTORY_URL, PriceSource, SpotPrice

SOURCE = "ec2_spot_prices"
# The IAM actions this module's AWS calls need. No function calls it yet, so template.yaml grants none
# of them (tests/contract/test_iam.py checks that no costopt module imports it).
AWS_ACTIONS: frozenset[str] = frozenset({"ec2:DescribeSpotPriceHistory"})
PRODUCT_DESCRIPTIONS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
WINDOW = timedelta(hours=1)
PAGE_SIZE = 1000  # the API's maximum
MAX_PAGES = 50

Aggregate = Literal["median", "min"]


class _Ec2Types(Protocol):
    @property
    def instances(self) -> Mapping[str, object]: ...


_C = TypeVar("_C", bound="SpotCatalog")


class SpotCatalog(Protocol):
    """What ``enrich_catalog`` needs of a price catalog (``costopt.pricing.catalog.Catalog`` is one)."""

    @property
    def region(self) -> str: ...

    @property
    def ec2(self) -> _Ec2Types: ...

    def with_spot_prices(self: _C, prices: Mapping[str, SpotPrice]) -> _C: ...


def fetch_spot_prices(instance_types: Iterable[str], region: str, *, aggregate: Aggregate = "median",
                      client: Any = None, now: datetime | None = None) -> dict[str, SpotPrice]:
    """The Spot price in effect now of each of ``instance_types`` (Linux/UNIX) in ``region``, per zone and
    aggregated across zones; types AWS reports no price for are left out. Raises ``ConnectorError``."""
    types = sorted(set(instance_types))
    if not types:
        return {}
    at = clock.as_utc(now or clock.now())
    start = at - WINDOW
    ec2 = client or boto_client("ec2", region)
    latest: dict[tuple[str, str], tuple[datetime, float]] = {}
    with aws_errors(SOURCE):
        pages = ec2.get_paginator("describe_spot_price_history").paginate(
            InstanceTypes=types, ProductDescriptions=list(PRODUCT_DESCRIPTIONS), StartTime=start, EndTime=at,
            PaginationConfig={"PageSize": PAGE_SIZE, "MaxItems": PAGE_SIZE * MAX_PAGES})
        for page in pages:
            for rec in page.get("SpotPriceHistory", []):
                key, seen = _record(rec, types, at)
                if key is not None and seen is not None and (key not in latest or seen[0] > latest[key][0]):
                    latest[key] = seen
    zones: dict[str, dict[str, tuple[datetime, float]]] = {}
    for (name, zone), seen in latest.items():
        zones.setdefault(name, {})[zone] = seen
    query = (f"ec2:DescribeSpotPriceHistory region={region} ProductDescriptions={'|'.join(PRODUCT_DESCRIPTIONS)} "
             f"StartTime={start.isoformat()} EndTime={at.isoformat()}")
    return {name: _spot_price(name, by_zone, aggregate, query, at) for name, by_zone in sorted(zones.items())}


def enrich_catalog(catalog: _C, *, region: str | None = None, aggregate: Aggregate = "median",
                   client: Any = None, now: datetime | None = None) -> _C:
    """``catalog`` with the Spot price of each of its EC2 types (``Catalog.with_spot_prices``). ``region``
    defaults to the catalog's (pass the wanted one for a fallback catalog, whose region is us-east-1)."""
    prices = fetch_spot_prices(catalog.ec2.instances, region or catalog.region, aggregate=aggregate,
                               client=client, now=now)
    return catalog.with_spot_prices(prices)


def _record(rec: dict[str, Any], types: list[str], at: datetime
            ) -> tuple[tuple[str, str] | None, tuple[datetime, float] | None]:
    name, zone = rec.get("InstanceType"), rec.get("AvailabilityZone")
    if name not in types or not zone or rec.get("ProductDescription") not in PRODUCT_DESCRIPTIONS:
        return None, None
    try:
        usd = float(rec["SpotPrice"])
    except (KeyError, TypeError, ValueError):
        return None, None
    stamp = rec.get("Timestamp")
    if not isinstance(stamp, datetime) or usd <= 0:
        return None, None
    when = clock.as_utc(stamp)
    if when > at:
        return None, None
    return (str(name), str(zone)), (when, usd)


def _spot_price(name: str, by_zone: dict[str, tuple[datetime, float]], aggregate: Aggregate, query: str,
                at: datetime) -> SpotPrice:
    prices = {zone: usd for zone, (_, usd) in sorted(by_zone.items())}
    changed = sorted(when for when, _ in by_zone.values())
    value = statistics.median(prices.values()) if aggregate == "median" else min(prices.values())
    return SpotPrice(
        hourly_usd=value, aggregate=aggregate, zones=prices,
        source=PriceSource(
            method="describe_spot_price_history", url=SPOT_PRICE_HISTORY_URL, as_of=at.isoformat(),
            query=f"{query} InstanceTypes={name}", published=changed[-1].isoformat(),
            note=(f"{aggregate} of the Linux/UNIX Spot price in effect in {len(prices)} Availability Zone(s); "
                  f"last changed between {changed[0].isoformat()} and {changed[-1].isoformat()}; "
                  "Spot prices: https://aws.amazon.com/ec2/spot/pricing/"),
        ),
    )
