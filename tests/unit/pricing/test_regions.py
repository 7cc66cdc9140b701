"""Other regions: the AWS Price List Query API (botocore Stubber, real GetProducts shapes), the
PricingCache table (moto DynamoDB) and the us-east-1 fallback with a warning."""


from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from costopt.pricing import (
    bundled_catalog,
    clear_catalog_cache,
    ebs_monthly,
    ec2_monthly,
    fargate_monthly,
    lambda_cost,
    round_usd,
)
from costopt.pricing.price_list import (
    PriceListError,
    fetch_region_catalog,
    normalize_usage_type,
    parse_price_item,
)

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


def test_parse_real_price_list_entry():
    product = parse_price_item(LAMBDA_DURATION_ITEM)
    assert product is not None
    assert product.usage == "Lambda-GB-Second"
    assert [(d.begin, d.end, d.usd) for d in product.dimensions] == [
        (0.0, 6e9, 0.0000166667), (6e9, 15e9, 0.000015), (15e9, None, 0.0000133334)]
    assert product.publication_date == "2026-10-01T18:42:12Z"


def test_entry_without_on_demand_price_is_skipped():
    doc = json.loads(LAMBDA_DURATION_ITEM)
    doc["terms"] = {"Reserved": doc["terms"]["OnDemand"]}
    assert parse_price_item(json.dumps(doc)) is None


@pytest.mark.parametrize(("raw", "normal"), [
    ("EUW2-Lambda-GB-Second", "Lambda-GB-Second"), ("EU-BoxUsage:m5.large", "BoxUsage:m5.large"),
    ("USE1-Fargate-GB-Hours", "Fargate-GB-Hours"), ("Lambda-GB-Second-ARM", "Lambda-GB-Second-ARM"),
    ("EBS:VolumeUsage.gp2", "EBS:VolumeUsage.gp2"), ("APN1-EBS:VolumeP-IOPS.io2.tier2", "EBS:VolumeP-IOPS.io2.tier2"),
    ("IA-ReadRequestUnits", "IA-ReadRequestUnits"), ("EUW2-IA-ReadRequestUnits", "IA-ReadRequestUnits"),
    ("Request", "Request"),
])
def test_normalize_usage_type(raw, normal):
    assert normalize_usage_type(raw) == normal


def test_fetch_region_catalog_from_price_list(pricing):
    client, stubber = pricing
    stub_region(stubber)
    cat = fetch_region_catalog(REGION, client, now=NOW)
    stubber.assert_no_pending_responses()

    assert cat.region == REGION and cat.as_of == "2026-11-02"
    assert "pricing:GetProducts" in cat.source.description and "2026-10-01T18:42:12Z" in cat.source.description
    # Lambda tiers survive as cumulative bounds, open-ended last
    assert [(t.up_to_gb_seconds, t.usd_per_gb_second) for t in cat.lambda_.architectures["x86_64"].duration_tiers] \
        == [(6e9, 0.0000166667), (15e9, 0.000015), (None, 0.0000133334)]
    assert cat.lambda_.request_usd_per_million == pytest.approx(0.20)
    assert round_usd(lambda_cost(cat, invocations=1e6, avg_duration_ms=300, memory_mb=512,
                                 architecture="arm64").total_usd) == 2.20
    # Fargate London: (0.04656 + 2 x 0.00511) x 730 = $41.45; ARM (0.03725 + 2 x 0.00409) x 730 = $33.16
    assert round_usd(fargate_monthly(cat, cpu_units=1024, memory_mb=2048).total_usd) == 41.45
    assert round_usd(fargate_monthly(cat, cpu_units=1024, memory_mb=2048, architecture="arm64").total_usd) == 33.16
    # EC2: m5.large $0.111/h = $81.03 a month; types without a price are left out, with a warning
    assert round_usd(ec2_monthly(cat, "m5.large").total_usd) == 81.03
    assert set(cat.ec2.instances) == {"m5.large", "m6g.large", "t3.large"}
    assert cat.ec2.instances["m6g.large"].vcpu == 2 and cat.ec2.instances["m6g.large"].architecture == "arm64"
    assert any("left out" in w and "r7g.4xlarge" in w for w in cat.warnings)
    # EBS: gp2 100 GB $11.60 -> gp3 $9.28; throughput per GiBps converted to per MB/s
    assert round_usd(ebs_monthly(cat, "gp2", 100).total_usd) == 11.60
    assert round_usd(ebs_monthly(cat, "gp3", 100).total_usd) == 9.28
    assert cat.ebs.volumes["gp3"].usd_per_mbps_month == pytest.approx(0.0464)
    assert [t.usd_per_iops_month for t in cat.ebs.volumes["io2"].iops_tiers or []] == [0.076, 0.0532, 0.03724]
    # DynamoDB: $0 free-tier bands ignored; the IA table class is not mistaken for Standard
    assert cat.dynamodb.provisioned.usd_per_rcu_hour == 0.0001544
    assert cat.dynamodb.on_demand.usd_per_million_read_request_units == pytest.approx(0.1485)
    assert cat.dynamodb.storage_usd_per_gb_month == 0.297
    assert not any("not in the AWS Price List" in w for w in cat.warnings)


