"""The interfaces every telemetry and billing source implements, and the registry that picks one.

Public API
----------
``class TelemetrySource(ABC)``
    ``name: ClassVar[str]`` (e.g. "cloudwatch")
    ``serves: ClassVar[Mapping[str, tuple[Metric, ...]] | None]`` — what the source can return, per resource
    kind (canonical metrics, a subset of ``METRICS_BY_KIND[kind]``); a kind it does not list gets nothing.
    Every connector declares it once, next to its queries; ``None`` (undeclared, e.g. a test double) means
    "asked for every resource". PUT /v1/services refuses (422) a resource whose kind the configured
    source does not serve (``check_serves``), and the pull reports such resources as ``unserved``.
    ``fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]`` — every point with
    ``start <= t < end`` (UTC, tz-aware) for every resource of the service, one ``Series`` per
    (resource_id, metric), canonical metric names of ``METRICS_BY_KIND`` (a source may omit metrics it
    does not have, e.g. Lambda Insights). Values: counts per period (requests, errors, throttles),
    p99 per period (duration_ms, latency_ms, stat="p99"), averages otherwise (percentages 0-100,
    consumed_rcu/wcu per second). Raises ``costopt.errors.ConnectorError`` on failure, never fabricates.
``class BillingSource(ABC)``
    ``name: ClassVar[str]``
    ``fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]`` — metric
    ``cost_usd``, ``stat="sum"``, ``period_s=86400``, one point per complete UTC day (t = 00:00 UTC) per
    resource_id, or ``SERVICE_TOTAL`` ("_service") for cost that is not attributed to a resource.

``source_for(service: Service) -> TelemetrySource`` by ``service.telemetry.source``
``billing_for(service: Service) -> BillingSource`` by ``service.billing.source``
    Lazy imports: cloudwatch → costopt.connectors.cloudwatch.CloudWatchTelemetry, prometheus →
    costopt.connectors.prometheus.PrometheusTelemetry, synthetic → costopt.connectors.synthetic
    .SyntheticTelemetry; cost_explorer → costopt.connectors.cost_explorer.CostExplorerBilling,
    http → costopt.connectors.billing_http.HttpBilling, focus_csv → costopt.connectors.focus.FocusCsvBilling,
    synthetic → costopt.connectors.synthetic.SyntheticBilling. Classes are built with no arguments, once
    per process (cached). A missing module/class raises ``ConnectorError(source, ...)``.
``register_telemetry(name, factory)`` / ``register_billing(name, factory)`` — override (tests).
``telemetry_sources() -> list[str]`` — the telemetry source names (``Telemetry.source`` values), sorted.
``served_kinds(source: str) -> Mapping[str, tuple[Metric, ...]] | None`` — that source's ``serves``.
``serves(source: str, kind: str) -> bool`` — can ``source`` return anything for a resource of ``kind``.
``sources_serving(kind: str) -> list[str]`` — the telemetry sources that can serve ``kind``, sorted.
``check_serves(spec: ServiceSpec) -> None`` — raises ``Unprocessable`` (422) naming each resource whose kind
    ``spec.telemetry.source`` cannot serve (loc ``body.resources.<i>.kind``, with the sources that could), and
    each ``telemetry.prometheus.queries`` key that is not a canonical metric.

``METRICS_BY_KIND: dict[str, tuple[Metric, ...]]`` — what a telemetry source should return per kind.
``REQUIRED_METRICS: dict[str, tuple[Metric, ...]]`` — what data sufficiency checks per kind.
``METRIC_STAT: dict[Metric, str]`` — the stat each canonical metric carries.
``SERVICE_TOTAL = "_service"``; ``TELEMETRY = "telemetry"``, ``BILLING = "billing"`` (watermark/freshness keys).
``check_window(start, end) -> tuple[datetime, datetime]`` — UTC-normalises, raises BadRequest if start >= end.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from costopt.domain.metrics import METRICS_BY_KIND as METRICS_BY_KIND  # re-exported: domain constants
from costopt.domain.metrics import REQUIRED_METRICS as REQUIRED_METRICS
from costopt.domain.metrics import SERVICE_TOTAL as SERVICE_TOTAL
from costopt.domain.observation import Metric, Series
from costopt.domain.service import Service, ServiceSpec
from costopt.errors import BadRequest, ConnectorError, Unprocessable

TELEMETRY = "telemetry"
BILLING = "billing"

METRIC_STAT: dict[Metric, str] = {
    Metric.REQUESTS: "sum",
    Metric.ERRORS: "sum",
    Metric.THROTTLES: "sum",
    Metric.LATENCY_MS: "p99",
    Metric.DURATION_MS: "p99",
    Metric.DURATION_MEAN_MS: "avg",
    Metric.INIT_MS: "sum",
    Metric.CPU_PCT: "avg",
    Metric.MEMORY_PCT: "avg",
    Metric.CPU_TIME_MS: "avg",
    Metric.CONCURRENCY: "max",
    Metric.IOPS: "avg",
    Metric.THROUGHPUT_MBPS: "avg",
    Metric.CONSUMED_RCU: "avg",
    Metric.CONSUMED_WCU: "avg",
    Metric.COST_USD: "sum",
}


def check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    s = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    e = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    if s >= e:
        raise BadRequest(f"start {s.isoformat()} must be before end {e.isoformat()}")
    return s, e


class TelemetrySource(ABC):
    name: ClassVar[str] = "telemetry"
    # kind -> the canonical metrics this source can return for it (None: undeclared, asked for everything)
    serves: ClassVar[Mapping[str, tuple[Metric, ...]] | None] = None

    @abstractmethod
    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        """Every point in [start, end) of every resource of ``service``."""


class BillingSource(ABC):
    name: ClassVar[str] = "billing"

    @abstractmethod
    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        """Daily ``cost_usd`` per resource (or ``SERVICE_TOTAL``) for complete days in [start, end)."""


_TELEMETRY_CLASSES: dict[str, str] = {
    "cloudwatch": "costopt.connectors.cloudwatch:CloudWatchTelemetry",
    "prometheus": "costopt.connectors.prometheus:PrometheusTelemetry",
    "synthetic": "costopt.connectors.synthetic:SyntheticTelemetry",
}
_BILLING_CLASSES: dict[str, str] = {
    "cost_explorer": "costopt.connectors.cost_explorer:CostExplorerBilling",
    "http": "costopt.connectors.billing_http:HttpBilling",
    "focus_csv": "costopt.connectors.focus:FocusCsvBilling",
    "synthetic": "costopt.connectors.synthetic:SyntheticBilling",
}

_factories: dict[tuple[str, str], Callable[[], object]] = {}
_instances: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def register_telemetry(name: str, factory: Callable[[], TelemetrySource] | None) -> None:
    """Use ``factory`` for telemetry source ``name`` (None restores the default)."""
    _register(TELEMETRY, name, factory)


def register_billing(name: str, factory: Callable[[], BillingSource] | None) -> None:
    """Use ``factory`` for billing source ``name`` (None restores the default)."""
    _register(BILLING, name, factory)


def _register(family: str, name: str, factory: Callable[[], object] | None) -> None:
    with _lock:
        _instances.pop((family, name), None)
        if factory is None:
            _factories.pop((family, name), None)
        else:
            _factories[(family, name)] = factory


def _load(family: str, name: str, table: dict[str, str]) -> object:
    key = (family, name)
    with _lock:
        if key in _instances:
            return _instances[key]
        factory = _factories.get(key)
        if factory is None:
            target = table.get(name)
            if target is None:
                raise ConnectorError(name, f"unknown {family} source {name!r}", retryable=False)
            module_name, cls_name = target.split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                raise ConnectorError(name, f"{family} connector {module_name} is not available",
                                     retryable=False) from None
            cls = getattr(module, cls_name, None)
            if cls is None:
                raise ConnectorError(name, f"{module_name} has no {cls_name}", retryable=False)
            factory = cls
        instance = factory()
        _instances[key] = instance
        return instance


def source_for(service: Service) -> TelemetrySource:
    src = _load(TELEMETRY, service.telemetry.source, _TELEMETRY_CLASSES)
    assert isinstance(src, TelemetrySource), f"{src!r} is not a TelemetrySource"
    return src


def billing_for(service: Service) -> BillingSource:
    src = _load(BILLING, service.billing.source, _BILLING_CLASSES)
    assert isinstance(src, BillingSource), f"{src!r} is not a BillingSource"
    return src


# --------------------------------------------------------------------------- what a source can serve


def telemetry_sources() -> list[str]:
    with _lock:
        registered = {name for family, name in _factories if family == TELEMETRY}
    return sorted(set(_TELEMETRY_CLASSES) | registered)


def served_kinds(source: str) -> Mapping[str, tuple[Metric, ...]] | None:
    """The ``serves`` declaration of telemetry source ``source`` (None when it declares none)."""
    return getattr(_load(TELEMETRY, source, _TELEMETRY_CLASSES), "serves", None)


def serves(source: str, kind: str) -> bool:
    declared = served_kinds(source)
    return declared is None or bool(declared.get(kind))


def sources_serving(kind: str) -> list[str]:
    return [name for name in telemetry_sources() if serves(name, kind)]


def check_serves(spec: ServiceSpec) -> None:
    """422 for a service whose telemetry source cannot serve one of its resources (see the module docstring)."""
    source = spec.telemetry.source
    errors: list[dict[str, Any]] = []
    unserved: list[dict[str, Any]] = []
    for i, resource in enumerate(spec.resources):
        if serves(source, resource.kind):
            continue
        others = [s for s in sources_serving(resource.kind) if s != source]
        msg = (f"telemetry source {source!r} cannot serve a {resource.kind} (resource {resource.resource_id!r}); "
               f"sources that can: {', '.join(others) or 'none'}")
        errors.append({"loc": ["body", "resources", i, "kind"], "msg": msg, "type": "source_cannot_serve"})
        unserved.append({"resource_id": resource.resource_id, "kind": resource.kind, "sources": others})
    prom = spec.telemetry.prometheus
    known = {m.value for m in Metric}
    for name in sorted(prom.queries if prom else {}):
        if name not in known:
            errors.append({"loc": ["body", "telemetry", "prometheus", "queries", name],
                           "msg": f"{name!r} is not a metric (one of {', '.join(sorted(known))})",
                           "type": "unknown_metric"})
    if not errors:
        return
    if unserved:
        detail = (f"telemetry source {source!r} cannot serve "
                  + ", ".join(f"{u['resource_id']} ({u['kind']})" for u in unserved))
    else:
        detail = "telemetry.prometheus.queries names an unknown metric"
    extra: dict[str, Any] = {"source": source}
    if unserved:
        extra["unserved"] = unserved
    raise Unprocessable(detail, errors=errors, extra=extra)
