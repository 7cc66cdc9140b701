"""From a ``Scenario`` to a ``SimulationPlan``: templates, recommendation ids and config changes.

Pure and numpy-free (the plan is built before numpy is needed; ``GET /v1/simulate/templates``
never imports numpy). Order of application, later wins on the same field:
template -> recommendation_ids -> changes. Every resulting config is validated with its kind's
config model and priced once, so a config AWS does not sell is a 422 naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationError

from costopt.domain.common import Model, ResourceId
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
from costopt.domain.simulation import Scenario, TemplateId, TemplateInfo
from costopt.errors import Unprocessable
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    PricingError,
    config_cost,
    fargate_spot_supported,
    generic_unit_prices,
    gp2_baseline_iops,
    gp2_max_throughput_mbps,
    graviton_equivalent,
)

GP3_MAX_IOPS = 16_000
GP3_MAX_THROUGHPUT_MBPS = 1_000


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class TrafficEvent:
    """Traffic x ``factor`` on simulated days [start_day, start_day + days) (0-based)."""

    start_day: int
    days: int
    factor: float


@dataclass(frozen=True)
class OffHours:
    """Nights (local hour >= start or < end) and, with ``weekends``, Saturdays and Sundays."""

    start_hour: int = 20
    end_hour: int = 7
    weekends: bool = True
    utc_offset_hours: int = 0


@dataclass
class ResourcePlan:
    resource: Resource
    scenario: ResourceConfig
    off_hours: dict[str, Any] | None = None
    """Field overrides of ``scenario`` during off hours (count, min, rcu/wcu, ``running`` for EC2)."""
    spot: bool = False
    """Scenario runs on Spot capacity (Fargate Spot, or a generic pool priced at Spot rates)."""
    baseline_spot: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def resource_id(self) -> str:
        return self.resource.resource_id

    @property
    def baseline(self) -> ResourceConfig:
        return self.resource.config

    @property
    def changed(self) -> bool:
        return (self.scenario != self.resource.config or bool(self.off_hours)
                or self.spot != self.baseline_spot)


@dataclass
class SimulationPlan:
    service: Service
    resources: list[ResourcePlan]
    traffic_multiplier: float = 1.0
    growth_pct_per_month: float = 0.0
    events: list[TrafficEvent] = field(default_factory=list)
    off_hours: OffHours | None = None
    horizon_days: int = 30
    samples: int = 1000
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    recommendation_ids: list[str] = field(default_factory=list)

    def resource(self, resource_id: str) -> ResourcePlan | None:
        return next((p for p in self.resources if p.resource_id == resource_id), None)


# --------------------------------------------------------------------------- template parameters


class _Params(Model):
    pass


class ResourceFilter(_Params):
    resource_ids: list[ResourceId] | None = Field(
        default=None, max_length=100, description="Only these resources (default: every resource it applies to)")


class RightsizeAllParams(_Params):
    max_performance_risk: int = Field(default=4, ge=0, le=4,
                                      description="Skip recommendations riskier than this (0 very low - 4 very high)")
    include_disruptive: bool = Field(default=True, description="Include disruptive actions (EC2 resize)")


class GravitonParams(ResourceFilter):
    include_ec2: bool = Field(default=True, description="Move EC2 instances to the same-size Graviton type")


class SpotParams(ResourceFilter):
    generic_discount_pct: float = Field(default=70.0, ge=0, le=90,
                                        description="Spot discount applied to generic pools' unit prices")


class TrafficSpikeParams(_Params):
    multiplier: float = Field(default=2.0, ge=1, le=100, description="Traffic factor during the spike day")
    day: int = Field(default=1, ge=1, le=90, description="Which simulated day (1 = the first)")


class SeasonalPeakParams(_Params):
    multiplier: float = Field(default=3.0, ge=1, le=100, description="Traffic factor during the peak")
    start_day: int = Field(default=1, ge=1, le=90, description="First simulated day of the peak (1-based)")
    days: int = Field(default=7, ge=1, le=90, description="Length of the peak in days")


class NightsAndWeekendsParams(ResourceFilter):
    night_start_hour: int = Field(default=20, ge=0, le=23, description="Local hour the night starts")
    night_end_hour: int = Field(default=7, ge=0, le=23, description="Local hour the night ends")
    weekends: bool = Field(default=True, description="Scale down all of Saturday and Sunday too")
    utc_offset_hours: int = Field(default=0, ge=-12, le=14, description="Local time = UTC + offset")
    keep_fraction: float = Field(default=0.5, ge=0, le=1, description="Share of capacity kept off-hours")
    min_replicas: int | None = Field(default=None, ge=0, le=1000,
                                     description="Never fewer replicas than this off-hours (default: the SLA's "
                                                 "min_replicas, 2 when availability_pct >= 99.9, else 1)")
    stop_ec2: bool = Field(default=False, description="Stop EC2 instances off-hours")


class Gp3MigrationParams(ResourceFilter):
    performance: Literal["baseline", "match"] = Field(
        default="baseline",
        description="baseline: gp3's included 3,000 IOPS / 125 MB/s; match: provision what the volume has now")


@dataclass(frozen=True)
class Template:
    id: TemplateId
    description: str
    params: type[_Params]


TEMPLATES: dict[str, Template] = {t.id: t for t in (
    Template("rightsize-all", "Apply the service's ACTIVE recommendations (rank 1 of each group).",
             RightsizeAllParams),
    Template("graviton", "Move Lambda functions and Fargate tasks to arm64 and EC2 instances to the same-size "
             "Graviton type.", GravitonParams),
    Template("spot", "Run Fargate services on Fargate Spot and generic pools at Spot prices.", SpotParams),
    Template("traffic-spike", "Traffic x N for one day (default x2).", TrafficSpikeParams),
    Template("seasonal-peak", "Traffic x N for a week (default x3 for 7 days).", SeasonalPeakParams),
    Template("nights-and-weekends", "Scale replicas (and provisioned DynamoDB capacity) down at night and on "
             "weekends; optionally stop EC2.", NightsAndWeekendsParams),
    Template("gp3-migration", "Move gp2, io1 and io2 EBS volumes to gp3.", Gp3MigrationParams),
)}


def template_catalog() -> list[TemplateInfo]:
    return [TemplateInfo(id=t.id, description=t.description, parameters=t.params.model_json_schema())
            for t in TEMPLATES.values()]


# --------------------------------------------------------------------------- errors


def _errors(exc: ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def _unprocessable(detail: str, loc: Sequence[str | int], msg: str | None = None) -> Unprocessable:
    return Unprocessable(detail, errors=[{"loc": list(loc), "msg": msg or detail, "type": "value_error"}])


# --------------------------------------------------------------------------- building the plan


class _Draft:
    """Scenario configs as dicts while templates, recommendations and changes are merged."""

    def __init__(self, service: Service, catalog: Catalog) -> None:
        self.service = service
        self.catalog = catalog
        self.configs: dict[str, dict[str, Any]] = {r.resource_id: r.config.model_dump() for r in service.resources}
        self.origin: dict[str, list[Sequence[str | int]]] = {r.resource_id: [] for r in service.resources}
        self.off_hours: dict[str, dict[str, Any]] = {}
        self.spot: set[str] = set()
        self.notes: dict[str, list[str]] = {r.resource_id: [] for r in service.resources}
        self.plan_notes: list[str] = []
        self.events: list[TrafficEvent] = []
        self.window: OffHours | None = None

    def update(self, resource_id: str, values: dict[str, Any], loc: Sequence[str | int]) -> None:
        self.configs[resource_id].update(values)
        self.origin[resource_id].append(loc)


def build_plan(service: Service, scenario: Scenario, catalog: Catalog, *,
               recommendations: Callable[[list[str]], dict[str, Recommendation]] | None = None,
               active_recommendations: Callable[[], list[Recommendation]] | None = None,
               seed: int = 0) -> SimulationPlan:
    """Resolve ``scenario`` against ``service``. ``recommendations(ids)`` returns the found ones by id;
    ``active_recommendations()`` the service's ACTIVE ones (rightsize-all). Raises Unprocessable (422)."""
    draft = _Draft(service, catalog)
    if scenario.template is not None:
        _apply_template(draft, scenario, catalog, active_recommendations)
    if scenario.recommendation_ids:
        found = recommendations(list(scenario.recommendation_ids)) if recommendations else {}
        for i, rid in enumerate(scenario.recommendation_ids):
            rec = found.get(rid)
            if rec is None or rec.service_id != service.service_id:
                raise _unprocessable(f"recommendation {rid!r} does not exist for service {service.service_id!r}",
                                     ["recommendation_ids", i], "unknown recommendation")
            _apply_recommendation(draft, rec, ("recommendation_ids", i))
    for i, change in enumerate(scenario.changes):
        if change.resource_id not in draft.configs:
            raise _unprocessable(f"resource {change.resource_id!r} is not part of service {service.service_id!r}",
                                 ["changes", i, "resource_id"], "unknown resource")
        model = CONFIG_MODELS[_kind(service, change.resource_id)]
        unknown = sorted(set(change.config) - set(model.model_fields))
        if unknown:
            raise Unprocessable(
                f"{model.__name__} has no field {', '.join(repr(u) for u in unknown)}",
                errors=[{"loc": ["changes", i, "config", u], "msg": "unknown field", "type": "extra_forbidden"}
                        for u in unknown])
        draft.update(change.resource_id, dict(change.config), ("changes", i, "config"))

    resources: list[ResourcePlan] = []
    for r in service.resources:
        config = _validated(draft, r)
        if isinstance(r.config, GenericConfig):  # unit prices it leaves unset are an estimate: say so
            estimate = generic_unit_prices(r.config, catalog).note
            if estimate is not None:
                draft.notes[r.resource_id].append(f"unit prices are an {estimate}")
        baseline_spot = _is_spot(r.kind, r.config)
        spot = r.resource_id in draft.spot or _is_spot(r.kind, config)
        resources.append(ResourcePlan(resource=r, scenario=config, off_hours=draft.off_hours.get(r.resource_id),
                                      spot=spot, baseline_spot=baseline_spot, notes=draft.notes[r.resource_id]))
    return SimulationPlan(
        service=service, resources=resources, traffic_multiplier=scenario.traffic_multiplier,
        growth_pct_per_month=scenario.growth_pct_per_month, events=draft.events, off_hours=draft.window,
        horizon_days=scenario.horizon_days, samples=scenario.samples, seed=seed, notes=draft.plan_notes,
        recommendation_ids=list(scenario.recommendation_ids),
    )


