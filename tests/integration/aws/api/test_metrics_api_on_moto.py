"""The metrics function through its real handler with HttpApi v2 events (moto DynamoDB): the tests that need AWS,
on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/api/test_metrics_api.py``."""


from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from costopt.connectors.base import TELEMETRY
from costopt.domain.observation import Metric
from costopt.store.observations import ObservationRepository
from costopt.store.services import ServiceRepository
from local.events import http_event
from tests.unit.api.test_metrics_api import (  # shared with the tests that need no AWS
    AS_OF,
    NOW,
    hourly_series,
    spec,
)


@pytest.fixture
def call(tables: Any, lambda_context: Any, pin_clock: Callable[..., Any]) -> Callable[..., tuple[int, Any]]:
    from functions.metrics.app import lambda_handler

    pin_clock(NOW)

    def _call(method: str, path: str, **kw: Any) -> tuple[int, Any]:
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        body = resp.get("body")
        return resp["statusCode"], (json.loads(body) if body else None)

    return _call


@pytest.fixture
def registered(tables: Any) -> None:
    ServiceRepository().put("checkout", spec(), now=NOW - timedelta(days=40))
    ServiceRepository().put("search", spec("discovery"), now=NOW - timedelta(days=40))


@pytest.fixture
def data(registered: None) -> ObservationRepository:
    """checkout: 30 days of 1,000 requests/h on api and 500/h on jobs, errors only in the last hour (50 on
    api), durations 200 ms (api) / 300 ms (jobs); search: registered, never pulled."""
    obs = ObservationRepository()
    last = AS_OF - timedelta(hours=1)
    obs.fold("checkout", [
        hourly_series("api", Metric.REQUESTS, lambda h: 1000.0),
        hourly_series("jobs", Metric.REQUESTS, lambda h: 500.0),
        hourly_series("api", Metric.ERRORS, lambda h: 50.0 if h == last else 0.0),
        hourly_series("api", Metric.DURATION_MS, lambda h: 200.0),
        hourly_series("jobs", Metric.DURATION_MS, lambda h: 300.0),
    ], NOW)
    obs.mark_success("checkout", TELEMETRY, NOW)
    return obs


def test_query_hourly_combines_resources(call: Any, data: ObservationRepository) -> None:
    body = {"service_id": "checkout", "metric": "requests", "stat": "sum", "period": "hour",
            "start": "2026-11-20T09:00:00Z", "end": "2026-11-20T12:00:00Z"}
    status, out = call("POST", "/v1/metrics/query", body=body)
    assert status == 200
    assert out["points"] == [{"t": f"2026-11-20T{h:02d}:00:00Z", "v": 1500.0} for h in (9, 10, 11)]
    status, out = call("POST", "/v1/metrics/query", body={**body, "stat": "avg"})
    assert {p["v"] for p in out["points"]} == {750.0}
    status, out = call("POST", "/v1/metrics/query", body={**body, "stat": "max", "resource_id": "jobs"})
    assert out["resource_id"] == "jobs" and {p["v"] for p in out["points"]} == {500.0}


def test_query_daily_percentiles_from_sketches(call: Any, data: ObservationRepository) -> None:
    body = {"service_id": "checkout", "metric": "duration_ms", "stat": "p99", "period": "day",
            "start": "2026-11-18T00:00:00Z", "end": "2026-11-20T00:00:00Z"}
    status, out = call("POST", "/v1/metrics/query", body=body)
    assert status == 200 and [p["t"] for p in out["points"]] == ["2026-11-18T00:00:00Z", "2026-11-19T00:00:00Z"]
    # 24 values of 200 and 24 of 300 a day: p99 = 300, p50 = 200 (DDSketch, 1 % relative accuracy)
    assert all(p["v"] == pytest.approx(300, rel=0.01) for p in out["points"])
    _, out = call("POST", "/v1/metrics/query", body={**body, "stat": "p50"})
    assert all(p["v"] == pytest.approx(200, rel=0.01) for p in out["points"])
    _, out = call("POST", "/v1/metrics/query", body={**body, "stat": "avg"})
    assert all(p["v"] == pytest.approx(250) for p in out["points"])


@pytest.mark.parametrize(("change", "status"), [
    ({"end": "2026-11-18T00:00:00Z"}, 422),                               # start == end
    ({"start": "2026-08-01T00:00:00Z"}, 422),                             # more than 93 days
    ({"period": "hour", "stat": "p99"}, 422),                             # hourly percentiles are not kept
    ({"metric": "bananas"}, 422),
    ({"stat": "p42"}, 422),
    ({"service_id": "nope-nope"}, 404),
    ({"resource_id": "ghost"}, 404),
])
def test_query_rejects_bad_input(call: Any, registered: None, change: dict[str, str],
                                 status: int) -> None:
    body = {"service_id": "checkout", "metric": "duration_ms", "stat": "p99", "period": "day",
            "start": "2026-11-18T00:00:00Z", "end": "2026-11-20T00:00:00Z", **change}
    got, out = call("POST", "/v1/metrics/query", body=body)
    assert got == status and out["status"] == status


