"""Prometheus telemetry: ``GET /api/v1/query_range`` over one reused httpx client.

Which resources: every ``generic`` resource of the service (Kubernetes workloads), nothing else
(``serves``: generic → the metrics of ``DEFAULT_QUERIES``; a service with a resource of another kind
is refused at PUT). Its
``workload`` is ``namespace/deployment`` (or just ``deployment`` with
``telemetry.prometheus.namespace``). Queries are PromQL templates with ``$placeholders``
(``string.Template``, so PromQL's braces need no escaping):

- ``$namespace``, ``$workload`` (deployment name), ``$pods`` (regex of its pods:
  ``<workload>-.*``), ``$window`` (the step as a PromQL duration, e.g. ``5m``),
  ``$selector`` (``telemetry.prometheus.selector`` with a leading comma, or empty).

``telemetry.prometheus.queries`` maps a canonical metric name (``costopt.domain.observation.Metric``
values) to a template that replaces the default below. step = ``telemetry.period_s``.
Counts (requests, errors) are ``increase`` over one step, i.e. a count per datapoint period,
which is what the canonical metrics mean. NaN/Inf samples are dropped, never replaced.

Errors: Prometheus' error JSON ``{"status":"error","errorType","error"}`` becomes a
ConnectorError; HTTP 5xx / 429 / timeouts are retried (bounded, jittered), other 4xx are not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from string import Template
from typing import TYPE_CHECKING, Any, ClassVar

from costopt.config import settings
from costopt.connectors.base import METRIC_STAT, TelemetrySource
from costopt.connectors.retry import HttpConnector, call_with_retry, http_status_error
from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.resources import ResourceKind
from costopt.errors import ConnectorError

if TYPE_CHECKING:

    from costopt.domain.resources import GenericResource
    from costopt.domain.service import Service

SOURCE = "prometheus"
MAX_POINTS_PER_QUERY = 10_000  # Prometheus refuses more than 11,000 points per series

_POD = 'namespace="$namespace",pod=~"$pods"'
_CONTAINER = _POD + ',container!="",container!="POD"'

DEFAULT_QUERIES: dict[Metric, str] = {
    Metric.CPU_PCT: (
        "100 * sum(rate(container_cpu_usage_seconds_total{" + _CONTAINER + "$selector}[$window]))"
        " / sum(kube_pod_container_resource_requests{" + _POD + ',resource="cpu"$selector})'
    ),
    Metric.MEMORY_PCT: (
        "100 * sum(container_memory_working_set_bytes{" + _CONTAINER + "$selector})"
        " / sum(kube_pod_container_resource_limits{" + _POD + ',resource="memory"$selector})'
    ),
    Metric.REQUESTS: "sum(increase(http_requests_total{" + _POD + "$selector}[$window]))",
    Metric.ERRORS: "sum(increase(http_requests_total{" + _POD + ',code=~"5.."$selector}[$window]))',
    Metric.LATENCY_MS: (
        "1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{"
        + _POD + "$selector}[$window])))"
    ),
}
_COUNTS = frozenset({Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES})

# What Prometheus can serve per kind (``TelemetrySource.serves``): workloads, by the default queries.
SERVES: dict[str, tuple[Metric, ...]] = {ResourceKind.GENERIC: tuple(DEFAULT_QUERIES)}


def promql_duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(template: str, *, namespace: str, workload: str, period_s: int, selector: str | None) -> str:
    """Fill a PromQL template's ``$placeholders`` for one workload."""
    import re

    extra = selector.strip().strip(",") if selector else ""
    return Template(template).safe_substitute(
        namespace=_escape_label(namespace),
        workload=_escape_label(workload),
        pods=_escape_label(re.escape(workload) + "-.*"),
        window=promql_duration(period_s),
        selector=("," + extra) if extra else "",
    )


def queries_for(service: Service, resource: GenericResource) -> dict[Metric, str]:
    """The PromQL per canonical metric for one workload: defaults, overridden by the service's."""
    prom = service.telemetry.prometheus
    ns_default = (prom.namespace if prom else None) or "default"
    namespace, _, workload = resource.workload.rpartition("/")
    namespace = namespace or ns_default
    templates: dict[Metric, str] = dict(DEFAULT_QUERIES)
    for name, template in (prom.queries if prom else {}).items():
        try:
            templates[Metric(name)] = template
        except ValueError:
            raise ConnectorError(SOURCE, f"telemetry.prometheus.queries has an unknown metric {name!r}",
                                 retryable=False) from None
    return {
        metric: render(t, namespace=namespace, workload=workload, period_s=service.telemetry.period_s,
                       selector=prom.selector if prom else None)
        for metric, t in templates.items()
    }