def test_region_catalog_sources_say_what_was_fetched(pricing):
    client, stubber = pricing
    stub_region(stubber)
    cat = fetch_region_catalog(REGION, client, now=NOW)
    api = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"
    for section, code in (("lambda", "AWSLambda"), ("fargate", "AmazonECS"), ("ec2", "AmazonEC2"),
                          ("ebs", "AmazonEC2"), ("dynamodb", "AmazonDynamoDB")):
        (src,) = cat.source_of(section)
        assert (src.kind, src.method, src.url) == ("price", "price_list_api", api), section
        assert src.as_of == "2026-11-02T12:00:00+00:00" and src.published == "2026-10-01T18:42:12Z"
        assert src.offer_file == f"https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{code}/current/{REGION}/index.json"
        assert src.query is not None
        assert src.query.startswith(f"pricing:GetProducts ServiceCode={code} regionCode={REGION}")
        assert src.note is None, section  # every figure of the section came from the Price List
    # each EC2 type cites its own product
    m5 = cat.source_of("ec2", "m5.large")[0]
    assert m5.sku is not None and m5.sku.startswith("SKU") and m5.sku != cat.source_of("ec2", "t3.large")[0].sku
    assert m5.query is not None and "instanceType=m5.large" in m5.query and "operatingSystem=Linux" in m5.query
    assert m5.note == "usage type EUW2-BoxUsage:m5.large"
    # what AWS does not publish stays an assumption, taken from the bundled file
    assert cat.fargate.spot == bundled_catalog().fargate.spot and cat.fargate.spot.kind == "assumption"
    # a cached catalog keeps its sources
    assert type(cat).model_validate_json(cat.model_dump_json(by_alias=True)) == cat


def test_partly_published_section_names_the_kept_figures_and_unpublished_keeps_the_file_source(pricing):
    client, stubber = pricing
    stub_region(stubber, ec2=[], ddb=[d for d in DDB_PAGE if "TimedStorage" not in d])
    cat = fetch_region_catalog(REGION, client, now=NOW)
    ddb = cat.dynamodb.source
    assert ddb.method == "price_list_api"
    assert ddb.note == "kept the us-east-1 value (transcribed, as of 2026-11-29) for: dynamodb storage"
    # no EC2 instance prices at all: the us-east-1 figures, cited as such
    ec2 = cat.ec2.source
    assert ec2.method == "transcribed" and ec2.url == "https://aws.amazon.com/ec2/pricing/on-demand/"
    assert ec2.note is not None and ec2.note.startswith(f"{REGION} publishes none of these in the AWS Price List")
    assert cat.ec2.instances["m5.large"].hourly_usd == 0.096 and cat.ec2.instances["m5.large"].source is None


def test_component_missing_from_price_list_keeps_us_east_1_value_with_warning(pricing):
    client, stubber = pricing
    stub_region(stubber, ddb=[d for d in DDB_PAGE if "TimedStorage" not in d])
    cat = fetch_region_catalog(REGION, client, now=NOW)
    assert cat.dynamodb.storage_usd_per_gb_month == bundled_catalog().dynamodb.storage_usd_per_gb_month
    assert any("dynamodb storage" in w and "using us-east-1" in w for w in cat.warnings)


def test_region_without_any_prices_is_an_error(pricing):
    client, stubber = pricing
    for service in ("AWSLambda", "AmazonECS", "AmazonEC2", "AmazonEC2", "AmazonDynamoDB"):
        stubber.add_response("get_products", _page([]), {
            "ServiceCode": service, "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": ANY})
    with pytest.raises(PriceListError):
        fetch_region_catalog("xx-nowhere-1", client)
