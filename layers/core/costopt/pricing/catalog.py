"""The price catalog: what one region charges for the things costopt prices, and where each figure
came from.

The us-east-1 catalog is a dated JSON file shipped in the layer (``data/us-east-1.json``). Other regions
are built from the AWS Price List Query API (see ``costopt.pricing.regions``), with the same shape.

Every section carries a ``source`` (``PriceSource``: URL, ``as_of``, ``method`` = transcribed |
price_list_api | describe_spot_price_history); an EC2 instance may carry its own (the Price List product it
was read from) and, after ``Catalog.with_spot_prices``, a dated Spot price. What AWS does not publish as a
price is an ``Assumption`` (``kind: "assumption"``): the Fargate Spot discount is one, overridable by
``COSTOPT_FARGATE_SPOT_DISCOUNT``. ``Catalog.source_of(figure)`` lists the sources a figure used, so
recommendations can cite them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# the price provenance models live in domain; importable from here as before
from costopt.domain.prices import SPOT_PRICE_HISTORY_URL as SPOT_PRICE_HISTORY_URL
from costopt.domain.prices import Assumption, Citation, PriceSource, SpotPrice
from costopt.domain.prices import SourceMethod as SourceMethod
from costopt.domain.resources import Architecture, ResourceKind

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_REGION = "us-east-1"

FARGATE_SPOT_DISCOUNT = "fargate_spot_discount"
"""Assumption id: Fargate Spot priced as on-demand x (1 - discount)."""
GENERIC_UNIT_PRICE_ESTIMATE = "generic_unit_price_estimate"
"""Assumption id: a generic resource without its own unit prices priced at Fargate on-demand rates."""

PRICE_LIST_API_URL = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"
FARGATE_PRICING_URL = "https://aws.amazon.com/fargate/pricing/"

FIGURES = ("lambda", "fargate", "fargate_spot", "ec2", "ec2_spot", "ebs", "dynamodb")
_KIND_FIGURE: dict[str, str] = {ResourceKind.LAMBDA_FUNCTION: "lambda", ResourceKind.ECS_SERVICE: "fargate",
                ResourceKind.EC2_INSTANCE: "ec2", ResourceKind.EBS_VOLUME: "ebs",
                ResourceKind.DYNAMODB_TABLE: "dynamodb"}


def offer_file_url(service_code: str, region: str) -> str:
    """The AWS Price List bulk offer file of ``service_code`` in ``region``."""
    return f"https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service_code}/current/{region}/index.json"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Part):
    description: str
    urls: dict[str, str] = Field(default_factory=dict)


class LambdaTier(_Part):
    up_to_gb_seconds: float | None = Field(description="Upper bound of the monthly tier; None = unbounded")
    usd_per_gb_second: float


class LambdaArchPrices(_Part):
    duration_tiers: list[LambdaTier]
    provisioned_concurrency_usd_per_gb_second: float
    provisioned_duration_usd_per_gb_second: float


class LambdaFreeTier(_Part):
    requests: float
    gb_seconds: float


class LambdaPrices(_Part):
    source: PriceSource
    request_usd_per_million: float
    free_tier: LambdaFreeTier
    architectures: dict[Architecture, LambdaArchPrices]


class FargateArchPrices(_Part):
    usd_per_vcpu_hour: float
    usd_per_gb_hour: float


class FargateTaskSize(_Part):
    cpu_units: int
    memory_mb: list[int]


class FargatePrices(_Part):
    source: PriceSource
    architectures: dict[Architecture, FargateArchPrices]
    spot: Assumption = Field(description="The Fargate Spot discount (fraction off on-demand): an assumption")
    spot_architectures: list[Architecture]
    task_sizes: list[FargateTaskSize]

    @field_validator("spot")
    @classmethod
    def _spot_is_a_discount(cls, v: Assumption) -> Assumption:
        if v.id != FARGATE_SPOT_DISCOUNT or not 0 <= v.value < 1:
            raise ValueError(f"fargate.spot must be the {FARGATE_SPOT_DISCOUNT} assumption with 0 <= value < 1")
        return v

    @property
    def spot_discount(self) -> float:
        """The effective Fargate Spot discount (0.7 = Spot costs 0.3x on-demand); see ``spot``."""
        return self.spot.value


class Ec2InstancePrice(_Part):
    family: str
    size: str
    vcpu: int
    memory_gib: float
    architecture: Architecture
    generation: int
    processor: str
    hourly_usd: float
    burstable_baseline_cpu_pct: float | None = None
    source: PriceSource | None = Field(default=None, description="This type's own source; None = the section's")
    spot: SpotPrice | None = Field(default=None, description="Latest Spot price, when enriched (with_spot_prices)")


class Ec2Prices(_Part):
    source: PriceSource
    operating_system: str = "Linux"
    tenancy: str = "Shared"
    instances: dict[str, Ec2InstancePrice]


class IopsTier(_Part):
    up_to_iops: float | None
    usd_per_iops_month: float


class EbsVolumePrices(_Part):
    usd_per_gb_month: float
    included_iops: int | None = Field(default=None, description="gp3: IOPS the storage price includes")
    included_throughput_mbps: int | None = Field(default=None, description="gp3: MB/s the storage price includes")
    usd_per_iops_month: float | None = Field(default=None, description="gp3: each IOPS above the included")
    usd_per_mbps_month: float | None = Field(default=None, description="gp3: each MB/s above the included")
    iops_tiers: list[IopsTier] | None = Field(default=None, description="io1/io2: provisioned IOPS, tiered")


class EbsPrices(_Part):
    source: PriceSource
    volumes: dict[Literal["gp2", "gp3", "io1", "io2", "st1", "sc1"], EbsVolumePrices]


class DynamoOnDemand(_Part):
    usd_per_million_write_request_units: float
    usd_per_million_read_request_units: float


class DynamoProvisioned(_Part):
    usd_per_wcu_hour: float
    usd_per_rcu_hour: float


class DynamoPrices(_Part):
    source: PriceSource
    on_demand: DynamoOnDemand
    provisioned: DynamoProvisioned
    storage_usd_per_gb_month: float


class Catalog(BaseModel):
    """Prices for one region. ``warnings`` says when they are not that region's own
    (e.g. the Price List API failed and us-east-1 prices stand in); APIs should pass them on."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    region: str
    currency: Literal["USD"] = "USD"
    as_of: str
    source: Source
    assumptions: list[str] = Field(default_factory=list)
    lambda_: LambdaPrices = Field(alias="lambda")
    fargate: FargatePrices
    ec2: Ec2Prices
    ebs: EbsPrices
    dynamodb: DynamoPrices
    warnings: tuple[str, ...] = ()

    def with_warning(self, warning: str) -> Catalog:
        return self.model_copy(update={"warnings": (*self.warnings, warning)})

    # ------------------------------------------------------------------ sources

    def source_of(self, figure: str, item: str | None = None) -> list[Citation]:
        """The sources (prices and assumptions) a priced figure used, for citing.

        ``figure``: a section -- ``lambda``, ``fargate``, ``fargate_spot`` (on-demand price x the Spot
        assumption), ``ec2``, ``ec2_spot``, ``ebs``, ``dynamodb`` -- or a resource kind (``ecs_service`` ->
        ``fargate``...). ``item``: an EC2 instance type (its own source when it has one; required for
        ``ec2_spot``). Raises ``ValueError`` for an unknown figure, ``KeyError`` for an unknown instance
        type or one without a Spot price.
        """
        figure = _KIND_FIGURE.get(figure, figure)
        if figure == "lambda":
            return [self.lambda_.source]
        if figure == "fargate":
            return [self.fargate.source]
        if figure == "fargate_spot":
            return [self.fargate.source, self.fargate.spot]
        if figure == "ebs":
            return [self.ebs.source]
        if figure == "dynamodb":
            return [self.dynamodb.source]
        if figure in ("ec2", "ec2_spot"):
            if item is None:
                if figure == "ec2_spot":
                    raise KeyError("ec2_spot needs an instance type")
                return [self.ec2.source]
            try:
                inst = self.ec2.instances[item]
            except KeyError:
                raise KeyError(f"no EC2 instance type {item!r} in the {self.region} catalog") from None
            if figure == "ec2":
                return [inst.source or self.ec2.source]
            if inst.spot is None:
                raise KeyError(f"no Spot price for {item} in the {self.region} catalog (see with_spot_prices)")
            return [inst.spot.source]
        raise ValueError(f"unknown priced figure {figure!r}; one of {', '.join(FIGURES)} or a resource kind")

    def sources_for(self, kind: str, config: Any) -> list[Citation]:
        """The sources pricing a resource ``config`` of ``kind`` uses (what a recommendation should cite).
        A generic resource with its own unit prices cites none of the catalog's; without them it cites the
        Fargate on-demand price its estimate uses (``costopt.pricing.generic_unit_prices``)."""
        if kind == ResourceKind.ECS_SERVICE:
            return self.source_of("fargate_spot" if getattr(config, "capacity", None) == "spot" else "fargate")
        if kind == ResourceKind.EC2_INSTANCE:
            return self.source_of("ec2", getattr(config, "instance_type", None))
        if kind == ResourceKind.GENERIC:
            own = (getattr(config, "price_per_core_hour_usd", None), getattr(config, "price_per_gb_hour_usd", None))
            return [] if None not in own else self.source_of("fargate")
        return self.source_of(kind)

    # ------------------------------------------------------------------ enrichment

    def with_spot_prices(self, prices: Mapping[str, SpotPrice]) -> Catalog:
        """A copy with EC2 Spot prices (e.g. from ``costopt.connectors.spot_prices``) on the instance types
        it knows; other names are ignored, types without a price keep ``spot=None``."""
        instances = {
            name: inst.model_copy(update={"spot": prices[name]}) if name in prices else inst
            for name, inst in self.ec2.instances.items()
        }
        return self.model_copy(update={"ec2": self.ec2.model_copy(update={"instances": instances})})

    def with_fargate_spot(self, spot: Assumption) -> Catalog:
        """A copy whose Fargate Spot discount is ``spot`` (validated like the file's)."""
        fargate = FargatePrices.model_validate({**self.fargate.model_dump(), "spot": spot.model_dump()})
        return self.model_copy(update={"fargate": fargate})


