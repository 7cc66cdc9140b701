"""Generic resource prices: replicas x (cores, GB) at the resource's own unit prices, or at an estimate
(Fargate on-demand rates) for a unit price it leaves unset."""

from __future__ import annotations

from pydantic import Field

from costopt.domain.common import Model
from costopt.domain.resources import GenericConfig
from costopt.pricing.catalog import GENERIC_UNIT_PRICE_ESTIMATE, Catalog, bundled_catalog


class GenericUnitPrices(Model):
    """The unit prices a generic resource is priced at: its own, or (for what it leaves unset) an estimate."""

    core_hour_usd: float
    gb_hour_usd: float
    estimated: list[str] = Field(default_factory=list, description="The config fields that were estimated")
    note: str | None = Field(default=None, description="What the estimate is and its source; None = not estimated")


def generic_unit_prices(config: GenericConfig, catalog: Catalog | None = None) -> GenericUnitPrices:
    """``config``'s own unit prices; a price it leaves unset is estimated at ``catalog``'s Fargate on-demand
    x86_64 rate (per vCPU-hour, per GB-hour: what AWS charges for that capacity as a serverless container,
    e.g. an EKS pod on Fargate) and named in ``estimated``/``note`` (assumption ``generic_unit_price_estimate``)."""
    core, gb = config.price_per_core_hour_usd, config.price_per_gb_hour_usd
    if core is not None and gb is not None:
        return GenericUnitPrices(core_hour_usd=core, gb_hour_usd=gb)
    cat = catalog or bundled_catalog()
    fargate = cat.fargate.architectures["x86_64"]
    estimated = [f for f, v in (("price_per_core_hour_usd", core), ("price_per_gb_hour_usd", gb)) if v is None]
    core = fargate.usd_per_vcpu_hour if core is None else core
    gb = fargate.usd_per_gb_hour if gb is None else gb
    return GenericUnitPrices(
        core_hour_usd=core, gb_hour_usd=gb, estimated=estimated,
        note=(f"estimate ({GENERIC_UNIT_PRICE_ESTIMATE}): no {' or '.join(estimated)} given, so priced at "
              f"${core:g} per core-hour and ${gb:g} per GB-hour, {cat.region} Fargate on-demand x86_64 "
              f"rates ({cat.fargate.source.cite()}); set the resource's own unit prices for real figures"),
    )


def generic_hourly(config: GenericConfig, replicas: float | None = None, catalog: Catalog | None = None) -> float:
    """All replicas for one hour at the config's unit prices (``generic_unit_prices``: estimated from
    ``catalog`` for a price it leaves unset)."""
    n = config.replicas if replicas is None else replicas
    unit = generic_unit_prices(config, catalog)
    return n * (config.cpu_cores * unit.core_hour_usd + config.memory_gb * unit.gb_hour_usd)
