"""Prices and cost functions (DESIGN §4). Pure arithmetic, numpy-free; only
``get_catalog`` for a region other than us-east-1 does I/O (Price List API + PricingCache).

Modules: ``catalog`` (what a region charges; provenance models from ``costopt.domain.prices``),
``breakdown`` (usage in, ``CostBreakdown`` out), ``kinds.<resource kind>`` (each kind's price functions),
``costs`` (the dispatch on kind; re-exports the kinds' functions), ``price_list``/``regions`` (other regions).

Public API (all USD, floats unrounded; a month is HOURS_PER_MONTH = 730 h)::

    get_catalog(region: str = "us-east-1") -> Catalog          # cached in-process; .warnings when substituted
    bundled_catalog() -> Catalog                                # the dated us-east-1 file + settings, no I/O
    Catalog: .region .as_of .source .assumptions .warnings (tuple[str, ...]) .lambda_ .fargate .ec2 .ebs .dynamodb
        .source_of(figure, item=None) -> list[PriceSource | Assumption]   # figure: lambda fargate fargate_spot
                                                                # ec2 ec2_spot ebs dynamodb, or a resource kind
        .sources_for(kind, config) -> list[Citation]            # what pricing that config cites
        .with_spot_prices({type: SpotPrice}) -> Catalog         # EC2 Spot enrichment (connectors.spot_prices)
    PriceSource: kind="price" method (transcribed | price_list_api | describe_spot_price_history) url as_of
                 offer_file query published sku note; .cite()
    Assumption: id kind="assumption" value text url as_of set_by; .cite()
    catalog.fargate.spot: Assumption (id fargate_spot_discount; COSTOPT_FARGATE_SPOT_DISCOUNT overrides it)
    catalog.fargate.spot_discount -> float                      # its effective value
    SpotPrice: hourly_usd aggregate (median | min) zones {az: usd} source

    CostBreakdown(total_usd: float, lines: dict[str, float])    # supports a + b, .scaled(f), CostBreakdown.of(lines)
    ResourceCostUsage(hours=730, invocations=0, avg_duration_ms=0, avg_replicas=None, running_fraction=1.0,
                      read_request_units=0, write_request_units=0, storage_gb=0, free_tier=False)
    monthly_cost(resource, usage: ResourceCostUsage | None = None, catalog: Catalog | None = None) -> CostBreakdown
    config_cost(kind: str, config, usage=None, catalog=None) -> CostBreakdown   # price a proposed config
    round_usd(value: float, cents: int = 2) -> float            # presentation only (half up)
    PricingError (422)                                          # unknown type, invalid Fargate pair, arm64 Spot

    lambda_cost(catalog, *, invocations, avg_duration_ms, memory_mb, architecture="x86_64",
                provisioned_concurrency=0, free_tier=False, hours=730, provisioned_share=None,
                init_ms_per_invocation=0, month_hours=730) -> CostBreakdown
        lines: requests, duration [, init, provisioned_concurrency, provisioned_duration]
    lambda_billed_duration_ms(mean_ms, log_sd=0) -> float     # E[ceil(D)] of lognormal durations (1 ms rule)
    lognormal_log_sd(p99_over_mean) -> float
    lambda_gb_seconds(*, invocations, avg_duration_ms, memory_mb) -> float
    lambda_gb_second_price(catalog, architecture, monthly_gb_seconds=0.0) -> float   # marginal tier price

    fargate_hourly(catalog, cpu_units, memory_mb, architecture="x86_64", capacity="on_demand", *, validate=True)
        -> float                                                # one task-hour
    fargate_monthly(catalog, *, cpu_units, memory_mb, architecture="x86_64", capacity="on_demand",
                    tasks=1.0, hours=730) -> CostBreakdown      # lines: vcpu, memory
    fargate_valid_pairs(catalog) -> list[tuple[int, int]]       # (cpu_units, memory_mb) ascending
    is_valid_fargate(catalog, cpu_units, memory_mb) -> bool
    fargate_spot_supported(catalog, architecture) -> bool       # Fargate Spot is x86_64 only
    smallest_valid_fargate(catalog, vcpu_needed, memory_mb_needed, *, architecture="x86_64")
        -> tuple[int, int] | None                               # cheapest pair that fits

    instance_types(catalog, *, architecture=None, family=None) -> list[InstanceType]   # cheapest first
    instance_type(catalog, name) -> InstanceType                # raises PricingError if unknown
    InstanceType: name family size vcpu memory_gib architecture generation processor hourly_usd
                  burstable_baseline_cpu_pct (t3/t4g only)
    ec2_hourly(catalog, instance_type_name) -> float
    ec2_monthly(catalog, instance_type_name, *, hours=730, count=1.0) -> CostBreakdown   # line: compute
    graviton_equivalent(instance_type_name, catalog=None) -> str | None   # m5.large -> m6g.large

    GP3_BASELINE_IOPS = 3000; GP3_BASELINE_THROUGHPUT_MBPS = 125
    ebs_monthly(catalog, volume_type, size_gb, iops=None, throughput_mbps=None, *, hours=730) -> CostBreakdown
        lines: storage [, iops, throughput]
    gp2_baseline_iops(size_gb) -> float; gp2_max_throughput_mbps(size_gb) -> float

    dynamodb_monthly(catalog, *, billing_mode, rcu=None, wcu=None, read_request_units=0, write_request_units=0,
                     storage_gb=0, hours=730) -> CostBreakdown  # lines: reads, writes, storage

    generic_unit_prices(config: GenericConfig, catalog=None) -> GenericUnitPrices   # core_hour_usd gb_hour_usd
        estimated (fields) note -- unset prices estimated at Fargate on-demand x86_64 (generic_unit_price_estimate)
    generic_hourly(config: GenericConfig, replicas: float | None = None, catalog=None) -> float
"""

