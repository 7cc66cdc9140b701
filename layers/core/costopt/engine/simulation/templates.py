"""The scenario templates: one registry keyed by template id, each with its parameters and how it applies.

A template edits the ``Draft`` (``draft``) before recommendation ids and explicit changes do. Pure and
numpy-free (``GET /v1/simulate/templates`` lists them without numpy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from costopt.domain.common import Model, ResourceId
from costopt.domain.ebs import (
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    GP3_MAX_IOPS,
    GP3_MAX_THROUGHPUT_MBPS,
    gp2_baseline_iops,
    gp2_max_throughput_mbps,
)
from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import GenericConfig, Resource, ResourceKind
from costopt.domain.simulation import Scenario, TemplateId, TemplateInfo
from costopt.engine.simulation.draft import Draft, unprocessable
from costopt.engine.simulation.plan import OffHours, TrafficEvent
from costopt.pricing.catalog import Catalog
from costopt.pricing.costs import fargate_spot_supported, generic_unit_prices, graviton_equivalent

ActiveRecommendations = Callable[[], list[Recommendation]]

# --------------------------------------------------------------------------- parameters


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


# --------------------------------------------------------------------------- how each applies


def _targets(draft: Draft, params: _Params, kinds: Iterable[str]) -> list[Resource]:
    wanted = set(params.resource_ids or ()) if isinstance(params, ResourceFilter) else set()
    kinds = set(kinds)
    return [r for r in draft.service.resources
            if r.kind in kinds and (not wanted or r.resource_id in wanted)]


def _rightsize_all(draft: Draft, params: Any, scenario: Scenario, catalog: Catalog,
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
            draft.apply_recommendation(rec, ("template", "params"))
    if not ordered:
        draft.plan_notes.append("rightsize-all: the service has no ACTIVE recommendations; the scenario is the "
                                "current configuration")
    else:
        draft.plan_notes.append("rightsize-all applied " + ", ".join(r.recommendation_id for r in ordered))


def _graviton(draft: Draft, params: GravitonParams, scenario: Scenario, catalog: Catalog, _a: Any) -> None:
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


def _spot(draft: Draft, params: SpotParams, scenario: Scenario, catalog: Catalog, _a: Any) -> None:
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


def _traffic_spike(draft: Draft, params: TrafficSpikeParams, scenario: Scenario, catalog: Catalog,
                   _a: Any) -> None:
    if params.day > scenario.horizon_days:
        raise unprocessable(f"day {params.day} is after the horizon of {scenario.horizon_days} days",
                             ["template", "params", "day"])
    draft.events.append(TrafficEvent(start_day=params.day - 1, days=1, factor=params.multiplier))
    draft.plan_notes.append(f"traffic-spike: traffic x{params.multiplier:g} on day {params.day}")


def _seasonal_peak(draft: Draft, params: SeasonalPeakParams, scenario: Scenario, catalog: Catalog,
                   _a: Any) -> None:
    if params.start_day > scenario.horizon_days:
        raise unprocessable(f"start_day {params.start_day} is after the horizon of {scenario.horizon_days} days",
                             ["template", "params", "start_day"])
    days = min(params.days, scenario.horizon_days - params.start_day + 1)
    draft.events.append(TrafficEvent(start_day=params.start_day - 1, days=days, factor=params.multiplier))
    draft.plan_notes.append(f"seasonal-peak: traffic x{params.multiplier:g} for {days} days from day "
                            f"{params.start_day}")


def _nights_and_weekends(draft: Draft, params: NightsAndWeekendsParams, scenario: Scenario, catalog: Catalog,
                         _a: Any) -> None:
    if params.night_start_hour == params.night_end_hour and not params.weekends:
        raise unprocessable("night_start_hour equals night_end_hour: there are no off hours",
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


def _gp3_migration(draft: Draft, params: Gp3MigrationParams, scenario: Scenario, catalog: Catalog,
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


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Template:
    id: TemplateId
    description: str
    params: type[_Params]
    apply: Callable[[Draft, Any, Scenario, Catalog, ActiveRecommendations | None], None]
    """Edits the draft with the validated ``params``."""


TEMPLATES: dict[str, Template] = {t.id: t for t in (
    Template("rightsize-all", "Apply the service's ACTIVE recommendations (rank 1 of each group).",
             RightsizeAllParams, _rightsize_all),
    Template("graviton", "Move Lambda functions and Fargate tasks to arm64 and EC2 instances to the same-size "
             "Graviton type.", GravitonParams, _graviton),
    Template("spot", "Run Fargate services on Fargate Spot and generic pools at Spot prices.", SpotParams, _spot),
    Template("traffic-spike", "Traffic x N for one day (default x2).", TrafficSpikeParams, _traffic_spike),
    Template("seasonal-peak", "Traffic x N for a week (default x3 for 7 days).", SeasonalPeakParams,
             _seasonal_peak),
    Template("nights-and-weekends", "Scale replicas (and provisioned DynamoDB capacity) down at night and on "
             "weekends; optionally stop EC2.", NightsAndWeekendsParams, _nights_and_weekends),
    Template("gp3-migration", "Move gp2, io1 and io2 EBS volumes to gp3.", Gp3MigrationParams, _gp3_migration),
)}


def template_catalog() -> list[TemplateInfo]:
    return [TemplateInfo(id=t.id, description=t.description, parameters=t.params.model_json_schema())
            for t in TEMPLATES.values()]
