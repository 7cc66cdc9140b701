"""A service's usage over a lookback: the recommendation and simulation engines' input.

Public API
----------
``usage_keys(service) -> list[(resource_id, Metric)]``: every (resource, metric) the service's resource
    kinds have, plus ``cost_usd`` and the ``_service`` cost total; ``build_usage(service, window, days)``
    assembles ``ServiceUsage`` from their day summaries (``costopt.jobs.usage.load_usage`` reads them from
    the observations store).
``usage_from_series(service: Service, series: list[Series], lookback_days: int = 14,
                    now: datetime | None = None) -> ServiceUsage``
    The same from connector output (engine tests, benchmarks). Folding follows the
    store's rules exactly (one fold per call; an hour is counted once).

``ServiceUsage`` (dataclass): ``service_id``, ``lookback_days``, ``window_start``, ``window_end``,
    ``lookback_hours``, ``resources: dict[str, ResourceUsage]`` (every resource of the service, plus any
    other resource_id found in the data such as ``_service``), ``coverage`` (min over the service's
    resources, 0-1), ``insufficient: list[InsufficientData]`` (all resources), ``sufficient: bool``,
    ``resource(resource_id) -> ResourceUsage | None``.
``ResourceUsage`` (dataclass): ``resource_id``, ``kind`` (resource kind or None), ``summaries: dict[Metric,
    MetricSummary]`` (merged day sketches: ``.quantile(q)``, ``.mean``, ``.max``, ``.count``, ``.sum``),
    ``hourly: dict[Metric, list[HourlyAggregate]]`` (sorted by hour, inside the window),
    ``metric_hours: dict[Metric, int]`` (hours with data per metric), ``period_s: dict[Metric, int]``,
    ``hours_covered`` (hours in which every required metric of the kind has data; for kinds without
    required metrics, hours in which any non-cost metric has data), ``lookback_hours``, ``coverage``
    (hours_covered / lookback_hours, 0-1), ``window_start``, ``window_end``,
    ``insufficient: list[InsufficientData]`` (one per required metric under 30 hours, naming the hours
    available vs required), ``sufficient: bool``; helpers ``quantile(metric, q) -> float | None``,
    ``mean(metric) -> float | None``, ``max(metric) -> float | None``, ``has(metric) -> bool``.

Pure dataclasses; numpy-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from costopt import clock
from costopt.domain.metrics import METRICS_BY_KIND, REQUIRED_METRICS, SERVICE_TOTAL
from costopt.domain.observation import HourlyAggregate, Metric, Series
from costopt.domain.recommendation import InsufficientData
from costopt.domain.service import Service
from costopt.observe.sketch import DaySummary, MetricSummary, group_by_day
from costopt.observe.window import DEFAULT_LOOKBACK_DAYS, MIN_HOURS, Window, insufficient, merge_days


@dataclass
class ResourceUsage:
    resource_id: str
    kind: str | None
    window_start: datetime
    window_end: datetime
    lookback_hours: int
    summaries: dict[Metric, MetricSummary] = field(default_factory=dict)
    hourly: dict[Metric, list[HourlyAggregate]] = field(default_factory=dict)
    metric_hours: dict[Metric, int] = field(default_factory=dict)
    period_s: dict[Metric, int] = field(default_factory=dict)
    hours_covered: int = 0
    coverage: float = 0.0
    insufficient: list[InsufficientData] = field(default_factory=list)

    @property
    def sufficient(self) -> bool:
        return not self.insufficient

    def has(self, metric: Metric) -> bool:
        s = self.summaries.get(metric)
        return bool(s and s.count)

    def quantile(self, metric: Metric, q: float) -> float | None:
        s = self.summaries.get(metric)
        return s.quantile(q) if s else None

    def mean(self, metric: Metric) -> float | None:
        s = self.summaries.get(metric)
        return s.mean if s else None

    def max(self, metric: Metric) -> float | None:
        s = self.summaries.get(metric)
        return s.max if s else None


@dataclass
class ServiceUsage:
    service_id: str
    lookback_days: int
    window_start: datetime
    window_end: datetime
    lookback_hours: int
    resources: dict[str, ResourceUsage] = field(default_factory=dict)
    coverage: float = 0.0
    insufficient: list[InsufficientData] = field(default_factory=list)

    @property
    def sufficient(self) -> bool:
        return not self.insufficient

    def resource(self, resource_id: str) -> ResourceUsage | None:
        return self.resources.get(resource_id)


def metrics_for(kind: str | None) -> tuple[Metric, ...]:
    """Every metric stored for a resource of ``kind`` (its telemetry metrics and cost_usd)."""
    return (*METRICS_BY_KIND.get(kind or "", ()), Metric.COST_USD)


def usage_keys(service: Service) -> list[tuple[str, Metric]]:
    """The (resource_id, metric) pairs a service's usage is built from (``jobs.usage.load_usage`` reads them)."""
    keys = [(r.resource_id, m) for r in service.resources for m in metrics_for(r.kind)]
    keys.append((SERVICE_TOTAL, Metric.COST_USD))
    return keys


