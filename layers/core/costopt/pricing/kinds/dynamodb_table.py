"""DynamoDB prices: on-demand request units or provisioned capacity-hours, plus storage per GB-month."""

from __future__ import annotations

from typing import Literal

from costopt.domain.common import HOURS_PER_MONTH
from costopt.pricing.breakdown import CostBreakdown, PricingError
from costopt.pricing.catalog import Catalog

BillingMode = Literal["PAY_PER_REQUEST", "PROVISIONED"]


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
