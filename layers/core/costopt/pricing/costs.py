"""Cost functions: pure arithmetic on a ``Catalog`` (no I/O, no numpy).

Every function returns floats in USD, unrounded (round only for presentation, e.g.
with ``costopt.domain.money.round_usd``). A month is ``HOURS_PER_MONTH`` = 730 hours; functions that take
``hours`` price that many hours. Monthly quantities (the Lambda free tier and tiers, per-month storage,
IOPS and throughput prices) are prorated by ``hours / month_hours``, where ``month_hours`` is the length
of the calendar month the hours fall in (default 730): AWS bills a GB-month as the GB-hours used over the
hours *of that month*, so 500 GB of gp2 for all of a 31-day month costs exactly 500 x $0.10 = $50 (and
not 744/730 of it). Hourly prices (Fargate, EC2, provisioned capacity) are unaffected.

Lambda: ``avg_duration_ms`` is the mean *billed* duration per invocation (each invocation rounded up to
1 ms, as AWS bills it; ``costopt.engine.cost_model`` estimates it from the duration distribution) and
``init_ms_per_invocation`` the billed INIT time per invocation (cold starts; billed for on-demand
functions since 2025-08-01), priced on the same GB-second tiers as the duration.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from costopt.domain.common import HOURS_PER_MONTH, Model
from costopt.domain.ebs import GP3_BASELINE_IOPS, GP3_BASELINE_THROUGHPUT_MBPS
from costopt.domain.ebs import gp2_baseline_iops as gp2_baseline_iops
from costopt.domain.ebs import gp2_max_throughput_mbps as gp2_max_throughput_mbps
from costopt.domain.resources import (
    CPU_UNITS_PER_VCPU,
    Architecture,
    DynamoDbConfig,
    DynamoDbTable,
    EbsConfig,
    EbsVolume,
    Ec2Config,
    Ec2Instance,
    EcsConfig,
    EcsService,
    GenericConfig,
    GenericResource,
    LambdaConfig,
    LambdaFunction,
    ResourceConfig,
    ResourceKind,
)
from costopt.errors import Unprocessable
from costopt.pricing.catalog import GENERIC_UNIT_PRICE_ESTIMATE, Catalog, Ec2InstancePrice, bundled_catalog

SECONDS_PER_HOUR = 3600.0
MB_PER_GB = 1024.0

Capacity = Literal["on_demand", "spot"]
BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]
VolumeType = Literal["gp2", "gp3", "io1", "io2", "st1", "sc1"]
AnyResource = LambdaFunction | EcsService | Ec2Instance | EbsVolume | DynamoDbTable | GenericResource


class PricingError(Unprocessable):
    """A configuration that cannot be priced: unknown instance type, invalid Fargate pair,
    a combination AWS does not sell. Maps to HTTP 422."""

    title = "Cannot price configuration"
    type_slug = "cannot-price"


class CostBreakdown(Model):
    total_usd: float = Field(description="Sum of lines, unrounded")
    lines: dict[str, float] = Field(default_factory=dict, description="Cost per component, unrounded")

    @classmethod
    def of(cls, lines: dict[str, float]) -> CostBreakdown:
        return cls(total_usd=sum(lines.values()), lines=lines)

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        lines = dict(self.lines)
        for key, value in other.lines.items():
            lines[key] = lines.get(key, 0.0) + value
        return CostBreakdown.of(lines)

    def scaled(self, factor: float) -> CostBreakdown:
        return CostBreakdown.of({k: v * factor for k, v in self.lines.items()})


class ResourceCostUsage(Model):
    """How much a resource is used over the priced period (``hours``, default one month)."""

    hours: float = Field(default=HOURS_PER_MONTH, ge=0, description="Length of the priced period")
    month_hours: float = Field(default=HOURS_PER_MONTH, gt=0,
                               description="Hours in the calendar month of the period (per-month prices)")
    invocations: float = Field(default=0.0, ge=0, description="Lambda invocations in the period")
    avg_duration_ms: float = Field(default=0.0, ge=0,
                                   description="Lambda mean billed duration (each invocation rounded up to 1 ms)")
    init_ms_per_invocation: float = Field(default=0.0, ge=0,
                                          description="Lambda billed INIT ms per invocation (on-demand cold starts)")
    avg_replicas: float | None = Field(
        default=None, ge=0, description="ECS tasks / generic replicas running on average; None = the config's count"
    )
    running_fraction: float = Field(default=1.0, ge=0, le=1, description="EC2: share of the period running")
    read_request_units: float = Field(default=0.0, ge=0, description="DynamoDB on-demand RRUs in the period")
    write_request_units: float = Field(default=0.0, ge=0, description="DynamoDB on-demand WRUs in the period")
    storage_gb: float = Field(default=0.0, ge=0, description="DynamoDB table storage")
    free_tier: bool = Field(default=False, description="Deduct the Lambda monthly free tier")


class InstanceType(Ec2InstancePrice):
    """A catalog instance type with its name (the catalog keys its entries by name)."""

    name: str


def _tiered(quantity: float, tiers: Iterable[tuple[float | None, float]], scale: float = 1.0) -> float:
    """Price ``quantity`` across cumulative tiers ``(upper_bound or None, unit_price)``; bounds scaled."""
    cost, lower = 0.0, 0.0
    for upper, price in tiers:
        top = quantity if upper is None else min(quantity, upper * scale)
        if top > lower:
            cost += (top - lower) * price
        if upper is None or quantity <= upper * scale:
            break
        lower = upper * scale
    return cost


# ------------------------------------------------------------------ Lambda


LAMBDA_BILLING_GRANULARITY_MS = 1.0
"""AWS rounds each invocation's duration up to the nearest 1 ms (https://aws.amazon.com/lambda/pricing/)."""
_Z99 = 2.3263478740408408  # standard normal 0.99 quantile


