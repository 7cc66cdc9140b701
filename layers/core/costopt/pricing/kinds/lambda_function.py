"""Lambda prices: requests, duration and INIT on the monthly GB-second tiers, provisioned concurrency,
and the mean billed duration of lognormal invocation durations (AWS rounds each up to 1 ms).

``avg_duration_ms`` is the mean *billed* duration per invocation (each invocation rounded up to
1 ms, as AWS bills it; ``costopt.engine.cost_model`` estimates it from the duration distribution) and
``init_ms_per_invocation`` the billed INIT time per invocation (cold starts; billed for on-demand
functions since 2025-08-01), priced on the same GB-second tiers as the duration.
"""

from __future__ import annotations

import math

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import Architecture
from costopt.pricing.breakdown import MB_PER_GB, SECONDS_PER_HOUR, CostBreakdown, PricingError, price_tiers
from costopt.pricing.catalog import Catalog

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
    tiered = price_tiers(billable, ((t.up_to_gb_seconds, t.usd_per_gb_second) for t in prices.duration_tiers), month)
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