def _kind(service: Service, resource_id: str) -> str:
    resource = service.resource(resource_id)
    assert resource is not None
    return resource.kind


def _is_spot(kind: str, config: ResourceConfig) -> bool:
    return kind == ResourceKind.ECS_SERVICE and getattr(config, "capacity", None) == "spot"


def _validated(draft: _Draft, resource: Resource) -> ResourceConfig:
    model = CONFIG_MODELS[resource.kind]
    locs = draft.origin[resource.resource_id]
    loc: Sequence[str | int] = locs[-1] if locs else ("resources", resource.resource_id, "config")
    try:
        config = model.model_validate(draft.configs[resource.resource_id])
    except ValidationError as exc:
        raise Unprocessable(f"the scenario's config for {resource.resource_id!r} is not a valid "
                            f"{model.__name__}", errors=_errors(exc, loc)) from None
    assert isinstance(config, (LambdaConfig, EcsConfig, Ec2Config, EbsConfig, DynamoDbConfig, GenericConfig))
    if config != resource.config:
        try:
            config_cost(resource.kind, config, None, draft.catalog)
        except PricingError as exc:
            raise Unprocessable(f"{resource.resource_id}: {exc.detail}",
                                errors=[{"loc": list(loc), "msg": exc.detail, "type": "cannot_price"}]) from None
    return config