def lognormal_log_sd(p99_over_mean: float) -> float:
    """Log-sd of a lognormal whose p99 / mean is ``p99_over_mean``: solves exp(z·s - s²/2) = ratio
    (the smaller root; 0 when the ratio is at most 1, capped at z99 where the ratio peaks)."""
    if not p99_over_mean > 1.0:
        return 0.0
    disc = _Z99 * _Z99 - 2.0 * math.log(p99_over_mean)
    return _Z99 - math.sqrt(disc) if disc > 0 else _Z99


def lambda_billed_duration_ms(mean_ms: float, log_sd: float = 0.0) -> float:
    """Mean billed duration of invocations whose duration is lognormal with mean ``mean_ms`` and log-sd
    ``log_sd``: E[ceil(D)] with a 1 ms minimum, = sum over k >= 0 of P(D > k) (exact up to 1e-9 ms).

    Deterministic durations (log_sd 0) bill ceil(mean): 2.3 ms bills 3 ms. For means of tens of ms the
    result is mean + ~0.5 ms.
    """
    if mean_ms <= 0:
        return 0.0
    if log_sd <= 0:
        return max(1.0, math.ceil(mean_ms - 1e-9))
    if log_sd * mean_ms >= 4.0:  # spread over many ms: E[ceil(D)] - E[D] = 0.5 within 1e-9 ms
        return mean_ms + 0.5
    mu = math.log(mean_ms) - log_sd * log_sd / 2.0
    k = max(1, math.floor(math.exp(mu - 8.0 * log_sd)))  # P(D > j) = 1 (to 1e-15) for every j < k
    total = float(k)
    while True:
        tail = 0.5 * math.erfc((math.log(k) - mu) / (log_sd * math.sqrt(2.0)))
        total += tail
        if tail < 1e-12 and k > mean_ms:
            return total
        k += 1


def lambda_gb_seconds(*, invocations: float, avg_duration_ms: float, memory_mb: int | float) -> float:
    return invocations * (avg_duration_ms / 1000.0) * (memory_mb / MB_PER_GB)


