"""Build a region's ``Catalog`` from the AWS Price List Query API (``pricing:GetProducts``).

Five queries (paginated, 100 products a page), all filtered by ``regionCode``:

- ``AWSLambda``: ``Request(-ARM)``, ``Lambda-GB-Second(-ARM)`` (tiered),
  ``Lambda-Provisioned-Concurrency(-ARM)``, ``Lambda-Provisioned-GB-Second(-ARM)``;
- ``AmazonECS``: ``Fargate(-ARM)-vCPU-Hours:perCPU``, ``Fargate(-ARM)-GB-Hours``;
- ``AmazonEC2`` instances: Linux, shared tenancy, no pre-installed software, ``capacitystatus=Used``,
  ``instanceType`` ANY_OF the catalog's types (``BoxUsage``, unit ``Hrs``);
- ``AmazonEC2`` EBS: ``EBS:VolumeUsage.<gp2|gp3|piops|io2|st1|sc1>``,
  ``EBS:VolumeP-IOPS.<gp3|piops|io2[.tier2|.tier3]>``, ``EBS:VolumeP-Throughput.gp3``
  (published per GiBps-month: divided by 1024 for MB/s);
- ``AmazonDynamoDB``: ``Read/WriteRequestUnits``, ``Read/WriteCapacityUnit-Hrs``, ``TimedStorage-ByteHrs``.

Usage types carry a region prefix (``EUW2-``, ``EU-``, ``APN1-``…; none or ``USE1-`` in us-east-1) that is
stripped before matching. $0 bands (free tiers published as prices) are ignored. What the region does not
publish keeps the us-east-1 value and is named in ``Catalog.warnings``; EC2 types the region does not
offer are dropped. Instance specs, Fargate task sizes and the Spot assumption come from the bundled file.

Sources: each section's ``source`` becomes ``method="price_list_api"`` with the query, the fetch instant
(``as_of``), the latest ``publicationDate`` of its products and the region's offer file; each EC2 type gets
its own (its product's SKU and publication date). A section the region publishes nothing for keeps the
bundled file's source (its figures are the us-east-1 ones); one published in part names the rest in its note.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from costopt import clock
from costopt.pricing.catalog import PRICE_LIST_API_URL, Catalog, catalog_file, offer_file_url

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"pricing:GetProducts"})
PAGE_SIZE = 100
MAX_PAGES = 20
_REGION_PREFIX = re.compile(r"^(?!IA-)[A-Z]{2,4}\d?-")

_EBS_STORAGE = {"gp2": "gp2", "gp3": "gp3", "io1": "piops", "io2": "io2", "st1": "st1", "sc1": "sc1"}


class PriceListError(Exception):
    """The Price List API gave nothing usable for a region."""


@dataclass(frozen=True)
class PriceDimension:
    begin: float
    end: float | None
    unit: str
    usd: float


@dataclass(frozen=True)
class PriceListProduct:
    family: str
    attributes: dict[str, str]
    dimensions: tuple[PriceDimension, ...]
    publication_date: str | None
    sku: str | None = None

    @property
    def usage(self) -> str:
        return normalize_usage_type(self.attributes.get("usagetype", ""))

    def paid(self) -> list[PriceDimension]:
        """Non-zero on-demand bands, lowest range first."""
        return [d for d in self.dimensions if d.usd > 0]


def normalize_usage_type(usage_type: str) -> str:
    """``EUW2-Lambda-GB-Second`` -> ``Lambda-GB-Second`` (keeps DynamoDB's ``IA-`` table-class prefix)."""
    return _REGION_PREFIX.sub("", usage_type, count=1)


def _range(value: Any) -> float | None:
    if value in (None, "", "Inf"):
        return None
    return float(value)


def parse_price_item(item: str | dict[str, Any]) -> PriceListProduct | None:
    """One ``PriceList`` entry (a JSON string in GetProducts) -> product with its OnDemand USD bands;
    None when it has no OnDemand USD price."""
    doc = json.loads(item) if isinstance(item, str) else item
    product = doc.get("product") or {}
    dims: list[PriceDimension] = []
    for term in (doc.get("terms") or {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            usd = (dim.get("pricePerUnit") or {}).get("USD")
            if usd is None:
                continue
            dims.append(PriceDimension(
                begin=_range(dim.get("beginRange")) or 0.0, end=_range(dim.get("endRange")),
                unit=str(dim.get("unit", "")), usd=float(usd),
            ))
    if not dims:
        return None
    dims.sort(key=lambda d: d.begin)
    return PriceListProduct(
        family=str(product.get("productFamily", "")),
        attributes={k: str(v) for k, v in (product.get("attributes") or {}).items()},
        dimensions=tuple(dims),
        publication_date=doc.get("publicationDate"),
        sku=product.get("sku"),
    )


def get_products(client: Any, service_code: str, filters: dict[str, str | list[str]]) -> list[PriceListProduct]:
    """All products of ``service_code`` matching ``filters`` (lists become ANY_OF), every page."""
    api_filters = [
        {"Type": "ANY_OF", "Field": field, "Value": ",".join(value)} if isinstance(value, list)
        else {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in filters.items()
    ]
    out: list[PriceListProduct] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        kwargs: dict[str, Any] = {
            "ServiceCode": service_code, "Filters": api_filters, "FormatVersion": "aws_v1", "MaxResults": PAGE_SIZE,
        }
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        for raw in page.get("PriceList", []):
            parsed = parse_price_item(raw)
            if parsed is not None:
                out.append(parsed)
        token = page.get("NextToken")
        if not token:
            break
    return out


def _by_usage(products: Iterable[PriceListProduct]) -> dict[str, list[PriceListProduct]]:
    index: dict[str, list[PriceListProduct]] = defaultdict(list)
    for p in products:
        index[p.usage].append(p)
    return index


def _flat(index: dict[str, list[PriceListProduct]], usage: str) -> float | None:
    """The (highest) paid rate of a usage type; None when not published."""
    rates = [d.usd for p in index.get(usage, []) for d in p.paid()]
    return max(rates) if rates else None


def _tiers(index: dict[str, list[PriceListProduct]], usage: str) -> list[PriceDimension]:
    for p in index.get(usage, []):
        if p.paid():
            return p.paid()
    return []


def _query(service_code: str, filters: dict[str, str | list[str]]) -> str:
    terms = [f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k, v in filters.items()]
    return f"pricing:GetProducts ServiceCode={service_code} " + " ".join(terms)


def fetch_region_catalog(region: str, client: Any, *, now: datetime | None = None) -> Catalog:
    """The catalog for ``region`` from the Price List API. Raises ``PriceListError`` when the region
    publishes none of the prices (unknown region, API returned nothing)."""
    base = catalog_file()
    at = now or clock.now()
    doc: dict[str, Any] = base.model_dump(by_alias=True)
    missing: dict[str, list[str]] = defaultdict(list)   # section -> figures kept at the base value
    found: dict[str, int] = defaultdict(int)            # section -> figures read
    notes: list[str] = []
    publication: dict[str, list[str]] = defaultdict(list)

    def take(section: str, products: list[PriceListProduct]) -> dict[str, list[PriceListProduct]]:
        publication[section].extend(p.publication_date for p in products if p.publication_date)
        return _by_usage(products)

    def put(section: str, target: dict[str, Any], key: str, value: float | None, name: str) -> None:
        if value is None:
            missing[section].append(name)
        else:
            target[key] = value
            found[section] += 1

    def source(section: str, service_code: str, query: str) -> None:
        """The section's source: the Price List when it gave anything, else the base file's (kept values)."""
        kept = missing.get(section, [])
        if not found.get(section):
            note = doc[section]["source"].get("note") or ""
            doc[section]["source"]["note"] = (f"{region} publishes none of these in the AWS Price List; "
                                              f"{base.region} values. " + note).strip()
            return
        doc[section]["source"] = {
            "kind": "price", "method": "price_list_api", "url": PRICE_LIST_API_URL, "as_of": at.isoformat(),
            "offer_file": offer_file_url(service_code, region), "query": query,
            "published": max(publication[section]) if publication.get(section) else None,
            "note": (f"kept the {base.region} value (transcribed, as of {base.as_of}) for: {', '.join(kept)}"
                     if kept else None),
        }

    # Lambda
    q: dict[str, str | list[str]] = {"regionCode": region}
    lam = take("lambda", get_products(client, "AWSLambda", q))
    requests = _flat(lam, "Request")
    put("lambda", doc["lambda"], "request_usd_per_million", requests * 1e6 if requests is not None else None,
        "lambda requests")
    for arch, sfx in (("x86_64", ""), ("arm64", "-ARM")):
        arch_doc = doc["lambda"]["architectures"][arch]
        tiers = _tiers(lam, f"Lambda-GB-Second{sfx}")
        if tiers:
            arch_doc["duration_tiers"] = [{"up_to_gb_seconds": d.end, "usd_per_gb_second": d.usd} for d in tiers]
            arch_doc["duration_tiers"][-1]["up_to_gb_seconds"] = None
            found["lambda"] += 1
        else:
            missing["lambda"].append(f"lambda {arch} duration")
        put("lambda", arch_doc, "provisioned_concurrency_usd_per_gb_second",
            _flat(lam, f"Lambda-Provisioned-Concurrency{sfx}"), f"lambda {arch} provisioned concurrency")
        put("lambda", arch_doc, "provisioned_duration_usd_per_gb_second",
            _flat(lam, f"Lambda-Provisioned-GB-Second{sfx}"), f"lambda {arch} provisioned duration")
    source("lambda", "AWSLambda", _query("AWSLambda", q))

    # Fargate
    ecs = take("fargate", get_products(client, "AmazonECS", q))
    for arch, sfx in (("x86_64", ""), ("arm64", "-ARM")):
        arch_doc = doc["fargate"]["architectures"][arch]
        put("fargate", arch_doc, "usd_per_vcpu_hour", _flat(ecs, f"Fargate{sfx}-vCPU-Hours:perCPU"),
            f"fargate {arch} vCPU")
        put("fargate", arch_doc, "usd_per_gb_hour", _flat(ecs, f"Fargate{sfx}-GB-Hours"), f"fargate {arch} memory")
    source("fargate", "AmazonECS", _query("AmazonECS", q))

    # EC2 instances
    names = sorted(base.ec2.instances)
    ec2_filters: dict[str, str | list[str]] = {
        "regionCode": region, "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
        "capacitystatus": "Used", "instanceType": names,
    }
    ec2 = get_products(client, "AmazonEC2", ec2_filters)
    hourly: dict[str, tuple[float, PriceListProduct]] = {}
    for p in ec2:
        name = p.attributes.get("instanceType")
        if name in base.ec2.instances and p.usage.startswith("BoxUsage") and p.attributes.get(
            "licenseModel", "No License required"
        ) == "No License required":
            rates = [d.usd for d in p.paid() if d.unit.lower().startswith("hr")]
            if rates and (name not in hourly or min(rates) < hourly[name][0]):
                hourly[name] = (min(rates), p)
    if hourly:
        found["ec2"] += 1
        publication["ec2"].extend(p.publication_date for _, p in hourly.values() if p.publication_date)
        one = {k: v for k, v in ec2_filters.items() if k != "instanceType"}
        doc["ec2"]["instances"] = {
            name: {**spec, "hourly_usd": hourly[name][0], "source": {
                "kind": "price", "method": "price_list_api", "url": PRICE_LIST_API_URL, "as_of": at.isoformat(),
                "offer_file": offer_file_url("AmazonEC2", region),
                "query": _query("AmazonEC2", {**one, "instanceType": name}),
                "published": hourly[name][1].publication_date, "sku": hourly[name][1].sku,
                "note": f"usage type {hourly[name][1].attributes.get('usagetype', '?')}",
            }}
            for name, spec in doc["ec2"]["instances"].items() if name in hourly
        }
        absent = [n for n in names if n not in hourly]
        if absent:
            notes.append(f"EC2 types without a {region} price were left out: {', '.join(absent)}")
    else:
        missing["ec2"].append("ec2 instances")
    source("ec2", "AmazonEC2", _query("AmazonEC2", ec2_filters))

    # EBS
    ebs_filters: dict[str, str | list[str]] = {
        "regionCode": region, "productFamily": ["Storage", "System Operation", "Provisioned Throughput"]}
    ebs = take("ebs", get_products(client, "AmazonEC2", ebs_filters))
    vols = doc["ebs"]["volumes"]
    for vtype, code in _EBS_STORAGE.items():
        put("ebs", vols[vtype], "usd_per_gb_month", _flat(ebs, f"EBS:VolumeUsage.{code}"), f"ebs {vtype} storage")
    put("ebs", vols["gp3"], "usd_per_iops_month", _flat(ebs, "EBS:VolumeP-IOPS.gp3"), "ebs gp3 iops")
    throughput = [
        d.usd / 1024.0 if d.unit.lower().startswith("gib") else d.usd
        for p in ebs.get("EBS:VolumeP-Throughput.gp3", []) for d in p.paid()
    ]
    put("ebs", vols["gp3"], "usd_per_mbps_month", max(throughput) if throughput else None, "ebs gp3 throughput")
    io1 = _flat(ebs, "EBS:VolumeP-IOPS.piops")
    if io1 is not None:
        vols["io1"]["iops_tiers"] = [{"up_to_iops": None, "usd_per_iops_month": io1}]
        found["ebs"] += 1
    else:
        missing["ebs"].append("ebs io1 iops")
    io2 = [_flat(ebs, u) for u in ("EBS:VolumeP-IOPS.io2", "EBS:VolumeP-IOPS.io2.tier2", "EBS:VolumeP-IOPS.io2.tier3")]
    if all(v is not None for v in io2):
        for tier, rate in zip(vols["io2"]["iops_tiers"], io2, strict=True):
            tier["usd_per_iops_month"] = rate
        found["ebs"] += 1
    else:
        missing["ebs"].append("ebs io2 iops")
    source("ebs", "AmazonEC2", _query("AmazonEC2", ebs_filters))

    # DynamoDB
    ddb = take("dynamodb", get_products(client, "AmazonDynamoDB", q))
    rru, wru = _flat(ddb, "ReadRequestUnits"), _flat(ddb, "WriteRequestUnits")
    put("dynamodb", doc["dynamodb"]["on_demand"], "usd_per_million_read_request_units",
        rru * 1e6 if rru is not None else None, "dynamodb read request units")
    put("dynamodb", doc["dynamodb"]["on_demand"], "usd_per_million_write_request_units",
        wru * 1e6 if wru is not None else None, "dynamodb write request units")
    put("dynamodb", doc["dynamodb"]["provisioned"], "usd_per_rcu_hour", _flat(ddb, "ReadCapacityUnit-Hrs"),
        "dynamodb RCU")
    put("dynamodb", doc["dynamodb"]["provisioned"], "usd_per_wcu_hour", _flat(ddb, "WriteCapacityUnit-Hrs"),
        "dynamodb WCU")
    put("dynamodb", doc["dynamodb"], "storage_usd_per_gb_month", _flat(ddb, "TimedStorage-ByteHrs"),
        "dynamodb storage")
    source("dynamodb", "AmazonDynamoDB", _query("AmazonDynamoDB", q))

    if not any(found.values()):
        raise PriceListError(f"the AWS Price List has no prices for region {region!r}")

    latest = [d for dates in publication.values() for d in dates]
    all_missing = [name for section in ("lambda", "fargate", "ec2", "ebs", "dynamodb") for name in missing[section]]
    doc["region"] = region
    doc["as_of"] = at.date().isoformat()
    doc["source"] = {
        "description": (
            f"AWS Price List Query API (pricing:GetProducts, regionCode={region}), fetched {at.isoformat()}"
            + (f"; latest publication {max(latest)}" if latest else "")
            + f". Instance specs, Fargate task sizes and assumptions from the bundled {base.region} catalog "
            f"as of {base.as_of}. Each section's source says what it was read from."
        ),
        "urls": {"price_list_api": PRICE_LIST_API_URL},
    }
    doc["warnings"] = [
        *([f"prices for {region}: {', '.join(all_missing)} not in the AWS Price List; using {base.region} values"]
          if all_missing else []),
        *notes,
    ]
    return Catalog.model_validate(doc)
