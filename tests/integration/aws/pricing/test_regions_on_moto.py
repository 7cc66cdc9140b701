"""Other regions: the AWS Price List Query API (botocore Stubber, real GetProducts shapes), the: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/pricing/test_regions.py``."""
# ruff: noqa: F811  (pytest fixtures imported from the unit half are parameters here)


from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.stub import ANY

from costopt.pricing import (
    bundled_catalog,
    clear_catalog_cache,
    ec2_monthly,
    get_catalog,
    round_usd,
)
from costopt.store import price_cache as pricing_cache
from tests.unit.pricing.test_regions import (  # shared with the tests that need no AWS  # noqa: F401  (fixtures of the tests here)
    NOW,
    REGION,
    _fresh_memory,
    _page,
    pricing,
    stub_region,
)


def test_get_catalog_fetches_once_then_reads_the_cache_table(tables, pricing):
    client, stubber = pricing
    stub_region(stubber)
    first = get_catalog(REGION, client=client)
    stubber.assert_no_pending_responses()
    assert first.region == REGION and first.ec2.instances["m5.large"].hourly_usd == 0.111

    item = tables.get_item(TableName=pricing_cache.PricingCacheItem.Meta.table_name,
                           Key={"cache_key": {"S": pricing_cache.cache_key(REGION)}})["Item"]
    expires = int(item["expires_at"]["N"])
    fetched = datetime.fromisoformat(item["fetched_at"]["S"].replace("+0000", "+00:00"))
    assert timedelta(days=6, hours=23) < datetime.fromtimestamp(expires, UTC) - fetched <= timedelta(days=7)

    # a new process (empty memory) reads DynamoDB; the stubbed client has no responses left, so any
    # Price List call would fail the test
    clear_catalog_cache()
    second = get_catalog(REGION, client=client)
    assert second == first
    # and the same process answers from memory without DynamoDB
    assert get_catalog(REGION, client=client) is second


def test_expired_cache_entry_is_ignored(tables):
    cat = bundled_catalog().model_copy(update={"region": REGION})
    pricing_cache.save(cat, now=NOW - timedelta(days=8))
    assert pricing_cache.load(REGION, now=NOW) is None
    assert pricing_cache.load(REGION, now=NOW - timedelta(days=2)) == cat  # saved 8 days ago, kept 7


def test_price_list_failure_falls_back_to_us_east_1_with_warning(tables, pricing):
    client, stubber = pricing
    stubber.add_client_error("get_products", service_error_code="ThrottlingException",
                             service_message="Rate exceeded", http_status_code=400)
    cat = get_catalog("eu-west-1", client=client)
    assert cat.region == "us-east-1"
    assert len(cat.warnings) == 1
    assert "eu-west-1" in cat.warnings[0] and "us-east-1" in cat.warnings[0] and "Rate exceeded" in cat.warnings[0]
    assert round_usd(ec2_monthly(cat, "m5.large").total_usd) == 70.08
    # the fallback is remembered (no second call within the retry window) and never cached in DynamoDB
    assert get_catalog("eu-west-1", client=client) is cat
    assert pricing_cache.load("eu-west-1") is None
    # the shared us-east-1 catalog is not modified
    assert bundled_catalog().warnings == ()


def test_unknown_region_falls_back(tables, pricing):
    client, stubber = pricing
    for service in ("AWSLambda", "AmazonECS", "AmazonEC2", "AmazonEC2", "AmazonDynamoDB"):
        stubber.add_response("get_products", _page([]), {
            "ServiceCode": service, "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": ANY})
    cat = get_catalog("xx-nowhere-1", client=client)
    assert cat.region == "us-east-1" and "xx-nowhere-1" in cat.warnings[0]


def test_spot_setting_applies_to_region_catalogs_and_is_not_cached(tables, pricing, monkeypatch):
    from costopt.config import settings

    monkeypatch.setattr(settings, "fargate_spot_discount", 0.6)
    client, stubber = pricing
    stub_region(stubber)
    cat = get_catalog(REGION, client=client)
    assert cat.fargate.spot_discount == 0.6 and cat.fargate.spot.set_by == "COSTOPT_FARGATE_SPOT_DISCOUNT"
    cached = pricing_cache.load(REGION)
    assert cached is not None and cached.fargate.spot_discount == 0.7  # the table keeps what AWS/the file said
    monkeypatch.setattr(settings, "fargate_spot_discount", None)
    clear_catalog_cache()
    assert get_catalog(REGION, client=client).fargate.spot_discount == 0.7  # from the table, no refetch
