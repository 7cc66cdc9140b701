"""The simulation plan: per resource the baseline and scenario configs, plus traffic, events and off hours.

What ``build.build_plan`` resolves a ``Scenario`` into and ``run.simulate`` runs. Pure and numpy-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costopt.domain.resources import Resource, ResourceConfig
from costopt.domain.service import Service


@dataclass(frozen=True)
class TrafficEvent:
    """Traffic x ``factor`` on simulated days [start_day, start_day + days) (0-based): a spike or a peak."""

    start_day: int  # 0 = the first simulated day
    days: int
    factor: float  # multiplies the traffic (on top of the plan's multiplier and growth)


@dataclass(frozen=True)
class OffHours:
    """Nights (local hour >= start or < end) and, with ``weekends``, Saturdays and Sundays."""

    start_hour: int = 20  # local hour the night starts
    end_hour: int = 7  # local hour it ends (before start: the night spans midnight)
    weekends: bool = True  # all of Saturday and Sunday are off hours too
    utc_offset_hours: int = 0  # local time = UTC + offset


@dataclass(frozen=True)
class Variant:
    """What one side (baseline or scenario) of a resource runs: its config, off-hours overrides, Spot."""

    config: ResourceConfig
    off_hours: Mapping[str, Any] | None = None
    spot: bool = False


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

    @property
    def baseline_variant(self) -> Variant:
        return Variant(self.baseline, None, self.baseline_spot)

    @property
    def scenario_variant(self) -> Variant:
        return Variant(self.scenario, self.off_hours, self.spot)


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
