"""Prometheus connector against a real HTTP server on loopback speaking the Prometheus HTTP API."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from costopt.connectors import retry
from costopt.connectors.prometheus import PrometheusTelemetry, promql_duration, render
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from costopt.errors import ConnectorError

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


class FakePrometheus:
    """Answers /api/v1/query_range like Prometheus: a matrix of [ts, "value"] pairs per step."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        # (status, body) produced per request; None = compute a success answer
        self.script: list[tuple[int, dict[str, Any]] | None] = []
        self.delay_s = 0.0
        self.hits = 0
        self.value_of: Callable[[str, float], list[float | str]] = lambda q, t: [t % 1000]

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(params)
        if self.script:
            scripted = self.script.pop(0)
            if scripted is not None:
                return scripted
        start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        series: dict[int, list[list[Any]]] = {}
        t = start
        while t <= end:
            for i, v in enumerate(self.value_of(params["query"], t)):
                series.setdefault(i, []).append([t, str(v)])
            t += step
        result = [{"metric": {"pod": f"web-{i}"}, "values": vals} for i, vals in series.items()]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}


@pytest.fixture
def prom() -> Iterator[tuple[FakePrometheus, str]]:
    fake = FakePrometheus()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/v1/query_range":
                self.send_response(404)
                self.end_headers()
                return
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.hits += 1
            if fake.delay_s:
                time.sleep(fake.delay_s)
            status, body = fake.answer(params)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry, "sleep", slept.append)
    return slept


def service(url: str, **prom: Any) -> Service:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return Service.model_validate({
        "service_id": "shop-web", "version": 1, "created_at": now, "updated_at": now,
        "name": "Shop web", "team": "shop",
        "resources": [{"resource_id": "web", "kind": "generic", "workload": "shop/web",
                       "config": {"replicas": 3, "cpu_cores": 1, "memory_gb": 2}}],
        "telemetry": {"source": "prometheus", "period_s": 300, "prometheus": {"url": url, **prom}},
        "billing": {"source": "synthetic"},
    })


