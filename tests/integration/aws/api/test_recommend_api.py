"""The recommend function through its real handler with HttpApi v2 events (moto DynamoDB): the service
is registered, three days of synthetic telemetry are folded into the Observations table, then
POST /v1/recommend, GET /v1/recommendations/{id} and dismiss/restore."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from costopt import clock
from local.events import http_event

SPEC = {
    "name": "Shop",
    "team": "payments",
    "resources": [
        {"resource_id": "vol", "kind": "ebs_volume", "volume_id": "vol-0123456789abcdef0",
         "config": {"volume_type": "gp2", "size_gb": 500}},
        {"resource_id": "web", "kind": "ecs_service", "cluster": "c", "service_name": "web",
         "config": {"cpu_units": 2048, "memory_mb": 8192, "desired_count": 6}},
    ],
    "sla": {"latency_p99_ms": 400, "availability_pct": 99.9},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}


@pytest.fixture
def call(tables, lambda_context):
    from functions.recommend.app import lambda_handler

    def _call(method, path, **kw):
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        body = resp.get("body")
        return resp["statusCode"], (json.loads(body) if body else None)

    return _call


@pytest.fixture
def shop(tables):
    from costopt.domain.service import ServicePut
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository
    from local.synthetic import generate

    service, _ = ServiceRepository().put("shop", ServicePut.model_validate(SPEC))
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    ObservationRepository().fold("shop", generate(service, now - timedelta(days=3), now))
    return service


def test_recommend_lists_and_supersedes(call, shop):
    status, body = call("POST", "/v1/recommend", body={"service_id": "shop", "lookback_days": 3})
    assert status == 200, body
    assert body["service_id"] == "shop" and body["lookback_days"] == 3 and body["insufficient_data"] == []
    assert body["data_coverage_pct"] > 90 and body["current_monthly_cost_usd"] > 50
    recs = body["recommendations"]
    assert {r["resource_id"] for r in recs} == {"vol", "web"}
    for r in recs:
        for field in ("recommendation_id", "resource_id", "kind", "action", "current", "proposed",
                      "monthly_cost_current_usd", "monthly_cost_proposed_usd", "monthly_savings_usd", "savings_pct",
                      "performance_risk", "confidence", "priority", "xor_group", "sla", "status", "etag", "evidence"):
            assert field in r, field
        assert r["status"] == "ACTIVE" and r["sla"]["compliant"] is True and r["sla"]["clauses"]
    gp3 = next(r for r in recs if r["action"] == "ebs_gp3")
    assert gp3["monthly_savings_usd"] == 10.0 and gp3["savings_pct"] == 20.0
    assert any("latency_p99_ms" in o["failed_clauses"] for o in body["rejected"])

    status, page = call("GET", "/v1/recommendations/shop", query={"status": "ACTIVE"})
    assert status == 200 and len(page["items"]) == len(recs)

    status, again = call("POST", "/v1/recommend", body={"service_id": "shop", "lookback_days": 3,
                                                         "strategy": "cost"})
    assert status == 200
    status, active = call("GET", "/v1/recommendations/shop", query={"status": "ACTIVE"})
    new_ids = {r["recommendation_id"] for r in again["recommendations"]}
    assert {r["recommendation_id"] for r in active["items"]} == new_ids
    status, superseded = call("GET", "/v1/recommendations/shop", query={"status": "SUPERSEDED"})
    assert {r["recommendation_id"] for r in superseded["items"]} == {r["recommendation_id"] for r in recs}

    status, page1 = call("GET", "/v1/recommendations/shop", query={"limit": "2"})
    assert status == 200 and len(page1["items"]) == 2 and page1["next_token"]
    status, page2 = call("GET", "/v1/recommendations/shop", query={"limit": "2", "next_token": page1["next_token"]})
    assert status == 200 and page2["items"][0]["recommendation_id"] < page1["items"][1]["recommendation_id"]


def test_dismiss_restore_and_stale_etag(call, shop):
    _, body = call("POST", "/v1/recommend", body={"service_id": "shop", "lookback_days": 3})
    r = body["recommendations"][0]
    path = f"/v1/recommendations/shop/{r['recommendation_id']}/dismiss"
    status, dismissed = call("POST", path, body={"etag": r["etag"], "reason": "planned migration"})
    assert status == 200 and dismissed["status"] == "DISMISSED" and dismissed["etag"] != r["etag"]
    assert dismissed["status_reason"] == "planned migration"

    status, problem = call("POST", path, body={"etag": r["etag"], "restore": True})
    assert status == 409 and problem["current_etag"] == dismissed["etag"]
    assert problem["current_status"] == "DISMISSED"

    status, restored = call("POST", path, body={"etag": dismissed["etag"], "restore": True})
    assert status == 200 and restored["status"] == "ACTIVE"

    # a new run supersedes the restored one too; dismissing a superseded one is a 409
    call("POST", "/v1/recommend", body={"service_id": "shop", "lookback_days": 3})
    status, problem = call("POST", path, body={"etag": restored["etag"]})
    assert status == 409 and problem["current_status"] == "SUPERSEDED"


def test_insufficient_data(call, tables):
    from costopt.domain.service import ServicePut
    from costopt.store.services import ServiceRepository

    ServiceRepository().put("empty", ServicePut.model_validate(SPEC))
    status, body = call("POST", "/v1/recommend", body={"service_id": "empty"})
    assert status == 200 and body["recommendations"] == [] and body["data_coverage_pct"] == 0
    assert {(i["resource_id"], i["hours_required"]) for i in body["insufficient_data"]} >= {("vol", 30), ("web", 30)}
    assert body["current_monthly_cost_usd"] > 0


@pytest.mark.parametrize(
    ("method", "path", "kw", "expected"),
    [
        ("POST", "/v1/recommend", {"body": {"service_id": "nope"}}, 404),
        ("POST", "/v1/recommend", {"body": {"service_id": "shop", "lookback_days": 94}}, 422),
        ("POST", "/v1/recommend", {"body": {"service_id": "shop", "strategy": "fastest"}}, 422),
        ("POST", "/v1/recommend", {"body": {"service_id": "shop", "extra": 1}}, 422),
        ("POST", "/v1/recommend", {"body": "{oops"}, 400),
        ("POST", "/v1/recommend", {"body": {"service_id": "shop"}, "scopes": ["costopt/read"]}, 403),
        ("POST", "/v1/recommend", {"body": {"service_id": "shop"}, "authorized": False}, 401),
        ("GET", "/v1/recommendations/shop", {"query": {"status": "DONE"}}, 422),
        ("GET", "/v1/recommendations/shop", {"query": {"limit": "0"}}, 422),
        ("GET", "/v1/recommendations/shop", {"query": {"next_token": "forged.token"}}, 400),
        ("GET", "/v1/recommendations/shop", {"scopes": ["costopt/write"]}, 403),
        ("POST", "/v1/recommendations/shop/r123/dismiss", {"body": {"etag": "x"}}, 404),
        ("POST", "/v1/recommendations/shop/r123/dismiss", {"body": {}}, 422),
        ("POST", "/v1/recommendations/shop/r123/dismiss", {"body": {"etag": "x"}, "scopes": ["costopt/read"]}, 403),
    ],
)
def test_bad_requests(call, tables, method, path, kw, expected):
    status, body = call(method, path, **kw)
    assert status == expected, body
    assert body["status"] == expected
