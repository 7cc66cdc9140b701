"""EC2 Spot prices (DescribeSpotPriceHistory): moto for the round trip through boto3 (moto answers every
offered type and zone with a fixed $0.00001 dated 2006 and ignores the time and product filters), and a
botocore Stubber for AWS's real response shape: two pages, several zones, a zone whose price last changed
before the window, a superseded change and a product that is not Linux/UNIX. The Stubber's prices are
illustrative (Spot prices move; m5.large lists at $0.096 on demand in us-east-1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from costopt.connectors.spot_prices import PRODUCT_DESCRIPTIONS, WINDOW, enrich_catalog, fetch_spot_prices
from costopt.errors import ConnectorError, DependencyUnavailable
from costopt.pricing import bundled_catalog

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
START = NOW - WINDOW
API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html"


def rec(zone: str, instance_type: str, usd: str, at: datetime, product: str = "Linux/UNIX") -> dict[str, Any]:
    """One SpotPriceHistory entry as EC2 returns it (boto3 parses Timestamp into a datetime)."""
    return {"AvailabilityZone": zone, "AvailabilityZoneId": f"use1-az{ord(zone[-1]) - 96}",
            "InstanceType": instance_type, "ProductDescription": product, "SpotPrice": usd, "Timestamp": at}


def expected(token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"InstanceTypes": ["c7g.large", "m5.large"],
                              "ProductDescriptions": list(PRODUCT_DESCRIPTIONS),
                              "StartTime": START, "EndTime": NOW, "MaxResults": 1000}
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ec2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_latest_price_per_zone_median_across_zones_over_pages(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_spot_price_history", {"NextToken": "page-2", "SpotPriceHistory": [
        rec("us-east-1a", "m5.large", "0.039200", NOW - timedelta(minutes=20)),
        rec("us-east-1b", "m5.large", "0.040800", NOW - timedelta(days=3)),   # last change before the window
        rec("us-east-1c", "m5.large", "0.041500", NOW - timedelta(minutes=50)),
        rec("us-east-1a", "c7g.large", "0.029700", NOW - timedelta(hours=5)),
    ]}, expected())
    stubber.add_response("describe_spot_price_history", {"NextToken": "", "SpotPriceHistory": [
        rec("us-east-1a", "m5.large", "0.045000", NOW - timedelta(minutes=55)),  # superseded by the 0.0392 change
        rec("us-east-1d", "m5.large", "0.042100", NOW - timedelta(minutes=5)),
        rec("us-east-1b", "c7g.large", "0.031100", NOW - timedelta(days=1)),
        rec("us-east-1c", "m5.large", "0.090000", NOW - timedelta(minutes=1), product="SUSE Linux"),
    ]}, expected("page-2"))

    prices = fetch_spot_prices(["m5.large", "c7g.large", "m5.large"], "us-east-1", client=client, now=NOW)
    stubber.assert_no_pending_responses()

    m5 = prices["m5.large"]
    assert m5.zones == {"us-east-1a": 0.0392, "us-east-1b": 0.0408, "us-east-1c": 0.0415, "us-east-1d": 0.0421}
    assert m5.aggregate == "median" and m5.hourly_usd == pytest.approx((0.0408 + 0.0415) / 2)
    assert prices["c7g.large"].hourly_usd == pytest.approx((0.0297 + 0.0311) / 2)
    src = m5.source
    assert (src.kind, src.method, src.url, src.as_of) == ("price", "describe_spot_price_history", API,
                                                          "2026-11-29T12:00:00+00:00")
    assert src.published == (NOW - timedelta(minutes=5)).isoformat()  # the newest price change
    assert src.query is not None and "InstanceTypes=m5.large" in src.query and "region=us-east-1" in src.query
    assert src.note is not None and "4 Availability Zone(s)" in src.note
    assert src.note.startswith("median") and (NOW - timedelta(days=3)).isoformat() in src.note


def test_min_aggregate_and_types_without_prices_are_left_out(stubbed):
    client, stubber = stubbed
    stubber.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        rec("us-east-1a", "m5.large", "0.039200", NOW - timedelta(minutes=20)),
        rec("us-east-1b", "m5.large", "0.040800", NOW - timedelta(minutes=20)),
    ]}, expected())
    prices = fetch_spot_prices(["m5.large", "c7g.large"], "us-east-1", client=client, now=NOW, aggregate="min")
    assert set(prices) == {"m5.large"} and prices["m5.large"].hourly_usd == 0.0392
    assert prices["m5.large"].aggregate == "min"


def test_no_types_no_call(stubbed):
    client, _ = stubbed  # no responses queued: any call would fail
    assert fetch_spot_prices([], "us-east-1", client=client, now=NOW) == {}


@pytest.mark.parametrize(("code", "status", "retryable"), [
    ("RequestLimitExceeded", 503, True), ("InternalError", 500, True), ("UnauthorizedOperation", 403, False)])
def test_aws_failure_is_a_503_connector_error(stubbed, code, status, retryable):
    client, stubber = stubbed
    stubber.add_client_error("describe_spot_price_history", service_error_code=code, service_message="no",
                             http_status_code=status)
    with pytest.raises(ConnectorError) as err:
        fetch_spot_prices(["m5.large"], "us-east-1", client=client, now=NOW)
    assert isinstance(err.value, DependencyUnavailable) and err.value.status == 503
    assert err.value.retryable is retryable and err.value.source == "ec2_spot_prices" and code in err.value.detail


def test_moto_round_trip_and_catalog_enrichment():
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        prices = fetch_spot_prices(["m5.large", "c7g.large", "zz9.nope"], "us-east-1", client=client, now=NOW)
        assert set(prices) == {"m5.large", "c7g.large"}
        assert len(prices["m5.large"].zones) >= 2 and prices["m5.large"].hourly_usd == 0.00001
        cat = bundled_catalog()
        rich = enrich_catalog(cat, client=client, now=NOW)
    assert rich.ec2.instances["m5.large"].spot is not None
    assert rich.ec2.instances["m5.large"].hourly_usd == cat.ec2.instances["m5.large"].hourly_usd  # on-demand kept
    (src,) = rich.source_of("ec2_spot", "m5.large")
    assert src.method == "describe_spot_price_history" and src.as_of == NOW.isoformat()
    assert rich.source_of("ec2", "m5.large") == cat.source_of("ec2", "m5.large")
    assert cat.ec2.instances["m5.large"].spot is None  # the shared catalog is not modified
    # a cached catalog keeps its Spot prices
    assert type(rich).model_validate_json(rich.model_dump_json(by_alias=True)) == rich
