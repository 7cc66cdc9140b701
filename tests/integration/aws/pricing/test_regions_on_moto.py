"""Other regions: the AWS Price List Query API (botocore Stubber, real GetProducts shapes), the
PricingCache table (moto DynamoDB) and the us-east-1 fallback with a warning."""


from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from costopt.pricing import (
    bundled_catalog,
    clear_catalog_cache,
    ec2_monthly,
    get_catalog,
    round_usd,
)
from costopt.store import price_cache as pricing_cache

REGION = "eu-west-2"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

# One PriceList entry exactly as GetProducts returns it (a JSON *string*): Lambda x86 duration in
# eu-west-2, three monthly tiers, region-prefixed usage type.
LAMBDA_DURATION_ITEM = json.dumps({
    "product": {
        "productFamily": "Serverless",
        "attributes": {
            "regionCode": "eu-west-2", "servicecode": "AWSLambda", "usagetype": "EUW2-Lambda-GB-Second",
            "locationType": "AWS Region", "location": "EU (London)", "servicename": "AWS Lambda",
            "operation": "", "group": "AWS-Lambda-Duration", "groupDescription": "Invocation duration",
        },
        "sku": "TG3M4CAGBA3NYQBH",
    },
    "serviceCode": "AWSLambda",
    "terms": {"OnDemand": {"TG3M4CAGBA3NYQBH.JRTCKXETXF": {
        "priceDimensions": {
            "TG3M4CAGBA3NYQBH.JRTCKXETXF.6YS6EN2CT7": {
                "unit": "Lambda-GB-Second", "endRange": "6000000000",
                "description": "AWS Lambda - Total Compute - EU (London) - 0-6B GB-seconds",
                "appliesTo": [], "rateCode": "TG3M4CAGBA3NYQBH.JRTCKXETXF.6YS6EN2CT7",
                "beginRange": "0", "pricePerUnit": {"USD": "0.0000166667"},
            },
            "TG3M4CAGBA3NYQBH.JRTCKXETXF.Q7UJUT2CE6": {
                "unit": "Lambda-GB-Second", "endRange": "Inf",
                "description": "AWS Lambda - Total Compute - EU (London) - 15B+ GB-seconds",
                "appliesTo": [], "rateCode": "TG3M4CAGBA3NYQBH.JRTCKXETXF.Q7UJUT2CE6",
                "beginRange": "15000000000", "pricePerUnit": {"USD": "0.0000133334"},
            },
            "TG3M4CAGBA3NYQBH.JRTCKXETXF.E7Q3VZTD4P": {
                "unit": "Lambda-GB-Second", "endRange": "15000000000",
                "description": "AWS Lambda - Total Compute - EU (London) - 6B-15B GB-seconds",
                "appliesTo": [], "rateCode": "TG3M4CAGBA3NYQBH.JRTCKXETXF.E7Q3VZTD4P",
                "beginRange": "6000000000", "pricePerUnit": {"USD": "0.0000150000"},
            },
        },
        "sku": "TG3M4CAGBA3NYQBH", "effectiveDate": "2026-10-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
        "termAttributes": {},
    }}},
    "version": "20261001000000",
    "publicationDate": "2026-10-01T18:42:12Z",
})

_sku_counter = iter(range(1, 10_000))


def item(service: str, family: str, usagetype: str, bands: list[tuple[str, str, str, str]],
         **attributes: str) -> str:
    """A PriceList entry of the GetProducts shape; bands are (begin, end, unit, usd)."""
    sku = f"SKU{next(_sku_counter):013d}"
    dims = {
        f"{sku}.JRTCKXETXF.{i:010d}": {
            "unit": unit, "endRange": end, "description": f"{usagetype} {begin}-{end}", "appliesTo": [],
            "rateCode": f"{sku}.JRTCKXETXF.{i:010d}", "beginRange": begin, "pricePerUnit": {"USD": usd},
        }
        for i, (begin, end, unit, usd) in enumerate(bands)
    }
    return json.dumps({
        "product": {"productFamily": family, "sku": sku, "attributes": {
            "regionCode": REGION, "location": "EU (London)", "usagetype": usagetype, "servicecode": service,
            **attributes}},
        "serviceCode": service,
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {
            "priceDimensions": dims, "sku": sku, "effectiveDate": "2026-10-01T00:00:00Z",
            "offerTermCode": "JRTCKXETXF", "termAttributes": {}}}},
        "version": "20261001000000",
        "publicationDate": "2026-10-01T18:42:12Z",
    })


