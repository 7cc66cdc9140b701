"""EBS prices: storage per GB-month, provisioned IOPS and throughput (gp3 above its baseline, io1/io2 per
IOPS), and the gp2/gp3 performance limits."""

from __future__ import annotations

from typing import Literal

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.ebs import GP3_BASELINE_IOPS as GP3_BASELINE_IOPS  # the EBS limits live in domain
from costopt.domain.ebs import GP3_BASELINE_THROUGHPUT_MBPS as GP3_BASELINE_THROUGHPUT_MBPS
from costopt.domain.ebs import gp2_baseline_iops as gp2_baseline_iops
from costopt.domain.ebs import gp2_max_throughput_mbps as gp2_max_throughput_mbps
from costopt.pricing.breakdown import CostBreakdown, PricingError, price_tiers
from costopt.pricing.catalog import Catalog

VolumeType = Literal["gp2", "gp3", "io1", "io2", "st1", "sc1"]


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
        lines["iops"] = price_tiers(iops, ((t.up_to_iops, t.usd_per_iops_month) for t in tiers)) * month
    return CostBreakdown.of(lines)