def _apply_recommendation(draft: _Draft, rec: Recommendation, loc: Sequence[str | int]) -> None:
    if rec.resource_id not in draft.configs:
        raise _unprocessable(f"recommendation {rec.recommendation_id!r} is for resource {rec.resource_id!r}, "
                             "which the service no longer has", [*loc])
    diff = {k: v for k, v in rec.proposed.items() if rec.current.get(k) != v}
    model = CONFIG_MODELS[_kind(draft.service, rec.resource_id)]
    diff = {k: v for k, v in diff.items() if k in model.model_fields}
    draft.update(rec.resource_id, diff, loc)
    draft.notes[rec.resource_id].append(f"recommendation {rec.recommendation_id} ({rec.action})")


# --------------------------------------------------------------------------- templates


def _apply_template(draft: _Draft, scenario: Scenario, catalog: Catalog,
                    active_recommendations: Callable[[], list[Recommendation]] | None) -> None:
    assert scenario.template is not None
    template = TEMPLATES[scenario.template.id]
    loc = ("template", "params")
    try:
        params = template.params.model_validate(scenario.template.params)
    except ValidationError as exc:
        raise Unprocessable(f"invalid parameters for template {template.id!r}", errors=_errors(exc, loc)) from None
    if isinstance(params, ResourceFilter) and params.resource_ids:
        for i, rid in enumerate(params.resource_ids):
            if rid not in draft.configs:
                raise _unprocessable(f"resource {rid!r} is not part of service {draft.service.service_id!r}",
                                     [*loc, "resource_ids", i], "unknown resource")
    APPLY[template.id](draft, params, scenario, catalog, active_recommendations)