class PrometheusTelemetry(HttpConnector, TelemetrySource):
    """TelemetrySource over the Prometheus HTTP API."""

    name: ClassVar[str] = SOURCE
    serves: ClassVar[Mapping[str, tuple[Metric, ...]] | None] = SERVES

    def _url(self, service: Service) -> str:
        prom = service.telemetry.prometheus
        url = self._base_url or (str(prom.url) if prom and prom.url else None) or settings.prometheus_url
        if not url:
            raise ConnectorError(SOURCE, "no Prometheus URL: set PROMETHEUS_URL or telemetry.prometheus.url",
                                 retryable=False)
        return url.rstrip("/")

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        """Every default/overridden metric of every generic resource, at step = period_s, in [start, end)."""
        from costopt.domain.resources import GenericResource

        base = self._url(service)
        step = service.telemetry.period_s
        out: list[Series] = []
        for resource in service.resources:
            if not isinstance(resource, GenericResource):  # the only kind in SERVES
                continue
            for metric, promql in queries_for(service, resource).items():
                points = self.query_range(base, promql, start, end, step, combine="sum" if metric in _COUNTS
                                          else "mean")
                if points:
                    out.append(Series(resource_id=resource.resource_id, metric=metric,
                                      stat=METRIC_STAT.get(metric, "avg"), period_s=step, points=points))
        return out

    def query_range(self, base_url: str, promql: str, start: datetime, end: datetime, step: int,
                    combine: str = "mean") -> list[Datapoint]:
        """Datapoints in [start, end) (end exclusive), split in chunks below Prometheus' point limit.

        Several result series are combined per timestamp (``sum`` for counts, ``mean`` otherwise).
        """
        t0 = _ceil_to(start.timestamp(), step)
        t_end = end.timestamp()
        by_t: dict[float, list[float]] = {}
        while t0 < t_end:
            t1 = min(t_end, t0 + step * (MAX_POINTS_PER_QUERY - 1))
            params = {"query": promql, "start": _fmt(t0), "end": _fmt(t1), "step": str(step)}
            for result in self._get(base_url, params):
                for ts, raw in result.get("values", []):
                    v = _float(raw)
                    if v is not None and start.timestamp() <= float(ts) < t_end:
                        by_t.setdefault(float(ts), []).append(v)
            t0 = t1 + step
        out = []
        for ts in sorted(by_t):
            vals = by_t[ts]
            v = sum(vals) if combine == "sum" else sum(vals) / len(vals)
            out.append(Datapoint(t=datetime.fromtimestamp(ts, UTC), v=v))
        return out

    def _get(self, base_url: str, params: dict[str, str]) -> list[dict[str, Any]]:
        import httpx

        def once() -> list[dict[str, Any]]:
            try:
                resp = self.client.get(f"{base_url}/api/v1/query_range", params=params)
            except httpx.TimeoutException as exc:
                raise ConnectorError(SOURCE, f"timed out: {type(exc).__name__}", retryable=True) from exc
            except httpx.TransportError as exc:
                raise ConnectorError(SOURCE, f"connection failed: {type(exc).__name__}", retryable=True) from exc
            try:
                body = resp.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("status") == "error":
                detail = f"{body.get('errorType', 'error')}: {body.get('error', '')}"
                if resp.status_code >= 500 or resp.status_code == 429 or body.get("errorType") == "timeout":
                    raise ConnectorError(SOURCE, f"HTTP {resp.status_code} {detail}", retryable=True)
                raise ConnectorError(SOURCE, f"HTTP {resp.status_code} {detail}", retryable=False)
            if resp.status_code >= 400:
                raise http_status_error(SOURCE, resp.status_code, resp.text[:200])
            if not isinstance(body, dict) or body.get("status") != "success":
                raise ConnectorError(SOURCE, "response is not Prometheus API JSON", retryable=False)
            data = body.get("data") or {}
            if data.get("resultType") != "matrix":
                raise ConnectorError(SOURCE, f"expected a matrix, got {data.get('resultType')!r}", retryable=False)
            result = data.get("result") or []
            return list(result)

        return call_with_retry(SOURCE, once)


def _ceil_to(ts: float, step: int) -> float:
    return float(math.ceil(ts / step) * step)


def _fmt(ts: float) -> str:
    return f"{ts:.3f}".rstrip("0").rstrip(".")


def _float(raw: Any) -> float | None:
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
