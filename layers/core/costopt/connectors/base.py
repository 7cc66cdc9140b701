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
    costopt.connectors.prometheus.PrometheusTelemetry; cost_explorer → costopt.connectors.cost_explorer
    .CostExplorerBilling, http → costopt.connectors.billing_http.HttpBilling, focus_csv →
    costopt.connectors.focus.FocusCsvBilling. Classes are built with no arguments, once per process (cached).
    An unknown source, or a missing module/class, raises ``ConnectorError(source, ...)`` (not retryable).
``add_telemetry_source(name, factory)`` / ``add_billing_source(name, factory)`` — a source that does not ship
    in this package (the local stack's ``synthetic``, in ``local.synthetic``). A plugin module calls them when
    imported; the modules named in ``COSTOPT_SOURCE_PLUGINS`` (``settings.source_plugins``, comma-separated)
    are imported once, at the first lookup. A deployment that names none has only the sources above, and a
    service naming another one is refused at PUT (``check_serves``, 422).
``register_telemetry(name, factory)`` / ``register_billing(name, factory)`` — override (tests); None restores
    the built-in or plugin source.
``telemetry_sources() -> list[str]`` — the telemetry source names (``Telemetry.source`` values), sorted.
``billing_sources() -> list[str]`` — the billing source names, sorted.
``served_kinds(source: str) -> Mapping[str, tuple[Metric, ...]] | None`` — that source's ``serves``.
``serves(source: str, kind: str) -> bool`` — can ``source`` return anything for a resource of ``kind``.
``sources_serving(kind: str) -> list[str]`` — the telemetry sources that can serve ``kind``, sorted.
``check_serves(spec: ServiceSpec) -> None`` — raises ``Unprocessable`` (422) for a telemetry or billing source
    this deployment does not have (loc ``body.telemetry.source`` / ``body.billing.source``), naming each
    resource whose kind ``spec.telemetry.source`` cannot serve (loc ``body.resources.<i>.kind``, with the
    sources that could), and each ``telemetry.prometheus.queries`` key that is not a canonical metric.

``METRICS_BY_KIND: dict[str, tuple[Metric, ...]]`` — what a telemetry source should return per kind.
``REQUIRED_METRICS: dict[str, tuple[Metric, ...]]`` — what data sufficiency checks per kind.
``METRIC_STAT: dict[Metric, str]`` — the stat each canonical metric carries.
``SERVICE_TOTAL = "_service"``; ``TELEMETRY = "telemetry"``, ``BILLING = "billing"`` (watermark/freshness keys).
``check_window(start, end) -> tuple[datetime, datetime]`` — UTC-normalises, raises BadRequest if start >= end.
"""

from __future__ import annotations

import importlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from costopt.config import settings
from costopt.domain.metrics import METRICS_BY_KIND as METRICS_BY_KIND  # re-exported: domain constants
from costopt.domain.metrics import REQUIRED_METRICS as REQUIRED_METRICS
from costopt.domain.metrics import SERVICE_TOTAL as SERVICE_TOTAL
from costopt.domain.observation import Metric, Series
from costopt.domain.service import Service, ServiceSpec
from costopt.errors import BadRequest, ConnectorError, Unprocessable

logger = logging.getLogger(__name__)

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


Factory = Callable[[], object]

# The sources this package ships: name -> "module:Class", imported on first use.
_TELEMETRY_CLASSES: dict[str, str] = {
    "cloudwatch": "costopt.connectors.cloudwatch:CloudWatchTelemetry",
    "prometheus": "costopt.connectors.prometheus:PrometheusTelemetry",
}
_BILLING_CLASSES: dict[str, str] = {
    "cost_explorer": "costopt.connectors.cost_explorer:CostExplorerBilling",
    "http": "costopt.connectors.billing_http:HttpBilling",
    "focus_csv": "costopt.connectors.focus:FocusCsvBilling",
}
_BUILT_IN = {TELEMETRY: _TELEMETRY_CLASSES, BILLING: _BILLING_CLASSES}
_plugins: dict[tuple[str, str], Factory] = {}  # what plugins added (never shadows a built-in name)
_factories: dict[tuple[str, str], Factory] = {}
_instances: dict[tuple[str, str], object] = {}
_lock = threading.RLock()
_plugins_loaded = False


def add_telemetry_source(name: str, factory: Callable[[], TelemetrySource]) -> None:
    """Make telemetry source ``name`` available (a plugin calls this when imported)."""
    _add(TELEMETRY, name, factory)


def add_billing_source(name: str, factory: Callable[[], BillingSource]) -> None:
    """Make billing source ``name`` available (a plugin calls this when imported)."""
    _add(BILLING, name, factory)


def _add(family: str, name: str, factory: Factory) -> None:
    with _lock:
        _plugins[(family, name)] = factory
        _instances.pop((family, name), None)


def load_plugins() -> None:
    """Import, once per process, the source plugin modules named in ``settings.source_plugins``."""
    global _plugins_loaded
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        for module_name in settings.source_plugins.replace(",", " ").split():
            try:
                importlib.import_module(module_name)
            except ImportError:
                logger.exception("source plugin %s could not be imported; its sources are unavailable",
                                 module_name)


def register_telemetry(name: str, factory: Callable[[], TelemetrySource] | None) -> None:
    """Use ``factory`` for telemetry source ``name`` (None restores the default)."""
    _register(TELEMETRY, name, factory)


def register_billing(name: str, factory: Callable[[], BillingSource] | None) -> None:
    """Use ``factory`` for billing source ``name`` (None restores the default)."""
    _register(BILLING, name, factory)


def _register(family: str, name: str, factory: Factory | None) -> None:
    with _lock:
        _instances.pop((family, name), None)
        if factory is None:
            _factories.pop((family, name), None)
        else:
            _factories[(family, name)] = factory


def _sources(family: str) -> list[str]:
    load_plugins()
    with _lock:
        added = {name for fam, name in (*_factories, *_plugins) if fam == family}
        return sorted(set(_BUILT_IN[family]) | added)


def _default_factory(family: str, name: str) -> Factory:
    target = _BUILT_IN[family].get(name)
    if target is None:
        plugin = _plugins.get((family, name))
        if plugin is None:
            raise ConnectorError(name, f"unknown {family} source {name!r}", retryable=False)
        return plugin
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConnectorError(name, f"{family} connector {module_name} is not available", retryable=False) from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ConnectorError(name, f"{module_name} has no {cls_name}", retryable=False)
    return cast(Factory, cls)


def _load(family: str, name: str) -> object:
    load_plugins()
    key = (family, name)
    with _lock:
        if key in _instances:
            return _instances[key]
        factory = _factories.get(key) or _default_factory(family, name)
        instance = factory()
        _instances[key] = instance
        return instance


def source_for(service: Service) -> TelemetrySource:
    src = _load(TELEMETRY, service.telemetry.source)
    assert isinstance(src, TelemetrySource), f"{src!r} is not a TelemetrySource"
    return src


def billing_for(service: Service) -> BillingSource:
    src = _load(BILLING, service.billing.source)
    assert isinstance(src, BillingSource), f"{src!r} is not a BillingSource"
    return src


# --------------------------------------------------------------------------- what a source can serve


def telemetry_sources() -> list[str]:
    return _sources(TELEMETRY)


def billing_sources() -> list[str]:
    return _sources(BILLING)


def served_kinds(source: str) -> Mapping[str, tuple[Metric, ...]] | None:
    """The ``serves`` declaration of telemetry source ``source`` (None when it declares none)."""
    return getattr(_load(TELEMETRY, source), "serves", None)


def serves(source: str, kind: str) -> bool:
    declared = served_kinds(source)
    return declared is None or bool(declared.get(kind))


def sources_serving(kind: str) -> list[str]:
    return [name for name in telemetry_sources() if serves(name, kind)]


def check_serves(spec: ServiceSpec) -> None:
    """422 for a service whose telemetry source cannot serve one of its resources (see the module docstring)."""
    source = spec.telemetry.source
    missing = _unavailable(spec)
    if missing:
        detail = "; ".join(e["msg"] for e in missing)
        raise Unprocessable(detail, errors=missing, extra={"source": source})
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


def _unavailable(spec: ServiceSpec) -> list[dict[str, Any]]:
    """The telemetry and billing sources ``spec`` names that this deployment does not have."""
    errors: list[dict[str, Any]] = []
    for family, name, known in ((TELEMETRY, spec.telemetry.source, telemetry_sources()),
                                (BILLING, spec.billing.source, billing_sources())):
        if name not in known:
            errors.append({"loc": ["body", family, "source"], "type": "source_unavailable",
                           "msg": f"{family} source {name!r} is not available in this deployment "
                                  f"(available: {', '.join(known)})"})
    return errors
