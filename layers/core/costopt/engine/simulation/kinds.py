"""The per-kind table of the simulation: for each resource kind, how its constants are prepared and how it is evaluated.

The one dispatch on kind: ``run`` looks a resource's model up here and calls it for both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from costopt.domain.resources import ResourceKind
from costopt.engine.cost_model import CostInputs
from costopt.engine.simulation.grid import Evaluation, Grid, Prepared, ServiceTerms
from costopt.engine.simulation.history import History
from costopt.engine.simulation.lambda_model import evaluate_lambda, prepare_lambda
from costopt.engine.simulation.plan import ResourcePlan, Variant
from costopt.engine.simulation.pool_model import evaluate_pool, prepare_pool
from costopt.engine.simulation.storage_model import evaluate_dynamodb, evaluate_ebs
from costopt.pricing.catalog import Catalog

Prepare = Callable[[ResourcePlan, History, Catalog, CostInputs], Prepared]
Evaluate = Callable[[ServiceTerms, ResourcePlan, Variant, Grid, Prepared], Evaluation]


def prepare_nothing(rp: ResourcePlan, history: History, catalog: Catalog, cost: CostInputs) -> Prepared:
    """A kind whose model needs no constants from the history beyond the cost model."""
    return Prepared(cost=cost)


@dataclass(frozen=True)
class KindModel:
    prepare: Prepare
    evaluate: Evaluate


KIND_MODELS: dict[ResourceKind, KindModel] = {
    ResourceKind.LAMBDA_FUNCTION: KindModel(prepare_lambda, evaluate_lambda),
    ResourceKind.ECS_SERVICE: KindModel(prepare_pool, evaluate_pool),
    ResourceKind.GENERIC: KindModel(prepare_pool, evaluate_pool),
    ResourceKind.EC2_INSTANCE: KindModel(prepare_pool, evaluate_pool),
    ResourceKind.EBS_VOLUME: KindModel(prepare_nothing, evaluate_ebs),
    ResourceKind.DYNAMODB_TABLE: KindModel(prepare_nothing, evaluate_dynamodb),
}