def test_default_queries_values_and_step(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    # two pods answer per query: counts are summed, utilisations averaged
    fake.value_of = lambda q, t: [10.0, 30.0]
    series = PrometheusTelemetry().fetch(service(url), START, END)

    by_metric = {s.metric: s for s in series}
    assert set(by_metric) == {Metric.CPU_PCT, Metric.MEMORY_PCT, Metric.REQUESTS, Metric.ERRORS, Metric.LATENCY_MS}
    cpu = by_metric[Metric.CPU_PCT]
    assert cpu.resource_id == "web" and cpu.period_s == 300 and cpu.stat == "avg"
    # [10:00, 11:00) at a 5-minute step: 12 points, the end is exclusive
    assert [p.t for p in cpu.points] == [START + timedelta(minutes=5 * i) for i in range(12)]
    assert {p.v for p in cpu.points} == {20.0}
    assert {p.v for p in by_metric[Metric.REQUESTS].points} == {40.0}
    assert by_metric[Metric.REQUESTS].stat == "sum" and by_metric[Metric.LATENCY_MS].stat == "p99"

    assert len(fake.requests) == 5
    assert {r["step"] for r in fake.requests} == {"300"}
    assert {float(r["start"]) for r in fake.requests} == {START.timestamp()}
    cpu_q = next(r["query"] for r in fake.requests if "container_cpu_usage_seconds_total" in r["query"])
    assert 'namespace="shop"' in cpu_q and 'pod=~"web-.*"' in cpu_q and "[5m]" in cpu_q
    assert 'resource="cpu"' in cpu_q and "kube_pod_container_resource_requests" in cpu_q
    lat_q = next(r["query"] for r in fake.requests if "histogram_quantile" in r["query"])
    assert lat_q.startswith("1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{")


def test_service_overrides_and_selector(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    svc = service(url, selector='cluster="eu1"',
                  queries={"requests": 'sum(increase(nginx_requests_total{app="$workload"$selector}[$window]))'})
    PrometheusTelemetry().fetch(svc, START, END)
    queries = [r["query"] for r in fake.requests]
    assert 'sum(increase(nginx_requests_total{app="web",cluster="eu1"}[5m]))' in queries
    assert not any("http_requests_total" in q and "code=" not in q for q in queries)
    assert all('cluster="eu1"' in q for q in queries)


def test_nan_and_inf_samples_are_dropped_not_invented(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    fake.value_of = lambda q, t: ["NaN"] if int(t) % 600 else [1.5]
    series = PrometheusTelemetry().fetch(service(url), START, END)
    cpu = next(s for s in series if s.metric == Metric.CPU_PCT)
    assert len(cpu.points) == 6 and all(p.t.minute % 10 == 0 for p in cpu.points)
    assert all(math.isfinite(p.v) for p in cpu.points)


def test_error_json_4xx_is_not_retried(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    fake.script = [(400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"})]
    with pytest.raises(ConnectorError) as err:
        PrometheusTelemetry().query_range(url, "up{", START, END, 300)
    assert err.value.retryable is False and err.value.status == 503
    assert "bad_data: parse error at char 5" in err.value.detail
    assert len(fake.requests) == 1


def test_5xx_is_retried_with_jittered_backoff_then_succeeds(prom: tuple[FakePrometheus, str],
                                                           no_sleep: list[float]) -> None:
    fake, url = prom
    unavailable = (503, {"status": "error", "errorType": "unavailable", "error": "TSDB not ready"})
    fake.script = [unavailable, unavailable]
    points = PrometheusTelemetry().query_range(url, "up", START, END, 300)
    assert len(points) == 12 and len(fake.requests) == 3
    # full jitter: the n-th sleep lies in [0, 0.2 * 2**n]
    assert len(no_sleep) == 2 and 0 <= no_sleep[0] <= 0.2 and 0 <= no_sleep[1] <= 0.4


def test_5xx_gives_up_after_bounded_attempts(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    fake.script = [(502, {"status": "error", "errorType": "internal", "error": "boom"})] * 10
    with pytest.raises(ConnectorError) as err:
        PrometheusTelemetry().query_range(url, "up", START, END, 300)
    assert err.value.retryable is True
    assert len(fake.requests) == 3  # settings.http_max_retries


def test_timeout_is_a_retryable_connector_error(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    fake.delay_s = 0.5
    client = httpx.Client(timeout=httpx.Timeout(0.1))
    with pytest.raises(ConnectorError) as err:
        PrometheusTelemetry(client=client).query_range(url, "up", START, END, 300)
    assert err.value.retryable is True and "timed out" in err.value.detail
    assert fake.hits == 3  # a timeout is retried, and bounded


def test_long_ranges_are_split_below_the_point_limit(prom: tuple[FakePrometheus, str]) -> None:
    fake, url = prom
    end = START + timedelta(days=8)  # 11,520 one-minute steps > 11,000
    points = PrometheusTelemetry().query_range(url, "up", START, end, 60)
    assert len(fake.requests) == 2
    assert len(points) == 8 * 1440 and len({p.t for p in points}) == len(points)


def test_render_helpers() -> None:
    assert promql_duration(300) == "5m" and promql_duration(3600) == "1h" and promql_duration(90) == "90s"
    q = render('x{namespace="$namespace",pod=~"$pods"$selector}', namespace='a"b', workload="api.v2",
               period_s=60, selector=None)
    assert q == 'x{namespace="a\\"b",pod=~"api\\\\.v2-.*"}'


def test_missing_url_is_a_non_retryable_error() -> None:
    svc = service("http://127.0.0.1:1").model_copy(update={"telemetry": service("http://x").telemetry.model_copy(
        update={"prometheus": None})})
    with pytest.raises(ConnectorError) as err:
        PrometheusTelemetry().fetch(svc, START, END)
    assert err.value.retryable is False
