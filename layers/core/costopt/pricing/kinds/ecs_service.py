"""Fargate prices (ECS services): per task-hour by vCPU and memory, Spot as a discount, and the valid
(CPU, memory) task sizes."""

from __future__ import annotations

from typing import Literal

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import CPU_UNITS_PER_VCPU, Architecture
from costopt.pricing.breakdown import MB_PER_GB, CostBreakdown, PricingError
from costopt.pricing.catalog import Catalog

Capacity = Literal["on_demand", "spot"]


def fargate_valid_pairs(catalog: Catalog) -> list[tuple[int, int]]:
    """Every valid Fargate (cpu_units, memory_mb) task size, ascending."""
    return [(size.cpu_units, mem) for size in catalog.fargate.task_sizes for mem in size.memory_mb]


def is_valid_fargate(catalog: Catalog, cpu_units: int, memory_mb: int) -> bool:
    return any(s.cpu_units == cpu_units and memory_mb in s.memory_mb for s in catalog.fargate.task_sizes)


def fargate_spot_supported(catalog: Catalog, architecture: Architecture) -> bool:
    return architecture in catalog.fargate.spot_architectures


def _task_hour(catalog: Catalog, cpu_units: int, memory_mb: int, architecture: Architecture, capacity: Capacity,
               validate: bool) -> tuple[float, float, float]:
    """(vCPU, memory) on-demand price of one task-hour and the capacity's factor on them (Spot: 1 - discount)."""
    if validate and not is_valid_fargate(catalog, cpu_units, memory_mb):
        raise PricingError(f"{cpu_units} CPU units with {memory_mb} MB is not a valid Fargate task size")
    try:
        prices = catalog.fargate.architectures[architecture]
    except KeyError:
        raise PricingError(f"no Fargate prices for architecture {architecture!r}") from None
    factor = 1.0
    if capacity == "spot":
        if not fargate_spot_supported(catalog, architecture):
            raise PricingError(f"Fargate Spot is not available for {architecture}")
        factor = 1.0 - catalog.fargate.spot_discount
    return (cpu_units / CPU_UNITS_PER_VCPU * prices.usd_per_vcpu_hour, memory_mb / MB_PER_GB * prices.usd_per_gb_hour,
            factor)


def fargate_hourly(catalog: Catalog, cpu_units: int, memory_mb: int, architecture: Architecture = "x86_64",
                   capacity: Capacity = "on_demand", *, validate: bool = True) -> float:
    """Price of one task-hour. Raises ``PricingError`` for an invalid (cpu, memory) pair
    (unless ``validate=False``) and for Spot on an architecture Fargate Spot does not offer.
    Spot is on-demand x (1 - ``catalog.fargate.spot_discount``): the ``fargate_spot_discount`` assumption."""
    vcpu, memory, factor = _task_hour(catalog, cpu_units, memory_mb, architecture, capacity, validate)
    hourly = vcpu + memory
    if capacity == "spot":
        hourly *= factor
    return hourly


def fargate_monthly(
    catalog: Catalog,
    *,
    cpu_units: int,
    memory_mb: int,
    architecture: Architecture = "x86_64",
    capacity: Capacity = "on_demand",
    tasks: float = 1.0,
    hours: float = HOURS_PER_MONTH,
) -> CostBreakdown:
    """``tasks`` (average running) x ``hours``; lines ``vcpu`` and ``memory``."""
    vcpu, memory, factor = _task_hour(catalog, cpu_units, memory_mb, architecture, capacity, True)
    scale = tasks * hours * factor
    return CostBreakdown.of({"vcpu": vcpu * scale, "memory": memory * scale})


def smallest_valid_fargate(
    catalog: Catalog, vcpu_needed: float, memory_mb_needed: float, *, architecture: Architecture = "x86_64"
) -> tuple[int, int] | None:
    """Cheapest valid (cpu_units, memory_mb) with at least ``vcpu_needed`` vCPU and ``memory_mb_needed`` MB;
    None when nothing is big enough (more than 16 vCPU / 120 GB)."""
    fits = [
        (cpu, mem) for cpu, mem in fargate_valid_pairs(catalog)
        if cpu / CPU_UNITS_PER_VCPU >= vcpu_needed and mem >= memory_mb_needed
    ]
    if not fits:
        return None
    return min(fits, key=lambda p: (fargate_hourly(catalog, p[0], p[1], architecture, validate=False), p))
