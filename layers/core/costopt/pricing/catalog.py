"""The price catalog: what one region charges for the things costopt prices.

The us-east-1 catalog is a dated JSON file shipped in the layer (``data/us-east-1.json``,
with its ``source`` URLs and ``as_of`` date). Other regions are built from the AWS Price
List Query API (see ``costopt.pricing.regions``), with the same shape.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from costopt.domain.resources import Architecture

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_REGION = "us-east-1"


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
    architectures: dict[Architecture, FargateArchPrices]
    spot_discount: float = Field(ge=0, lt=1, description="Fraction off on-demand (0.7 = Spot costs 0.3x)")
    spot_architectures: list[Architecture]
    task_sizes: list[FargateTaskSize]


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


class Ec2Prices(_Part):
    operating_system: str = "Linux"
    tenancy: str = "Shared"
    instances: dict[str, Ec2InstancePrice]


class IopsTier(_Part):
    up_to_iops: float | None
    usd_per_iops_month: float


class EbsVolumePrices(_Part):
    usd_per_gb_month: float
    included_iops: int | None = None
    included_throughput_mbps: int | None = None
    usd_per_iops_month: float | None = None
    usd_per_mbps_month: float | None = None
    iops_tiers: list[IopsTier] | None = None


class EbsPrices(_Part):
    volumes: dict[Literal["gp2", "gp3", "io1", "io2", "st1", "sc1"], EbsVolumePrices]


class DynamoOnDemand(_Part):
    usd_per_million_write_request_units: float
    usd_per_million_read_request_units: float


class DynamoProvisioned(_Part):
    usd_per_wcu_hour: float
    usd_per_rcu_hour: float


class DynamoPrices(_Part):
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


def load_catalog_file(path: Path) -> Catalog:
    with path.open(encoding="utf-8") as fh:
        return Catalog.model_validate(json.load(fh))


@lru_cache(maxsize=1)
def bundled_catalog() -> Catalog:
    """The dated us-east-1 catalog shipped with the package (parsed once per process)."""
    return load_catalog_file(DATA_DIR / f"{DEFAULT_REGION}.json")
