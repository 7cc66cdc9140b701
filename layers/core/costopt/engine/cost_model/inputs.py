"""The cost inputs of one resource: how today's resource runs, per kind, bill-checked (``cost_inputs``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from costopt.domain.recommendation import CostBasis
from costopt.domain.resources import DynamoDbConfig, LambdaConfig, ResourceKind
from costopt.engine.cost_model.bill import BillCheck, check_bill
from costopt.engine.cost_model.lambda_run import LambdaRun, read_lambda
from costopt.engine.cost_model.pools import PoolScaling, pool_scaling
from costopt.engine.cost_model.usage import UsageStats

if TYPE_CHECKING:
    from costopt.pricing import Catalog


@dataclass(frozen=True, kw_only=True)
class CostInputs:
    """The shared model of one resource: what ``price`` needs besides the config."""

    kind: str
    basis: CostBasis
    lambda_run: LambdaRun | None = None
    replica_factor: float = 1.0
    """Tasks/replicas running on average / the configured count (from the bill when corrected)."""
    running_fraction: float = 1.0
    scaling: PoolScaling | None = None
    """Autoscaled pools: replicas follow the observed load (``replica_factor`` is then not applied)."""
    rcu_per_s: float = 0.0
    wcu_per_s: float = 0.0
    bill: BillCheck | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    percentiles: dict[str, float] = field(default_factory=dict)


def cost_inputs(resource: Any, stats: UsageStats, catalog: Catalog) -> CostInputs:
    """The cost model of ``resource`` (a ``domain.resources`` resource) under ``stats``, bill-checked."""
    kind, cfg = resource.kind, resource.config
    if kind == ResourceKind.LAMBDA_FUNCTION and isinstance(cfg, LambdaConfig):
        read = read_lambda(cfg, stats)
        inputs = CostInputs(kind=kind, basis=read.basis, lambda_run=read.run, notes=read.notes,
                            assumptions=read.assumptions, percentiles=read.percentiles)
    elif kind == ResourceKind.DYNAMODB_TABLE and isinstance(cfg, DynamoDbConfig):
        inputs = CostInputs(kind=kind, basis="measured" if cfg.billing_mode == "PAY_PER_REQUEST" else "config",
                            rcu_per_s=stats.rcu_per_s or 0.0, wcu_per_s=stats.wcu_per_s or 0.0)
    else:
        scaling = pool_scaling(cfg, stats)
        notes = () if scaling is None else (
            f"autoscaled: the observed load runs {scaling.mean_replicas:.2f} replicas on average at an inferred "
            f"{scaling.target:.1%} target utilization; options are priced at what that autoscaler would run",)
        inputs = CostInputs(kind=kind, basis="measured" if scaling else "config", scaling=scaling, notes=notes)
    return check_bill(resource, inputs, stats, catalog)


__all__ = ["CostInputs", "cost_inputs"]