def flat(service: str, family: str, usagetype: str, unit: str, usd: str, **attributes: str) -> str:
    return item(service, family, usagetype, [("0", "Inf", unit, usd)], **attributes)


# eu-west-2 (London) list prices as published at the time of writing.
LAMBDA_PAGE_1 = [
    LAMBDA_DURATION_ITEM,
    item("AWSLambda", "Serverless", "EUW2-Lambda-GB-Second-ARM", [
        ("0", "7500000000", "Lambda-GB-Second", "0.0000133334"),
        ("7500000000", "18750000000", "Lambda-GB-Second", "0.0000120001"),
        ("18750000000", "Inf", "Lambda-GB-Second", "0.0000106667")]),
    flat("AWSLambda", "Serverless", "EUW2-Request", "Requests", "0.0000002"),
    flat("AWSLambda", "Serverless", "EUW2-Request-ARM", "Requests", "0.0000002"),
]
LAMBDA_PAGE_2 = [
    flat("AWSLambda", "Serverless", "EUW2-Lambda-Provisioned-Concurrency", "Lambda-GB-Second", "0.0000041667"),
    flat("AWSLambda", "Serverless", "EUW2-Lambda-Provisioned-Concurrency-ARM", "Lambda-GB-Second", "0.0000033334"),
    flat("AWSLambda", "Serverless", "EUW2-Lambda-Provisioned-GB-Second", "Lambda-GB-Second", "0.0000097222"),
    flat("AWSLambda", "Serverless", "EUW2-Lambda-Provisioned-GB-Second-ARM", "Lambda-GB-Second", "0.0000077778"),
    flat("AWSLambda", "Serverless", "EUW2-Lambda-Edge-GB-Second", "Lambda-GB-Second", "0.00005001"),
]
ECS_PAGE = [
    flat("AmazonECS", "Compute", "EUW2-Fargate-vCPU-Hours:perCPU", "hours", "0.04656"),
    flat("AmazonECS", "Compute", "EUW2-Fargate-GB-Hours", "hours", "0.00511"),
    flat("AmazonECS", "Compute", "EUW2-Fargate-ARM-vCPU-Hours:perCPU", "hours", "0.03725"),
    flat("AmazonECS", "Compute", "EUW2-Fargate-ARM-GB-Hours", "hours", "0.00409"),
    flat("AmazonECS", "Compute", "EUW2-Fargate-Windows-vCPU-Hours:perCPU", "hours", "0.0861"),
    flat("AmazonECS", "Compute", "EUW2-Fargate-EphemeralStorage-GB-Hours", "hours", "0.000127"),
]
_EC2_ATTRS = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
              "licenseModel": "No License required"}