def lambda_cost(
    catalog: Catalog,
    *,
    invocations: float,
    avg_duration_ms: float,
    memory_mb: int | float,
    architecture: Architecture = "x86_64",
    provisioned_concurrency: int = 0,
    free_tier: bool = False,
    hours: float = HOURS_PER_MONTH,
    provisioned_share: float | None = None,
    init_ms_per_invocation: float = 0.0,
    month_hours: float = HOURS_PER_MONTH,
) -> CostBreakdown:
    """Lambda cost for ``invocations`` over ``hours`` (default a month).

    Lines: ``requests``, ``duration`` (on-demand GB-s, monthly tiers prorated to ``hours``),
    and with provisioned concurrency ``provisioned_concurrency`` (GB-s provisioned for the
    whole period) and ``provisioned_duration`` (GB-s run on it). Without ``provisioned_share``
    the invocations fill provisioned capacity first (spill-over runs on-demand). The free tier
    (1M requests, 400,000 GB-s a month) is only deducted when asked and never with
    provisioned concurrency, as on AWS. ``init_ms_per_invocation`` adds the ``init`` line: INIT GB-s of
    the invocations that run on demand, on the same tiers as ``duration`` (AWS bills INIT for on-demand
    functions since 2025-08-01; provisioned environments are initialised inside the provisioned charge).
    """
    try:
        prices = catalog.lambda_.architectures[architecture]
    except KeyError:
        raise PricingError(f"no Lambda prices for architecture {architecture!r}") from None
    month = hours / month_hours
    gb = memory_mb / MB_PER_GB
    gb_s = lambda_gb_seconds(invocations=invocations, avg_duration_ms=avg_duration_ms, memory_mb=memory_mb)
    lines: dict[str, float] = {}

    on_pc = 0.0
    if provisioned_concurrency > 0:
        capacity = provisioned_concurrency * gb * hours * SECONDS_PER_HOUR
        lines["provisioned_concurrency"] = capacity * prices.provisioned_concurrency_usd_per_gb_second
        if provisioned_share is None:
            on_pc = min(gb_s, capacity)
        else:
            on_pc = min(gb_s * max(0.0, min(1.0, provisioned_share)), capacity)
        lines["provisioned_duration"] = on_pc * prices.provisioned_duration_usd_per_gb_second
    use_free = free_tier and provisioned_concurrency == 0
    free = catalog.lambda_.free_tier
    on_demand = max(0.0, gb_s - on_pc)
    on_demand_share = on_demand / gb_s if gb_s > 0 else 1.0
    init_gb_s = lambda_gb_seconds(invocations=invocations * on_demand_share,
                                  avg_duration_ms=init_ms_per_invocation, memory_mb=memory_mb)
    billable = max(0.0, on_demand + init_gb_s - (free.gb_seconds * month if use_free else 0.0))
    tiered = _tiered(billable, ((t.up_to_gb_seconds, t.usd_per_gb_second) for t in prices.duration_tiers), month)
    # the tiers apply to duration and INIT together; the split between the two lines is pro rata
    init_share = init_gb_s / (on_demand + init_gb_s) if on_demand + init_gb_s > 0 else 0.0
    lines["duration"] = tiered * (1.0 - init_share)
    if init_ms_per_invocation > 0:
        lines["init"] = tiered * init_share
    billable_requests = max(0.0, invocations - (free.requests * month if use_free else 0.0))
    lines["requests"] = billable_requests / 1e6 * catalog.lambda_.request_usd_per_million
    return CostBreakdown.of(lines)


def lambda_gb_second_price(catalog: Catalog, architecture: Architecture, monthly_gb_seconds: float = 0.0) -> float:
    """Marginal on-demand price of one more GB-second at ``monthly_gb_seconds`` already used."""
    for tier in catalog.lambda_.architectures[architecture].duration_tiers:
        if tier.up_to_gb_seconds is None or monthly_gb_seconds < tier.up_to_gb_seconds:
            return tier.usd_per_gb_second
    return catalog.lambda_.architectures[architecture].duration_tiers[-1].usd_per_gb_second


# ------------------------------------------------------------------ Fargate


def fargate_valid_pairs(catalog: Catalog) -> list[tuple[int, int]]:
    """Every valid Fargate (cpu_units, memory_mb) task size, ascending."""
    return [(size.cpu_units, mem) for size in catalog.fargate.task_sizes for mem in size.memory_mb]


def is_valid_fargate(catalog: Catalog, cpu_units: int, memory_mb: int) -> bool:
    return any(s.cpu_units == cpu_units and memory_mb in s.memory_mb for s in catalog.fargate.task_sizes)


def fargate_spot_supported(catalog: Catalog, architecture: Architecture) -> bool:
    return architecture in catalog.fargate.spot_architectures


