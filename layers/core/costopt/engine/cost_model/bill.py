"""The model against the bill: compare today's modelled cost with the billed days, then correct or flag.

**Calibrated to the bill.** When the lookback has billed cost for the resource, the model's monthly cost of
today's config at the measured usage is compared with the bill (mean billed day x 730 / 24) and the gap is
published (``model_vs_bill_pct``). Within ``BILL_TOLERANCE_PCT`` (5 %) the model stands. Beyond it, the part
of the model the bill measures is corrected: Lambda's billed GB-seconds per invocation (without provisioned
concurrency), the tasks/replicas an autoscaled pool runs on average, an EC2 instance's running hours. A
gap the model cannot attribute (EBS, DynamoDB, Lambda with provisioned concurrency, a bill above an always-on
instance) is flagged instead, and the figures stay the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import Ec2Config, EcsConfig, GenericConfig, LambdaConfig
from costopt.engine.cost_model.pools import pool_scaling
from costopt.engine.cost_model.price import monthly
from costopt.engine.cost_model.usage import UsageStats

if TYPE_CHECKING:
    from costopt.engine.cost_model.inputs import CostInputs
    from costopt.pricing import Catalog

BILL_TOLERANCE_PCT = 5.0


@dataclass(frozen=True)
class BillCheck:
    """The model's cost of today's config against the bill, over the lookback (monthly USD, unrounded)."""

    billed_monthly_usd: float
    modelled_monthly_usd: float
    model_vs_bill_pct: float
    corrected: bool
    flagged: bool
    billed_days: int
    detail: str


def check_bill(resource: Any, inputs: CostInputs, stats: UsageStats, catalog: Catalog) -> CostInputs:
    """Compare the model of today's config with the bill; correct or flag beyond the tolerance."""
    billed_day = stats.billed_usd_per_day
    if billed_day is None or billed_day <= 0:
        return inputs
    billed = billed_day * HOURS_PER_MONTH / 24.0
    model = monthly(resource, inputs, catalog)
    if model <= 0:
        return replace(inputs, bill=BillCheck(billed, model, -100.0, False, True, stats.billed_days,
                                              f"the bill shows ${billed:.2f}/month the model prices at $0: flagged"))
    gap = (model - billed) / billed * 100.0
    within = abs(gap) <= BILL_TOLERANCE_PCT
    base = f"model ${model:.2f}/month vs billed ${billed:.2f}/month over {stats.billed_days} billed days ({gap:+.1f}%)"
    if within:
        return replace(inputs, bill=BillCheck(billed, model, gap, False, False, stats.billed_days,
                                              base + f": within ±{BILL_TOLERANCE_PCT:g}%, the model stands"))
    corrected = _corrected(resource, inputs, stats, billed, model, catalog)
    if corrected is not None:
        fixed, what = corrected
        return replace(fixed, basis="billed", bill=BillCheck(
            billed, model, gap, True, False, stats.billed_days, base + f": corrected to the bill ({what})"))
    return replace(inputs, bill=BillCheck(billed, model, gap, False, True, stats.billed_days,
                                          base + ": flagged, the model has no part the bill can correct"))


def _corrected(resource: Any, inputs: CostInputs, stats: UsageStats, billed: float, model: float,
               catalog: Catalog) -> tuple[CostInputs, str] | None:
    cfg = resource.config
    ratio = billed / model
    if isinstance(cfg, LambdaConfig) and inputs.lambda_run is not None and cfg.provisioned_concurrency == 0:
        run = inputs.lambda_run
        requests = run.invocations_per_month / 1e6 * catalog.lambda_.request_usd_per_million
        if model - requests <= 0 or billed - requests <= 0:
            return None
        scale = (billed - requests) / (model - requests)
        fixed = replace(run, gb_s_scale=run.gb_s_scale * scale)
        return replace(inputs, lambda_run=fixed), f"billed GB-seconds per invocation x {scale:.3f}"
    if isinstance(cfg, (EcsConfig, GenericConfig)):
        count = cfg.desired_count if isinstance(cfg, EcsConfig) else cfg.replicas
        if inputs.scaling is not None:
            scaling = pool_scaling(cfg, stats, inputs.scaling.mean_replicas * ratio)
            if scaling is not None:
                return replace(inputs, scaling=scaling), \
                    f"{scaling.mean_replicas:.2f} replicas run on average (autoscaled, target {scaling.target:.1%})"
            return None
        return replace(inputs, replica_factor=inputs.replica_factor * ratio), \
            f"{ratio * count:.2f} of the {count} configured replicas run on average"
    if isinstance(cfg, Ec2Config) and ratio < 1.0:
        return replace(inputs, running_fraction=inputs.running_fraction * ratio), \
            f"running {ratio:.0%} of the hours"
    return None


__all__ = ["BILL_TOLERANCE_PCT", "BillCheck", "check_bill"]
