"""What pricing takes and returns: a resource's usage over the priced period (``ResourceCostUsage``) in,
a ``CostBreakdown`` of USD lines out, ``PricingError`` (422) for what cannot be priced.

Every cost function returns floats in USD, unrounded (round only for presentation, e.g.
with ``costopt.domain.money.round_usd``). A month is ``HOURS_PER_MONTH`` = 730 hours; functions that take
``hours`` price that many hours. Monthly quantities (the Lambda free tier and tiers, per-month storage,
IOPS and throughput prices) are prorated by ``hours / month_hours``, where ``month_hours`` is the length
of the calendar month the hours fall in (default 730): AWS bills a GB-month as the GB-hours used over the
hours *of that month*, so 500 GB of gp2 for all of a 31-day month costs exactly 500 x $0.10 = $50 (and
not 744/730 of it). Hourly prices (Fargate, EC2, provisioned capacity) are unaffected.

``price_tiers(quantity, tiers, scale)`` prices a quantity across cumulative tiers (Lambda GB-s, io2 IOPS).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from costopt.domain.common import HOURS_PER_MONTH, Model
from costopt.errors import Unprocessable

SECONDS_PER_HOUR = 3600.0
MB_PER_GB = 1024.0


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


def price_tiers(quantity: float, tiers: Iterable[tuple[float | None, float]], scale: float = 1.0) -> float:
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