def fargate_hourly(
    catalog: Catalog,
    cpu_units: int,
    memory_mb: int,
    architecture: Architecture = "x86_64",
    capacity: Capacity = "on_demand",
    *,
    validate: bool = True,
) -> float:
    """Price of one task-hour. Raises ``PricingError`` for an invalid (cpu, memory) pair
    (unless ``validate=False``) and for Spot on an architecture Fargate Spot does not offer.
    Spot is on-demand x (1 - ``catalog.fargate.spot_discount``): the ``fargate_spot_discount`` assumption."""
    if validate and not is_valid_fargate(catalog, cpu_units, memory_mb):
        raise PricingError(f"{cpu_units} CPU units with {memory_mb} MB is not a valid Fargate task size")
    try:
        prices = catalog.fargate.architectures[architecture]
    except KeyError:
        raise PricingError(f"no Fargate prices for architecture {architecture!r}") from None
    hourly = (cpu_units / CPU_UNITS_PER_VCPU) * prices.usd_per_vcpu_hour + (
        memory_mb / MB_PER_GB
    ) * prices.usd_per_gb_hour
    if capacity == "spot":
        if not fargate_spot_supported(catalog, architecture):
            raise PricingError(f"Fargate Spot is not available for {architecture}")
        hourly *= 1.0 - catalog.fargate.spot_discount
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
    fargate_hourly(catalog, cpu_units, memory_mb, architecture, capacity)  # validates
    prices = catalog.fargate.architectures[architecture]
    factor = tasks * hours * ((1.0 - catalog.fargate.spot_discount) if capacity == "spot" else 1.0)
    return CostBreakdown.of({
        "vcpu": cpu_units / CPU_UNITS_PER_VCPU * prices.usd_per_vcpu_hour * factor,
        "memory": memory_mb / MB_PER_GB * prices.usd_per_gb_hour * factor,
    })


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


# ------------------------------------------------------------------ EC2


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


# ------------------------------------------------------------------ EBS


def ebs_monthly(
    catalog: Catalog,
    volume_type: VolumeType,
    size_gb: float,
    iops: float | None = None,
    throughput_mbps: float | None = None,
    *,
    hours: float = HOURS_PER_MONTH,
    month_hours: float = HOURS_PER_MONTH,
) -> CostBreakdown:
    """Lines ``storage``, and ``iops`` / ``throughput`` where provisioned performance is billed:
    gp3 above its 3,000 IOPS / 125 MB/s baseline, io1 per IOPS, io2 per IOPS in per-volume tiers.
    All are per-month prices, prorated by ``hours / month_hours``."""
    try:
        prices = catalog.ebs.volumes[volume_type]
    except KeyError:
        raise PricingError(f"no EBS prices for volume type {volume_type!r}") from None
    month = hours / month_hours
    lines = {"storage": size_gb * prices.usd_per_gb_month * month}
    if volume_type == "gp3":
        base_iops = prices.included_iops if prices.included_iops is not None else GP3_BASELINE_IOPS
        base_tp = (
            prices.included_throughput_mbps if prices.included_throughput_mbps is not None
            else GP3_BASELINE_THROUGHPUT_MBPS
        )
        extra_iops = max(0.0, (iops if iops is not None else base_iops) - base_iops)
        extra_tp = max(0.0, (throughput_mbps if throughput_mbps is not None else base_tp) - base_tp)
        lines["iops"] = extra_iops * (prices.usd_per_iops_month or 0.0) * month
        lines["throughput"] = extra_tp * (prices.usd_per_mbps_month or 0.0) * month
    elif volume_type in ("io1", "io2"):
        if iops is None:
            raise PricingError(f"{volume_type} volumes need provisioned iops to be priced")
        tiers = prices.iops_tiers or []
        lines["iops"] = _tiered(iops, ((t.up_to_iops, t.usd_per_iops_month) for t in tiers)) * month
    return CostBreakdown.of(lines)


# ------------------------------------------------------------------ DynamoDB


