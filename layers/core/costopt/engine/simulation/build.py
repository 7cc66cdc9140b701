"""From a ``Scenario`` to a ``SimulationPlan``: template, recommendation ids and config changes, validated.

Pure and numpy-free (the plan is built before numpy is needed). Order of application, later wins on
the same field: template -> recommendation_ids -> changes. Every resulting config is validated with
its kind's config model and priced once, so a config AWS does not sell is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError

from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import (
    CONFIG_MODELS,
    DynamoDbConfig,
    EbsConfig,
    Ec2Config,
    EcsConfig,
    GenericConfig,
    LambdaConfig,
    Resource,
    ResourceConfig,
    ResourceKind,
)
from costopt.domain.service import Service
from costopt.domain.simulation import Scenario
from costopt.engine.simulation.draft import Draft, unprocessable, validation_errors
from costopt.engine.simulation.plan import ResourcePlan, SimulationPlan
from costopt.engine.simulation.templates import TEMPLATES, ActiveRecommendations, ResourceFilter
from costopt.errors import Unprocessable
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import PricingError, config_cost, generic_unit_prices


def build_plan(service: Service, scenario: Scenario, catalog: Catalog, *,
               recommendations: Callable[[list[str]], dict[str, Recommendation]] | None = None,
               active_recommendations: ActiveRecommendations | None = None,
               seed: int = 0) -> SimulationPlan:
    """Resolve ``scenario`` against ``service``. ``recommendations(ids)`` returns the found ones by id;
    ``active_recommendations()`` the service's ACTIVE ones (rightsize-all). Raises Unprocessable (422)."""
    draft = Draft(service, catalog)
    if scenario.template is not None:
        _apply_template(draft, scenario, catalog, active_recommendations)
    if scenario.recommendation_ids:
        found = recommendations(list(scenario.recommendation_ids)) if recommendations else {}
        for i, rid in enumerate(scenario.recommendation_ids):
            rec = found.get(rid)
            if rec is None or rec.service_id != service.service_id:
                raise unprocessable(f"recommendation {rid!r} does not exist for service {service.service_id!r}",
                                    ["recommendation_ids", i], "unknown recommendation")
            draft.apply_recommendation(rec, ("recommendation_ids", i))
    for i, change in enumerate(scenario.changes):
        if change.resource_id not in draft.configs:
            raise unprocessable(f"resource {change.resource_id!r} is not part of service {service.service_id!r}",
                                ["changes", i, "resource_id"], "unknown resource")
        model = CONFIG_MODELS[draft.kind(change.resource_id)]
        unknown = sorted(set(change.config) - set(model.model_fields))
        if unknown:
            raise Unprocessable(
                f"{model.__name__} has no field {', '.join(repr(u) for u in unknown)}",
                errors=[{"loc": ["changes", i, "config", u], "msg": "unknown field", "type": "extra_forbidden"}
                        for u in unknown])
        draft.update(change.resource_id, dict(change.config), ("changes", i, "config"))
    return SimulationPlan(
        service=service, resources=[_resource_plan(draft, r) for r in service.resources],
        traffic_multiplier=scenario.traffic_multiplier, growth_pct_per_month=scenario.growth_pct_per_month,
        events=draft.events, off_hours=draft.window, horizon_days=scenario.horizon_days, samples=scenario.samples,
        seed=seed, notes=draft.plan_notes, recommendation_ids=list(scenario.recommendation_ids),
    )


def _resource_plan(draft: Draft, r: Resource) -> ResourcePlan:
    config = _validated(draft, r)
    if isinstance(r.config, GenericConfig):  # unit prices it leaves unset are an estimate: say so
        estimate = generic_unit_prices(r.config, draft.catalog).note
        if estimate is not None:
            draft.notes[r.resource_id].append(f"unit prices are an {estimate}")
    return ResourcePlan(resource=r, scenario=config, off_hours=draft.off_hours.get(r.resource_id),
                        spot=r.resource_id in draft.spot or _is_spot(r.kind, config),
                        baseline_spot=_is_spot(r.kind, r.config), notes=draft.notes[r.resource_id])


def _is_spot(kind: str, config: ResourceConfig) -> bool:
    return kind == ResourceKind.ECS_SERVICE and getattr(config, "capacity", None) == "spot"


def _validated(draft: Draft, resource: Resource) -> ResourceConfig:
    model = CONFIG_MODELS[resource.kind]
    locs = draft.origin[resource.resource_id]
    loc: Sequence[str | int] = locs[-1] if locs else ("resources", resource.resource_id, "config")
    try:
        config = model.model_validate(draft.configs[resource.resource_id])
    except ValidationError as exc:
        raise Unprocessable(f"the scenario's config for {resource.resource_id!r} is not a valid "
                            f"{model.__name__}", errors=validation_errors(exc, loc)) from None
    assert isinstance(config, (LambdaConfig, EcsConfig, Ec2Config, EbsConfig, DynamoDbConfig, GenericConfig))
    if config != resource.config:
        try:
            config_cost(resource.kind, config, None, draft.catalog)
        except PricingError as exc:
            raise Unprocessable(f"{resource.resource_id}: {exc.detail}",
                                errors=[{"loc": list(loc), "msg": exc.detail, "type": "cannot_price"}]) from None
    return config


def _apply_template(draft: Draft, scenario: Scenario, catalog: Catalog,
                    active_recommendations: ActiveRecommendations | None) -> None:
    assert scenario.template is not None
    template = TEMPLATES[scenario.template.id]
    loc = ("template", "params")
    try:
        params = template.params.model_validate(scenario.template.params)
    except ValidationError as exc:
        raise Unprocessable(f"invalid parameters for template {template.id!r}",
                            errors=validation_errors(exc, loc)) from None
    if isinstance(params, ResourceFilter) and params.resource_ids:
        for i, rid in enumerate(params.resource_ids):
            if rid not in draft.configs:
                raise unprocessable(f"resource {rid!r} is not part of service {draft.service.service_id!r}",
                                    [*loc, "resource_ids", i], "unknown resource")
    template.apply(draft, params, scenario, catalog, active_recommendations)
