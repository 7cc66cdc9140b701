"""Recommendations: the orchestrator (``orchestrator.recommend``) over one recommender per resource kind.

Modules: ``orchestrator`` (SLA check, money, ranking, publishing), ``registry`` (``ResourceKind`` ->
recommender), ``context`` (a recommender's input and output), ``sizing`` (target -> headroom -> floor ->
step), ``ladder`` (walk candidates to the first compliant), ``readers`` (usage readers), ``compute`` (the
opening and count options shared by ECS, EC2 and generic), ``idle``, and one module per kind:
``lambda_function``, ``ecs``, ``ec2``, ``ebs``, ``dynamodb``, ``generic``.
"""

from costopt.engine.recommend.context import Context, Option, Plan
from costopt.engine.recommend.orchestrator import (
    RecommendationResult,
    cost_model_evidence,
    priority_of,
    recommend,
    unconfirmed_assumptions,
    xor_group,
)
from costopt.engine.recommend.registry import RECOMMENDERS, recommender_for

__all__ = ["RECOMMENDERS", "Context", "Option", "Plan", "RecommendationResult", "cost_model_evidence",
           "priority_of", "recommend", "recommender_for", "unconfirmed_assumptions", "xor_group"]