def dynamodb_monthly(
    catalog: Catalog,
    *,
    billing_mode: BillingMode,
    rcu: float | None = None,
    wcu: float | None = None,
    read_request_units: float = 0.0,
    write_request_units: float = 0.0,
    storage_gb: float = 0.0,
    hours: float = HOURS_PER_MONTH,
    month_hours: float = HOURS_PER_MONTH,
) -> CostBreakdown:
    """On-demand: request units used in the period. Provisioned: capacity units x hours
    (request units do not add cost). Lines ``reads``, ``writes`` and ``storage`` (per GB-month,
    prorated by ``hours / month_hours``)."""
    prices = catalog.dynamodb
    month = hours / month_hours
    if billing_mode == "PAY_PER_REQUEST":
        reads = read_request_units / 1e6 * prices.on_demand.usd_per_million_read_request_units
        writes = write_request_units / 1e6 * prices.on_demand.usd_per_million_write_request_units
    elif billing_mode == "PROVISIONED":
        if rcu is None or wcu is None:
            raise PricingError("PROVISIONED tables need rcu and wcu to be priced")
        reads = rcu * hours * prices.provisioned.usd_per_rcu_hour
        writes = wcu * hours * prices.provisioned.usd_per_wcu_hour
    else:
        raise PricingError(f"unknown DynamoDB billing mode {billing_mode!r}")
    return CostBreakdown.of({"reads": reads, "writes": writes,
                             "storage": storage_gb * prices.storage_usd_per_gb_month * month})


# ------------------------------------------------------------------ generic


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


# ------------------------------------------------------------------ any resource


def config_cost(
    kind: str, config: ResourceConfig, usage: ResourceCostUsage | None = None, catalog: Catalog | None = None
) -> CostBreakdown:
    """Price a resource ``config`` of ``kind`` (current or proposed) under ``usage``."""
    u = usage or ResourceCostUsage()
    cat = catalog or bundled_catalog()
    if kind == ResourceKind.LAMBDA_FUNCTION and isinstance(config, LambdaConfig):
        return lambda_cost(
            cat, invocations=u.invocations, avg_duration_ms=u.avg_duration_ms, memory_mb=config.memory_mb,
            architecture=config.architecture, provisioned_concurrency=config.provisioned_concurrency,
            free_tier=u.free_tier, hours=u.hours, init_ms_per_invocation=u.init_ms_per_invocation,
            month_hours=u.month_hours,
        )
    if kind == ResourceKind.ECS_SERVICE and isinstance(config, EcsConfig):
        tasks = config.desired_count if u.avg_replicas is None else u.avg_replicas
        return fargate_monthly(
            cat, cpu_units=config.cpu_units, memory_mb=config.memory_mb, architecture=config.architecture,
            capacity=config.capacity, tasks=tasks, hours=u.hours,
        )
    if kind == ResourceKind.EC2_INSTANCE and isinstance(config, Ec2Config):
        return ec2_monthly(cat, config.instance_type, hours=u.hours * u.running_fraction)
    if kind == ResourceKind.EBS_VOLUME and isinstance(config, EbsConfig):
        return ebs_monthly(cat, config.volume_type, config.size_gb, config.iops, config.throughput_mbps, hours=u.hours,
                           month_hours=u.month_hours)
    if kind == ResourceKind.DYNAMODB_TABLE and isinstance(config, DynamoDbConfig):
        return dynamodb_monthly(
            cat, billing_mode=config.billing_mode, rcu=config.rcu, wcu=config.wcu,
            read_request_units=u.read_request_units, write_request_units=u.write_request_units,
            storage_gb=u.storage_gb, hours=u.hours, month_hours=u.month_hours,
        )
    if kind == ResourceKind.GENERIC and isinstance(config, GenericConfig):
        return CostBreakdown.of({"compute": generic_hourly(config, u.avg_replicas, cat) * u.hours})
    raise PricingError(f"cannot price a {type(config).__name__} as {kind!r}")


def monthly_cost(
    resource: AnyResource, usage: ResourceCostUsage | None = None, catalog: Catalog | None = None
) -> CostBreakdown:
    """Price any domain resource (``costopt.domain.resources.Resource``) at its own config."""
    kind = getattr(resource, "kind", None)
    config = getattr(resource, "config", None)
    if not isinstance(kind, str) or config is None:
        raise PricingError(f"not a resource: {type(resource).__name__}")
    return config_cost(kind, config, usage, catalog)