def _targets(draft: _Draft, params: _Params, kinds: Iterable[str]) -> list[Resource]:
    wanted = set(params.resource_ids or ()) if isinstance(params, ResourceFilter) else set()
    kinds = set(kinds)
    return [r for r in draft.service.resources
            if r.kind in kinds and (not wanted or r.resource_id in wanted)]


def _rightsize_all(draft: _Draft, params: Any, scenario: Scenario, catalog: Catalog,
                   active: Callable[[], list[Recommendation]] | None) -> None:
    recs = [r for r in (active() if active else []) if r.status == "ACTIVE"]
    chosen: dict[tuple[str, str], Recommendation] = {}
    for rec in recs:
        if rec.performance_risk > params.max_performance_risk or (rec.disruptive and not params.include_disruptive):
            continue
        key = (rec.resource_id, rec.xor_group)
        best = chosen.get(key)
        if best is None or (rec.rank, -rec.monthly_savings_usd) < (best.rank, -best.monthly_savings_usd):
            chosen[key] = rec
    # the biggest saving applies last, so it wins a field two groups both change
    ordered = sorted(chosen.values(), key=lambda r: (r.monthly_savings_usd, r.recommendation_id))
    for rec in ordered:
        if rec.resource_id in draft.configs:
            _apply_recommendation(draft, rec, ("template", "params"))
    if not ordered:
        draft.plan_notes.append("rightsize-all: the service has no ACTIVE recommendations; the scenario is the "
                                "current configuration")
    else:
        draft.plan_notes.append("rightsize-all applied " + ", ".join(r.recommendation_id for r in ordered))