def load_catalog_file(path: Path) -> Catalog:
    with path.open(encoding="utf-8") as fh:
        return Catalog.model_validate(json.load(fh))


@lru_cache(maxsize=1)
def catalog_file() -> Catalog:
    """The dated us-east-1 catalog as shipped (parsed once per process), before deployment settings."""
    return load_catalog_file(DATA_DIR / f"{DEFAULT_REGION}.json")


def spot_override() -> Assumption | None:
    """The Fargate Spot discount a deployment set (``COSTOPT_FARGATE_SPOT_DISCOUNT``), if any."""
    from costopt.config import settings

    if settings.fargate_spot_discount is None:
        return None
    as_of = settings.fargate_spot_discount_as_of
    return _spot_assumption(settings.fargate_spot_discount, settings.fargate_spot_discount_source,
                            as_of.isoformat() if as_of is not None else None)


@lru_cache(maxsize=4)
def _spot_assumption(value: float, url: str | None, as_of: str | None) -> Assumption:
    return Assumption(
        id=FARGATE_SPOT_DISCOUNT, value=value, set_by="COSTOPT_FARGATE_SPOT_DISCOUNT", url=url, as_of=as_of,
        text=(f"Fargate Spot priced at {value:.1%} off the on-demand price, as set by this deployment "
              "(COSTOPT_FARGATE_SPOT_DISCOUNT) in place of the bundled catalog's figure; AWS bills a Spot price "
              f"that varies by region and over time ({FARGATE_PRICING_URL})."),
    )


def with_settings(catalog: Catalog) -> Catalog:
    """``catalog`` with what the deployment's settings override (today: the Fargate Spot discount)."""
    spot = spot_override()
    return catalog if spot is None else catalog.with_fargate_spot(spot)


@lru_cache(maxsize=4)
def _effective(spot: Assumption | None) -> Catalog:
    return catalog_file() if spot is None else catalog_file().with_fargate_spot(spot)


def bundled_catalog() -> Catalog:
    """The us-east-1 catalog with the deployment's overrides (one object per distinct setting)."""
    return _effective(spot_override())