from costopt.domain.money import round_usd  # re-exported: the one money rounding rule
from costopt.pricing.catalog import (
    FARGATE_SPOT_DISCOUNT,
    GENERIC_UNIT_PRICE_ESTIMATE,
    Assumption,
    Catalog,
    Citation,
    PriceSource,
    SpotPrice,
    bundled_catalog,
)
from costopt.pricing.costs import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    GRAVITON_FAMILY,
    CostBreakdown,
    GenericUnitPrices,
    InstanceType,
    PricingError,
    ResourceCostUsage,
    config_cost,
    dynamodb_monthly,
    ebs_monthly,
    ec2_hourly,
    ec2_monthly,
    fargate_hourly,
    fargate_monthly,
    fargate_spot_supported,
    fargate_valid_pairs,
    generic_hourly,
    generic_unit_prices,
    gp2_baseline_iops,
    gp2_max_throughput_mbps,
    graviton_equivalent,
    instance_type,
    instance_types,
    is_valid_fargate,
    lambda_billed_duration_ms,
    lambda_cost,
    lambda_gb_second_price,
    lambda_gb_seconds,
    lognormal_log_sd,
    monthly_cost,
    smallest_valid_fargate,
)
from costopt.pricing.regions import clear_catalog_cache, get_catalog

__all__ = [
    "FARGATE_SPOT_DISCOUNT",
    "GENERIC_UNIT_PRICE_ESTIMATE",
    "GP3_BASELINE_IOPS",
    "GP3_BASELINE_THROUGHPUT_MBPS",
    "GRAVITON_FAMILY",
    "Assumption",
    "Catalog",
    "Citation",
    "CostBreakdown",
    "GenericUnitPrices",
    "InstanceType",
    "PriceSource",
    "PricingError",
    "ResourceCostUsage",
    "SpotPrice",
    "bundled_catalog",
    "clear_catalog_cache",
    "config_cost",
    "dynamodb_monthly",
    "ebs_monthly",
    "ec2_hourly",
    "ec2_monthly",
    "fargate_hourly",
    "fargate_monthly",
    "fargate_spot_supported",
    "fargate_valid_pairs",
    "generic_hourly",
    "generic_unit_prices",
    "get_catalog",
    "gp2_baseline_iops",
    "gp2_max_throughput_mbps",
    "graviton_equivalent",
    "instance_type",
    "instance_types",
    "is_valid_fargate",
    "lambda_billed_duration_ms",
    "lambda_cost",
    "lambda_gb_second_price",
    "lambda_gb_seconds",
    "lognormal_log_sd",
    "monthly_cost",
    "round_usd",
    "smallest_valid_fargate",
]