def usage_from_series(service: Service, series: list[Series], lookback_days: int = DEFAULT_LOOKBACK_DAYS,
                      now: datetime | None = None) -> ServiceUsage:
    window = Window.ending(now or clock.now(), lookback_days)
    wanted_days = set(window.days)
    days: dict[tuple[str, Metric], list[DaySummary]] = {}
    for (rid, metric, day), (period_s, points) in group_by_day(series).items():
        if day not in wanted_days:
            continue
        d = DaySummary(day=day, period_s=period_s)
        d.fold(points, period_s)
        days.setdefault((rid, metric), []).append(d)
    return build_usage(service, window, days)


def build_usage(service: Service, window: Window,
                days: dict[tuple[str, Metric], list[DaySummary]]) -> ServiceUsage:
    """Assemble ServiceUsage from day summaries keyed by (resource_id, metric)."""
    lookback_hours = window.hours
    kinds: dict[str, str | None] = {r.resource_id: r.kind for r in service.resources}
    for rid, _ in days:
        kinds.setdefault(rid, None)

    by_resource: dict[str, dict[Metric, list[DaySummary]]] = {rid: {} for rid in kinds}
    for (rid, metric), items in days.items():
        by_resource[rid][metric] = list(items)

    usage = ServiceUsage(service_id=service.service_id, lookback_days=window.lookback_days,
                         window_start=window.start, window_end=window.end, lookback_hours=lookback_hours)
    coverages: list[float] = []
    for rid, kind in kinds.items():
        ru = _resource_usage(rid, kind, window, by_resource.get(rid, {}))
        usage.resources[rid] = ru
        usage.insufficient.extend(ru.insufficient)
        if kind is not None:
            coverages.append(ru.coverage)
    usage.coverage = min(coverages) if coverages else 0.0
    return usage


def _resource_usage(rid: str, kind: str | None, window: Window,
                    metrics: dict[Metric, list[DaySummary]]) -> ResourceUsage:
    ru = ResourceUsage(resource_id=rid, kind=kind, window_start=window.start, window_end=window.end,
                       lookback_hours=window.hours)
    hour_sets: dict[Metric, set[datetime]] = {}
    for metric, items in metrics.items():
        wm = merge_days(items, window, metric)
        ru.summaries[metric] = wm.summary
        ru.hourly[metric] = wm.hourly
        ru.metric_hours[metric] = len(wm.hours)
        ru.period_s[metric] = wm.period_s
        hour_sets[metric] = wm.hours
    required = REQUIRED_METRICS.get(kind or "", ())
    covered: set[datetime]
    if required:
        sets = [hour_sets.get(m, set()) for m in required]
        covered = set.intersection(*sets) if sets else set()
    else:
        covered = set().union(*(h for m, h in hour_sets.items() if m != Metric.COST_USD))
    ru.hours_covered = len(covered)
    ru.coverage = min(1.0, ru.hours_covered / window.hours) if window.hours else 0.0
    for m in required:
        gap = insufficient(rid, m.value, len(hour_sets.get(m, ())), MIN_HOURS)
        if gap is not None:
            ru.insufficient.append(gap)
    return ru

