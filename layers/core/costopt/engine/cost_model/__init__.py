"""The usage and cost model: what a resource costs under a config, from how it is used (pure, numpy-free).

One model, shared: the recommender prices today's config and every option with it, the simulation prices
its baseline and scenario hours with it (``engine.simulation``), the budget forecast takes a change's
post-change daily cost from the recommendation it priced, and realised savings compare the bill with it.

``usage_stats(ru: ResourceUsage) -> UsageStats``
    The means a cost needs, read from a lookback (``observe.usage``). ``engine.simulation`` builds the
    same stats from its hourly history when no lookback is given.
``cost_inputs(resource, stats: UsageStats, catalog) -> CostInputs``
    How today's resource runs, per kind, calibrated to the bill when there is one.
``price(kind, config, inputs, catalog, *, hours=730) -> CostBreakdown``
    Any config of the resource (today's or an option) under those inputs.

Cost uses means, never percentiles (percentiles serve only the SLA clauses). The model's parts, one module
each: ``usage`` (the means a cost reads), ``lambda_run`` (Lambda duration, billed duration and INIT at any
memory size), ``pools`` (the replicas an autoscaled pool runs), ``inputs``
(``CostInputs`` of one resource), ``price`` (a config under those inputs) and ``bill`` (the model against the
bill: correct or flag).
"""

from costopt.domain.recommendation import CostBasis
from costopt.engine.cost_model.bill import BILL_TOLERANCE_PCT, BillCheck
from costopt.engine.cost_model.inputs import CostInputs, cost_inputs
from costopt.engine.cost_model.lambda_run import (
    DEFAULT_COLD_START_RATE,
    DEFAULT_INIT_MS,
    DEFAULT_P99_OVER_MEAN,
    FULL_VCPU_MB,
    MAX_MEMORY_MB,
    LambdaRun,
    cpu_share_multi,
    cpu_share_single,
    duration_ratio,
)
from costopt.engine.cost_model.pools import PoolScaling, PoolShape, autoscale_target, autoscaled_shape, mean_count
from costopt.engine.cost_model.price import monthly, price
from costopt.engine.cost_model.usage import SECONDS_PER_MONTH, UsageStats, usage_stats

__all__ = [
    "BILL_TOLERANCE_PCT", "DEFAULT_COLD_START_RATE", "DEFAULT_INIT_MS", "DEFAULT_P99_OVER_MEAN", "FULL_VCPU_MB",
    "MAX_MEMORY_MB", "SECONDS_PER_MONTH", "BillCheck", "CostBasis", "CostInputs", "LambdaRun", "PoolScaling",
    "PoolShape", "UsageStats", "autoscale_target", "autoscaled_shape", "cost_inputs", "cpu_share_multi",
    "cpu_share_single", "duration_ratio", "mean_count", "monthly", "price", "usage_stats",
]