def test_health_route_burn_rates_and_budget(call: Any, data: ObservationRepository) -> None:
    status, out = call("GET", "/v1/metrics/checkout/health")
    assert status == 200 and out["status"] == "breaching" and out["last_data_at"] == "2026-11-20T11:00:00Z"
    avail = next(c for c in out["clauses"] if c["clause"] == "availability_pct")
    # last hour: 50 errors of 1,500 requests -> 0.0333 / 0.001 = 33.3; 6 h: 50 / 9,000 / 0.001 = 5.56
    assert avail["burn_rate_1h"] == pytest.approx(50 / 1500 / 0.001, rel=1e-5)
    assert avail["burn_rate_6h"] == pytest.approx(50 / 9000 / 0.001, rel=1e-5)
    assert avail["alert"] == "page" and avail["target"] == 99.9
    # 30 days: 50 bad of a 0.001 x 1,080,000 = 1,080 budget -> 95.37 % left
    assert avail["error_budget_remaining_pct"] == pytest.approx(100 * (1 - 50 / 1080), rel=1e-5)
    lat = next(c for c in out["clauses"] if c["clause"] == "latency_p99_ms")
    assert lat["current"] == 300 and lat["burn_rate_1h"] == 0 and lat["alert"] is None

    status, out = call("GET", "/v1/metrics/search/health")
    assert status == 200 and out["status"] == "no_data" and out["last_data_at"] is None
    assert call("GET", "/v1/metrics/ghost-service/health")[0] == 404


def test_health_goes_stale_when_the_source_fails(call: Any, data: ObservationRepository) -> None:
    data.mark_stale("checkout", TELEMETRY, "cloudwatch: ThrottlingException", NOW)
    status, out = call("GET", "/v1/metrics/checkout/health")
    assert status == 200 and out["status"] == "stale" and out["stale_sources"] == ["telemetry"]
    assert out["clauses"]  # the burn rates are still reported from the data kept


def test_list_services_with_health(call: Any, data: ObservationRepository) -> None:
    status, out = call("GET", "/v1/metrics/services")
    assert status == 200
    got = {i["service_id"]: (i["health"], i["last_data_at"]) for i in out["items"]}
    assert got == {"checkout": ("breaching", "2026-11-20T11:00:00Z"), "search": ("no_data", None)}

    status, page1 = call("GET", "/v1/metrics/services", query={"limit": "1"})
    assert status == 200 and len(page1["items"]) == 1 and page1["next_token"]
    _, page2 = call("GET", "/v1/metrics/services", query={"limit": "1", "next_token": page1["next_token"]})
    assert [i["service_id"] for i in page1["items"] + page2["items"]] == ["checkout", "search"]

    _, team = call("GET", "/v1/metrics/services", query={"team": "discovery"})
    assert [i["service_id"] for i in team["items"]] == ["search"]
    assert call("GET", "/v1/metrics/services", query={"limit": "0"})[0] == 422
    assert call("GET", "/v1/metrics/services", query={"next_token": "forged.token"})[0] == 400


def test_routes_need_the_read_scope(call: Any, data: ObservationRepository) -> None:
    assert call("GET", "/v1/metrics/services", authorized=False)[0] == 401
    assert call("GET", "/v1/metrics/checkout/health", scopes=["costopt/write"])[0] == 403
    body = {"service_id": "checkout", "metric": "requests", "stat": "sum", "period": "hour",
            "start": "2026-11-20T09:00:00Z", "end": "2026-11-20T12:00:00Z"}
    assert call("POST", "/v1/metrics/query", body=body, scopes=["costopt/read"])[0] == 200
    assert call("POST", "/v1/metrics/query", body=body, scopes=["costopt/operate"])[0] == 403


def test_list_services_reads_a_page_in_batches(call: Any, data: ObservationRepository,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's services, their day items and their last-data marks are one BatchGet each, not a read
    per service (freshness stays a Query per service)."""
    from collections import Counter

    from costopt.store import observations, services

    ServiceRepository().put("orders", spec("payments"), now=NOW - timedelta(days=40))
    calls: Counter[str] = Counter()

    def spy(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[f"{owner.__name__}.{name}"] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    for owner, name in [(services.ServiceItem, "get"), (services.ServiceItem, "batch_get"),
                        (observations.DayItem, "batch_get"), (observations.MetaItem, "get"),
                        (observations.MetaItem, "batch_get")]:
        spy(owner, name)
    status, out = call("GET", "/v1/metrics/services")
    assert status == 200
    got = {i["service_id"]: (i["health"], i["last_data_at"]) for i in out["items"]}
    assert got == {"checkout": ("breaching", "2026-11-20T11:00:00Z"), "orders": ("no_data", None),
                   "search": ("no_data", None)}
    assert calls == {"ServiceItem.batch_get": 1, "DayItem.batch_get": 1, "MetaItem.batch_get": 1}


def test_list_services_keeps_a_service_deleted_while_listing(call: Any, data: ObservationRepository,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.store.services import ServiceRepository as Repo

    find_many = Repo.find_many
    monkeypatch.setattr(Repo, "find_many", lambda self, ids: {k: v for k, v in find_many(self, ids).items()
                                                               if k != "search"})
    status, out = call("GET", "/v1/metrics/services")
    assert status == 200
    got = {i["service_id"]: (i["health"], i["last_data_at"]) for i in out["items"]}
    assert got == {"checkout": ("breaching", "2026-11-20T11:00:00Z"), "search": (None, None)}