EC2_PAGE = [
    flat("AmazonEC2", "Compute Instance", "EUW2-BoxUsage:m5.large", "Hrs", "0.1110000000", instanceType="m5.large",
         **_EC2_ATTRS),
    flat("AmazonEC2", "Compute Instance", "EUW2-BoxUsage:m6g.large", "Hrs", "0.0888000000",
         instanceType="m6g.large", **_EC2_ATTRS),
    flat("AmazonEC2", "Compute Instance", "EUW2-BoxUsage:t3.large", "Hrs", "0.0944000000", instanceType="t3.large",
         **_EC2_ATTRS),
]
EBS_PAGE = [
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.gp2", "GB-Mo", "0.1160000000", volumeApiName="gp2"),
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.gp3", "GB-Mo", "0.0928000000", volumeApiName="gp3"),
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.piops", "GB-Mo", "0.1450000000", volumeApiName="io1"),
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.io2", "GB-Mo", "0.1450000000", volumeApiName="io2"),
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.st1", "GB-Mo", "0.0530000000", volumeApiName="st1"),
    flat("AmazonEC2", "Storage", "EUW2-EBS:VolumeUsage.sc1", "GB-Mo", "0.0174000000", volumeApiName="sc1"),
    flat("AmazonEC2", "System Operation", "EUW2-EBS:VolumeP-IOPS.gp3", "IOPS-Mo", "0.0058000000",
         volumeApiName="gp3"),
    flat("AmazonEC2", "System Operation", "EUW2-EBS:VolumeP-IOPS.piops", "IOPS-Mo", "0.0760000000",
         volumeApiName="io1"),
    flat("AmazonEC2", "System Operation", "EUW2-EBS:VolumeP-IOPS.io2", "IOPS-Mo", "0.0760000000",
         volumeApiName="io2"),
    flat("AmazonEC2", "System Operation", "EUW2-EBS:VolumeP-IOPS.io2.tier2", "IOPS-Mo", "0.0532000000",
         volumeApiName="io2"),
    flat("AmazonEC2", "System Operation", "EUW2-EBS:VolumeP-IOPS.io2.tier3", "IOPS-Mo", "0.0372400000",
         volumeApiName="io2"),
    # published per GiBps-month: 47.5136 / 1024 = $0.0464 per MB/s-month
    flat("AmazonEC2", "Provisioned Throughput", "EUW2-EBS:VolumeP-Throughput.gp3", "GiBps-mo", "47.5136000000",
         volumeApiName="gp3"),
]
DDB_PAGE = [
    flat("AmazonDynamoDB", "Amazon DynamoDB PayPerRequest Throughput", "EUW2-ReadRequestUnits",
         "ReadRequestUnits", "0.0000001485"),
    flat("AmazonDynamoDB", "Amazon DynamoDB PayPerRequest Throughput", "EUW2-WriteRequestUnits",
         "WriteRequestUnits", "0.0000007425"),
    flat("AmazonDynamoDB", "Amazon DynamoDB PayPerRequest Throughput", "EUW2-IA-ReadRequestUnits",
         "ReadRequestUnits", "0.000000185"),
    # free tier published as a $0 first band
    item("AmazonDynamoDB", "Provisioned IOPS", "EUW2-ReadCapacityUnit-Hrs", [
        ("0", "18600", "ReadCapacityUnit-Hrs", "0.0000000000"),
        ("18600", "Inf", "ReadCapacityUnit-Hrs", "0.0001544000")]),
    item("AmazonDynamoDB", "Provisioned IOPS", "EUW2-WriteCapacityUnit-Hrs", [
        ("0", "18600", "WriteCapacityUnit-Hrs", "0.0000000000"),
        ("18600", "Inf", "WriteCapacityUnit-Hrs", "0.0007720000")]),
    item("AmazonDynamoDB", "Database Storage", "EUW2-TimedStorage-ByteHrs", [
        ("0", "25", "GB-Mo", "0.0000000000"), ("25", "Inf", "GB-Mo", "0.2970000000")]),
]


def _page(items: list[str], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": items}
    if token:
        page["NextToken"] = token
    return page


def stub_region(stubber: Stubber, *, ec2: list[str] | None = None, ddb: list[str] | None = None) -> None:
    """Queue the five GetProducts conversations of one region fetch, in order."""
    stubber.add_response("get_products", _page(LAMBDA_PAGE_1, "page-2"), {
        "ServiceCode": "AWSLambda", "FormatVersion": "aws_v1", "MaxResults": 100,
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION}]})
    stubber.add_response("get_products", _page(LAMBDA_PAGE_2), {
        "ServiceCode": "AWSLambda", "FormatVersion": "aws_v1", "MaxResults": 100, "NextToken": "page-2",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION}]})
    stubber.add_response("get_products", _page(ECS_PAGE), {
        "ServiceCode": "AmazonECS", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": ANY})
    names = ",".join(sorted(bundled_catalog().ec2.instances))
    stubber.add_response("get_products", _page(EC2_PAGE if ec2 is None else ec2), {
        "ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
            {"Type": "ANY_OF", "Field": "instanceType", "Value": names},
        ]})
    stubber.add_response("get_products", _page(EBS_PAGE), {
        "ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
            {"Type": "ANY_OF", "Field": "productFamily", "Value": "Storage,System Operation,Provisioned Throughput"},
        ]})
    stubber.add_response("get_products", _page(DDB_PAGE if ddb is None else ddb), {
        "ServiceCode": "AmazonDynamoDB", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": ANY})


@pytest.fixture
def pricing() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("pricing", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    clear_catalog_cache()
    yield
    clear_catalog_cache()


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
