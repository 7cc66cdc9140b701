"""The simulate function through its real handler, with HttpApi v2 events (moto DynamoDB): a demo: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/api/test_simulate_api.py``."""


from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from costopt import clock
from local.events import http_event

SERVICE_ID = "shop-api"
SPEC: dict[str, Any] = {
    "name": "Shop API",
    "team": "web",
    "resources": [
        {"resource_id": "fn", "kind": "lambda_function", "function_name": "shop-fn",
         "config": {"memory_mb": 1024}},
        {"resource_id": "api", "kind": "ecs_service", "cluster": "shop", "service_name": "api",
         "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 3}},
    ],
    "sla": {"latency_p99_ms": 1000, "availability_pct": 99.9},
    "telemetry": {"source": "synthetic", "period_s": 900,
                  "synthetic": {"base_rps": 10, "history_days": 3, "spike_probability": 0.0}},
    "billing": {"source": "synthetic"},
}


@pytest.fixture
def call(tables, lambda_context):
    from functions.simulate.app import lambda_handler

    def _call(method: str, path: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        body = resp.get("body")
        return resp["statusCode"], (json.loads(body) if body else None), resp.get("headers", {})

    return _call


def _register(spec: dict[str, Any], service_id: str = SERVICE_ID, history: bool = True) -> Any:
    from costopt.domain.service import ServicePut
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository
    from local.synthetic import generate

    now = clock.now()
    service, _ = ServiceRepository().put(service_id, ServicePut.model_validate(spec), now=now)
    if history:
        end = now.replace(minute=0, second=0, microsecond=0)
        ObservationRepository().fold(service_id, generate(service, end - timedelta(days=3), end), now=now)
    return service


@pytest.fixture
def shop(tables) -> Any:
    return _register(SPEC)


@pytest.fixture
def shop_without_history(tables) -> Any:
    """Enough for everything that fails before any history is read (validation, scopes)."""
    return _register(SPEC, history=False)


def _recommendation(service_id: str) -> Any:
    from costopt.domain.recommendation import Evidence, Recommendation, SlaVerdict

    now = clock.now()
    return Recommendation(
        service_id=service_id, recommendation_id="rec-0001", resource_id="api", kind="ecs_service",
        action="ecs_desired_count",
        current={"cpu_units": 1024, "memory_mb": 2048, "desired_count": 3},
        proposed={"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2},
        monthly_cost_current_usd=108.1, monthly_cost_proposed_usd=72.1, monthly_savings_usd=36.0,
        savings_pct=33.3, performance_risk=1, confidence=1, priority="P2", xor_group="api:count",
        sla=SlaVerdict(compliant=True), etag="e1", evidence=Evidence(lookback_days=14), engine_version="test",
        created_at=now, updated_at=now)


def test_simulate_stores_the_result_and_get_reads_it_back(call, shop) -> None:
    status, body, headers = call("POST", "/v1/simulate", body={
        "service_id": SERVICE_ID, "changes": [{"resource_id": "fn", "config": {"architecture": "arm64"}}],
        "samples": 200, "seed": 11})
    assert status == 201, body
    sid = body["simulation_id"]
    assert headers["Location"] == f"/v1/simulate/{sid}"
    assert body["seed"] == 11 and body["samples"] == 200 and body["horizon_days"] == 30
    for side in ("baseline", "scenario"):
        cost = body[side]["monthly_cost_usd"]
        assert 0 < cost["p10"] <= cost["p50"] <= cost["p90"]
        assert 0 <= body[side]["sla_probability"] <= 1
    assert body["savings_usd"]["p50"] > 0  # arm64 Lambda is cheaper
    assert {"expected_breach_hours", "breached_clauses"} <= set(body["scenario"])
    assert [r["resource_id"] for r in body["per_resource"]] == ["fn", "api"]
    assert body["assumptions"]

    status, again, _ = call("GET", f"/v1/simulate/{sid}")
    assert status == 200
    assert {k: v for k, v in again.items() if k not in ("created_at", "expires_at")} == \
        {k: v for k, v in body.items() if k not in ("created_at", "expires_at")}
    created = datetime.fromisoformat(again["created_at"])
    expires = datetime.fromisoformat(again["expires_at"])
    assert expires - created == timedelta(days=30)

    item = shop  # the item carries the TTL attribute DynamoDB expires it by
    from costopt.store.simulations import SimulationItem

    stored = SimulationItem.get(sid)
    assert stored.service_id == item.service_id
    assert int(stored.expires_at.timestamp()) == int(expires.timestamp())

    status, problem, headers = call("GET", "/v1/simulate/sim-doesnotexist")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert "sim-doesnotexist" in problem["detail"]


def test_same_seed_through_the_api_gives_the_same_numbers(call, shop) -> None:
    scenario = {"service_id": SERVICE_ID, "template": {"id": "graviton"}, "samples": 100, "seed": 3,
                "traffic_multiplier": 1.5}
    _, first, _ = call("POST", "/v1/simulate", body=scenario)
    _, second, _ = call("POST", "/v1/simulate", body=scenario)
    assert first["simulation_id"] != second["simulation_id"]
    for key in ("baseline", "scenario", "savings_usd", "per_resource"):
        assert first[key] == second[key]


def test_every_template_runs_through_the_api(call, shop) -> None:
    from costopt.store.recommendations import RecommendationRepository

    RecommendationRepository().replace_active(SERVICE_ID, [_recommendation(SERVICE_ID)])
    status, listing, _ = call("GET", "/v1/simulate/templates")
    assert status == 200
    ids = [t["id"] for t in listing["items"]]
    assert ids == ["rightsize-all", "graviton", "spot", "traffic-spike", "seasonal-peak", "nights-and-weekends",
                   "gp3-migration"]
    assert all(t["parameters"]["type"] == "object" and t["description"] for t in listing["items"])
    for tid in ids:
        status, body, _ = call("POST", "/v1/simulate", body={
            "service_id": SERVICE_ID, "template": {"id": tid}, "samples": 100, "seed": 1})
        assert status == 201, (tid, body)
        assert body["template"]["id"] == tid
    _, body, _ = call("POST", "/v1/simulate", body={"service_id": SERVICE_ID, "template": {"id": "rightsize-all"},
                                                    "samples": 100, "seed": 1})
    api = next(r for r in body["per_resource"] if r["resource_id"] == "api")
    assert api["changed"] and api["scenario_config"]["desired_count"] == 2
    assert api["savings_usd"]["p50"] == pytest.approx(api["baseline_monthly_cost_usd"]["p50"] / 3, rel=1e-6)


def test_batch_keeps_order_and_isolates_a_bad_scenario(call, shop) -> None:
    good = {"service_id": SERVICE_ID, "samples": 100, "seed": 1}
    scenarios = [
        good,
        {**good, "traffic_multiplier": 500},  # out of range
        {**good, "changes": [{"resource_id": "fn", "config": {"memory_mb": 64}}]},
        {**good, "service_id": "no-such-service"},
        {**good, "template": {"id": "spot"}},
        "not a scenario",
    ]
    status, body, _ = call("POST", "/v1/simulate/batch", body={"scenarios": scenarios})
    assert status == 200, body
    entries = body["results"]
    assert [e["index"] for e in entries] == [0, 1, 2, 3, 4, 5]
    assert [e["status"] for e in entries] == [200, 422, 422, 404, 200, 422]
    assert body["succeeded"] == 2 and body["failed"] == 4
    assert entries[1]["problem"]["errors"][0]["loc"] == ["body", "scenarios", 1, "traffic_multiplier"]
    assert entries[2]["problem"]["errors"][0]["loc"] == ["changes", 0, "config", "memory_mb"]
    assert entries[3]["problem"]["title"] == "Not found"
    spot = entries[4]["result"]
    assert spot["savings_usd"]["p50"] > 0
    status, stored, _ = call("GET", f"/v1/simulate/{spot['simulation_id']}")
    assert status == 200 and stored["savings_usd"] == spot["savings_usd"]


def test_batch_over_fifty_is_413(call, shop_without_history) -> None:
    scenarios = [{"service_id": SERVICE_ID}] * 51
    status, body, headers = call("POST", "/v1/simulate/batch", body={"scenarios": scenarios})
    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    assert body["max_scenarios"] == 50


@pytest.mark.parametrize(("body", "loc"), [
    ({"service_id": SERVICE_ID, "samples": 50}, ["body", "samples"]),
    ({"service_id": SERVICE_ID, "samples": 20_000}, ["body", "samples"]),
    ({"service_id": SERVICE_ID, "horizon_days": 91}, ["body", "horizon_days"]),
    ({"service_id": SERVICE_ID, "traffic_multiplier": 0.05}, ["body", "traffic_multiplier"]),
    ({"service_id": SERVICE_ID, "growth_pct_per_month": -95}, ["body", "growth_pct_per_month"]),
    ({"service_id": SERVICE_ID, "template": {"id": "moon-landing"}}, ["body", "template", "id"]),
    ({"service_id": SERVICE_ID, "template": {"id": "seasonal-peak", "params": {"days": 0}}},
     ["template", "params", "days"]),
    ({"service_id": SERVICE_ID, "changes": [{"resource_id": "api", "config": {"cpu_units": 256,
                                                                             "memory_mb": 8192}}]},
     ["changes", 0, "config"]),
    ({"service_id": SERVICE_ID, "recommendation_ids": ["rec-nope"]}, ["recommendation_ids", 0]),
])
def test_input_limits_are_clear_422s(call, shop_without_history, body, loc) -> None:
    status, problem, _ = call("POST", "/v1/simulate", body=body)
    assert status == 422, problem
    assert problem["errors"][0]["loc"] == loc


def test_a_service_without_enough_history_is_409_with_the_hours(call, tables) -> None:
    _register({**SPEC, "name": "New"}, service_id="brand-new", history=False)
    status, problem, _ = call("POST", "/v1/simulate", body={"service_id": "brand-new"})
    assert status == 409
    assert problem["hours_available"] == 0 and problem["hours_required"] == 48
    assert "0 hours" in problem["detail"]


def test_unknown_service_is_404(call, tables) -> None:
    status, problem, _ = call("POST", "/v1/simulate", body={"service_id": "ghost-service"})
    assert status == 404 and "ghost-service" in problem["detail"]


def test_scopes_posts_write_gets_read(call, shop_without_history) -> None:
    status, problem, _ = call("POST", "/v1/simulate", body={"service_id": SERVICE_ID}, scopes=["costopt/read"])
    assert status == 403 and problem["required_scopes"] == ["costopt/write"]
    status, problem, _ = call("POST", "/v1/simulate/batch", body={"scenarios": []}, scopes=["costopt/read"])
    assert status == 403
    status, _, _ = call("GET", "/v1/simulate/templates", scopes=["costopt/write"])
    assert status == 403
    status, _, _ = call("GET", "/v1/simulate/templates", scopes=["costopt/read"])
    assert status == 200
    status, _, _ = call("GET", "/v1/simulate/sim-x", authorized=False)
    assert status == 401
