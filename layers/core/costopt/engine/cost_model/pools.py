"""Autoscaled pools (ECS services, generic deployments): how many replicas the autoscaler runs for a config.

**ECS / generic pools**: tasks (replicas) running on average x the hourly price. A fixed pool runs its
  count. An autoscaled one (min and max set) runs, each observed hour, ``ceil(demand / (cores x target))``
  within [min, max], demand = the hour's CPU utilization x today's allocated cores; the service's own target
  is not observable, so it is solved (``autoscale_target``) for the observed hours to run today's count on
  average (or the bill's, when corrected). An option is priced at the count the same autoscaler would run for
  it: halving the task size doubles the tasks, a new desired count changes nothing the autoscaler decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from costopt.domain.resources import CPU_UNITS_PER_VCPU, EcsConfig, GenericConfig, ResourceConfig
from costopt.engine.cost_model.usage import UsageStats


@dataclass(frozen=True)
class PoolScaling:
    """An autoscaled pool's load and the target utilization its autoscaler is inferred to hold."""

    demand_cores: tuple[float, ...]
    """Hourly CPU demand in cores (observed utilization x today's allocated cores)."""
    target: float
    mean_replicas: float
    """What the observed hours run at ``target`` with today's config (= today's count, or the bill's)."""

    def replicas(self, cores: float, lo: float, hi: float) -> float:
        """Mean replicas over the observed hours for replicas of ``cores`` within [lo, hi]."""
        return mean_count(self.demand_cores, cores, self.target, lo, hi)


def mean_count(demand_cores: tuple[float, ...], cores: float, target: float, lo: float, hi: float) -> float:
    """Mean over the hours of ``ceil(demand / (cores x target))`` within [lo, hi]."""
    if not demand_cores or cores <= 0:
        return lo
    per = cores * target
    return sum(min(hi, max(lo, math.ceil(d / per - 1e-9))) for d in demand_cores) / len(demand_cores)


def autoscale_target(demand_cores: tuple[float, ...], cores: float, lo: float, hi: float,
                     mean_replicas: float) -> float | None:
    """The target utilization at which ``ceil(demand / (cores x target))`` within [lo, hi] averages
    ``mean_replicas`` over the observed hours (bisection: the mean count falls as the target rises).
    None when no target in [0.02, 0.95] reaches it (the count then sits at a bound)."""
    low, high = 0.02, 0.95
    if not demand_cores or not mean_count(demand_cores, cores, high, lo, hi) <= mean_replicas \
            <= mean_count(demand_cores, cores, low, lo, hi):
        return None
    for _ in range(32):
        mid = (low + high) / 2.0
        if mean_count(demand_cores, cores, mid, lo, hi) > mean_replicas:
            low = mid
        else:
            high = mid
    return high


class PoolShape(NamedTuple):
    """An autoscaled pool config: its configured count, cores per replica and autoscaling bounds."""

    configured: float
    cores: float
    lo: float
    hi: float


def autoscaled_shape(config: ResourceConfig) -> PoolShape | None:
    """The shape of an autoscaled ECS service / generic deployment (min < max set; min defaults to 1),
    None for a fixed pool. The one rule the recommender and the simulation both apply."""
    if isinstance(config, EcsConfig) and config.max_count is not None and (config.min_count or 0) < config.max_count:
        lo = config.min_count if config.min_count is not None else min(1, config.max_count)
        return PoolShape(float(config.desired_count), config.cpu_units / CPU_UNITS_PER_VCPU, float(lo),
                         float(config.max_count))
    if isinstance(config, GenericConfig) and config.max_replicas is not None \
            and (config.min_replicas or 0) < config.max_replicas:
        lo = config.min_replicas if config.min_replicas is not None else min(1, config.max_replicas)
        return PoolShape(float(config.replicas), config.cpu_cores, float(lo), float(config.max_replicas))
    return None


def pool_scaling(config: ResourceConfig, stats: UsageStats, mean_replicas: float | None = None) -> PoolScaling | None:
    """The scaling of an autoscaled pool under ``stats``: its hourly demand and the target that runs
    ``mean_replicas`` (default today's count) on average; None for a fixed pool or no CPU data."""
    shape = autoscaled_shape(config)
    if shape is None or not stats.cpu_pct_hourly:
        return None
    count, cores, lo, hi = shape
    want = count if mean_replicas is None else mean_replicas
    demand = tuple(pct / 100.0 * count * cores for pct in stats.cpu_pct_hourly)
    target = autoscale_target(demand, cores, lo, hi, want)
    return None if target is None else PoolScaling(demand_cores=demand, target=target, mean_replicas=want)


__all__ = ["PoolScaling", "PoolShape", "autoscale_target", "autoscaled_shape", "mean_count", "pool_scaling"]