def _graviton(draft: _Draft, params: GravitonParams, scenario: Scenario, catalog: Catalog, _a: Any) -> None:
    kinds = (ResourceKind.LAMBDA_FUNCTION, ResourceKind.ECS_SERVICE, ResourceKind.EC2_INSTANCE)
    for r in _targets(draft, params, kinds):
        cfg = draft.configs[r.resource_id]
        if r.kind == ResourceKind.LAMBDA_FUNCTION:
            draft.update(r.resource_id, {"architecture": "arm64"}, ("template", "params"))
        elif r.kind == ResourceKind.ECS_SERVICE:
            if cfg.get("capacity") == "spot" and not fargate_spot_supported(catalog, "arm64"):
                draft.notes[r.resource_id].append("kept x86_64: Fargate Spot does not offer arm64")
                continue
            draft.update(r.resource_id, {"architecture": "arm64"}, ("template", "params"))
        elif params.include_ec2:
            target = graviton_equivalent(str(cfg["instance_type"]), catalog)
            if target is None:
                draft.notes[r.resource_id].append(f"no Graviton equivalent of {cfg['instance_type']} in the catalog")
                continue
            draft.update(r.resource_id, {"instance_type": target}, ("template", "params"))
    draft.plan_notes.append("graviton: arm64 assumed to run the workload at the same per-vCPU speed and duration")


def _spot(draft: _Draft, params: SpotParams, scenario: Scenario, catalog: Catalog, _a: Any) -> None:
    for r in _targets(draft, params, (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC, ResourceKind.EC2_INSTANCE)):
        cfg = draft.configs[r.resource_id]
        if r.kind == ResourceKind.ECS_SERVICE:
            if not fargate_spot_supported(catalog, cfg.get("architecture", "x86_64")):
                draft.notes[r.resource_id].append(f"kept on-demand: Fargate Spot does not offer {cfg['architecture']}")
                continue
            draft.update(r.resource_id, {"capacity": "spot"}, ("template", "params"))
        elif r.kind == ResourceKind.GENERIC:
            keep = 1.0 - params.generic_discount_pct / 100.0
            unit = generic_unit_prices(GenericConfig.model_validate(cfg), catalog)
            draft.update(r.resource_id, {
                "price_per_core_hour_usd": unit.core_hour_usd * keep,
                "price_per_gb_hour_usd": unit.gb_hour_usd * keep,
            }, ("template", "params"))
            draft.spot.add(r.resource_id)
            draft.notes[r.resource_id].append(f"unit prices at a {params.generic_discount_pct:g}% Spot discount")
        else:
            draft.notes[r.resource_id].append("EC2 Spot is not simulated (the catalog has no Spot prices)")
    draft.plan_notes.append(f"spot: Fargate Spot at the catalog's {catalog.fargate.spot_discount:.0%} discount "
                            f"({catalog.fargate.spot.cite()}); "
                            "interruptions are not modelled beyond the availability clause")


def _traffic_spike(draft: _Draft, params: TrafficSpikeParams, scenario: Scenario, catalog: Catalog,
                   _a: Any) -> None:
    if params.day > scenario.horizon_days:
        raise _unprocessable(f"day {params.day} is after the horizon of {scenario.horizon_days} days",
                             ["template", "params", "day"])
    draft.events.append(TrafficEvent(start_day=params.day - 1, days=1, factor=params.multiplier))
    draft.plan_notes.append(f"traffic-spike: traffic x{params.multiplier:g} on day {params.day}")


def _seasonal_peak(draft: _Draft, params: SeasonalPeakParams, scenario: Scenario, catalog: Catalog,
                   _a: Any) -> None:
    if params.start_day > scenario.horizon_days:
        raise _unprocessable(f"start_day {params.start_day} is after the horizon of {scenario.horizon_days} days",
                             ["template", "params", "start_day"])
    days = min(params.days, scenario.horizon_days - params.start_day + 1)
    draft.events.append(TrafficEvent(start_day=params.start_day - 1, days=days, factor=params.multiplier))
    draft.plan_notes.append(f"seasonal-peak: traffic x{params.multiplier:g} for {days} days from day "
                            f"{params.start_day}")


