"""EC2 prices: on-demand instance-hours by instance type, the catalog's types, and the Graviton type of
the same size."""

from __future__ import annotations

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import Architecture
from costopt.pricing.breakdown import CostBreakdown, PricingError
from costopt.pricing.catalog import Catalog, Ec2InstancePrice


class InstanceType(Ec2InstancePrice):
    """A catalog instance type with its name (the catalog keys its entries by name)."""

    name: str


def instance_type(catalog: Catalog, name: str) -> InstanceType:
    try:
        spec = catalog.ec2.instances[name]
    except KeyError:
        raise PricingError(f"no price for EC2 instance type {name!r} in {catalog.region}") from None
    return InstanceType(name=name, **spec.model_dump())


def instance_types(
    catalog: Catalog, *, architecture: Architecture | None = None, family: str | None = None
) -> list[InstanceType]:
    """Instance types in the catalog, cheapest first (ties by name)."""
    out = [
        InstanceType(name=name, **spec.model_dump())
        for name, spec in catalog.ec2.instances.items()
        if (architecture is None or spec.architecture == architecture) and (family is None or spec.family == family)
    ]
    return sorted(out, key=lambda t: (t.hourly_usd, t.name))


def ec2_hourly(catalog: Catalog, instance_type_name: str) -> float:
    return instance_type(catalog, instance_type_name).hourly_usd


def ec2_monthly(
    catalog: Catalog, instance_type_name: str, *, hours: float = HOURS_PER_MONTH, count: float = 1.0
) -> CostBreakdown:
    return CostBreakdown.of({"compute": ec2_hourly(catalog, instance_type_name) * hours * count})


# Same size, Graviton family of the matching generation (Graviton2 for 5th gen, Graviton3 for 6th).
GRAVITON_FAMILY: dict[str, str] = {
    "t3": "t4g", "t3a": "t4g",
    "m5": "m6g", "m5a": "m6g", "m6i": "m7g", "m6a": "m7g", "m7i": "m7g",
    "c5": "c6g", "c5a": "c6g", "c6i": "c7g", "c6a": "c7g", "c7i": "c7g",
    "r5": "r6g", "r5a": "r6g", "r6i": "r7g", "r6a": "r7g", "r7i": "r7g",
}


def graviton_equivalent(instance_type_name: str, catalog: Catalog | None = None) -> str | None:
    """The arm64 (Graviton) type of the same size, e.g. m5.large -> m6g.large; None when the type
    is already Graviton, has no mapping, or (given a catalog) the target is not in it."""
    family, _, size = instance_type_name.partition(".")
    target_family = GRAVITON_FAMILY.get(family)
    if target_family is None or not size:
        return None
    target = f"{target_family}.{size}"
    if catalog is not None and target not in catalog.ec2.instances:
        return None
    return target