def _nights_and_weekends(draft: _Draft, params: NightsAndWeekendsParams, scenario: Scenario, catalog: Catalog,
                         _a: Any) -> None:
    if params.night_start_hour == params.night_end_hour and not params.weekends:
        raise _unprocessable("night_start_hour equals night_end_hour: there are no off hours",
                             ["template", "params", "night_end_hour"])
    draft.window = OffHours(start_hour=params.night_start_hour, end_hour=params.night_end_hour,
                            weekends=params.weekends, utc_offset_hours=params.utc_offset_hours)

    floor = params.min_replicas if params.min_replicas is not None else draft.service.sla.effective_min_replicas

    def keep(n: int) -> int:
        return min(n, max(floor, math.ceil(n * params.keep_fraction)))

    kinds = (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC, ResourceKind.EC2_INSTANCE, ResourceKind.DYNAMODB_TABLE)
    for r in _targets(draft, params, kinds):
        cfg = draft.configs[r.resource_id]
        off: dict[str, Any] = {}
        if r.kind in (ResourceKind.ECS_SERVICE, ResourceKind.GENERIC):
            count, lo, hi = (("desired_count", "min_count", "max_count") if r.kind == ResourceKind.ECS_SERVICE
                             else ("replicas", "min_replicas", "max_replicas"))
            if cfg.get(hi) is not None and (cfg.get(lo) or 0) < cfg[hi]:
                off[lo] = keep(int(cfg.get(lo) or 1))
            else:
                off[count] = keep(int(cfg[count]))
        elif r.kind == ResourceKind.EC2_INSTANCE:
            if params.stop_ec2:
                off["running"] = False
        elif cfg.get("billing_mode") == "PROVISIONED":
            off["rcu"] = max(1, math.ceil(int(cfg["rcu"]) * params.keep_fraction))
            off["wcu"] = max(1, math.ceil(int(cfg["wcu"]) * params.keep_fraction))
        off = {k: v for k, v in off.items() if cfg.get(k, True) != v}
        if off:
            draft.off_hours[r.resource_id] = off
            draft.notes[r.resource_id].append("off hours: " + ", ".join(f"{k}={v}" for k, v in off.items()))
    days = "and weekends " if params.weekends else ""
    draft.plan_notes.append(
        f"nights-and-weekends: off hours {params.night_start_hour:02d}:00-{params.night_end_hour:02d}:00 "
        f"{days}(UTC{params.utc_offset_hours:+d}); scheduled scaling assumed instantaneous")


def _gp3_migration(draft: _Draft, params: Gp3MigrationParams, scenario: Scenario, catalog: Catalog,
                   _a: Any) -> None:
    for r in _targets(draft, params, (ResourceKind.EBS_VOLUME,)):
        cfg = draft.configs[r.resource_id]
        vtype = cfg["volume_type"]
        if vtype not in ("gp2", "io1", "io2"):
            continue
        size = float(cfg["size_gb"])
        if params.performance == "match":
            iops_now = gp2_baseline_iops(size) if vtype == "gp2" else float(cfg.get("iops") or GP3_BASELINE_IOPS)
            tp_now = gp2_max_throughput_mbps(size) if vtype == "gp2" else float(cfg.get("throughput_mbps") or 0)
            iops = int(min(GP3_MAX_IOPS, max(GP3_BASELINE_IOPS, iops_now)))
            tp = int(min(GP3_MAX_THROUGHPUT_MBPS, max(GP3_BASELINE_THROUGHPUT_MBPS, tp_now)))
        else:
            iops, tp = GP3_BASELINE_IOPS, GP3_BASELINE_THROUGHPUT_MBPS
        draft.update(r.resource_id, {"volume_type": "gp3", "iops": iops, "throughput_mbps": tp},
                     ("template", "params"))
    draft.plan_notes.append(f"gp3-migration: gp3 at {params.performance} performance")


APPLY: dict[str, Callable[..., None]] = {
    "rightsize-all": _rightsize_all,
    "graviton": _graviton,
    "spot": _spot,
    "traffic-spike": _traffic_spike,
    "seasonal-peak": _seasonal_peak,
    "nights-and-weekends": _nights_and_weekends,
    "gp3-migration": _gp3_migration,
}
