"""The services function and repository against DynamoDB Local, through the real handler."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from local.events import http_event
from local.functions import function_by_name

SPEC: dict[str, Any] = {
    "name": "Checkout",
    "team": "payments",
    "resources": [
        {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
         "config": {"memory_mb": 3008}},
        {"resource_id": "db", "kind": "dynamodb_table", "table_name": "checkout-orders",
         "config": {"billing_mode": "PROVISIONED", "rcu": 500, "wcu": 500}},
    ],
    "sla": {"latency_p99_ms": 300, "availability_pct": 99.9},
    "budget": {"monthly_usd": 500},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}


def _invoke(function: str, lambda_context: Any, method: str, path: str, **kw: Any) -> tuple[int, Any, dict]:
    resp = function_by_name(function).handler()(http_event(method, path, **kw), lambda_context)
    body = resp.get("body")
    return resp["statusCode"], (json.loads(body) if body else None), resp.get("headers", {})


@pytest.fixture
def call(tables, lambda_context):
    def _call(method: str, path: str, **kw: Any) -> tuple[int, Any, dict]:
        return _invoke("services", lambda_context, method, path, **kw)

    return _call


def test_create_get_replace_delete_round_trip(call, tables):
    status, body, headers = call("PUT", "/v1/services/checkout", body=SPEC)
    assert status == 201 and body["version"] == 1 and headers["ETag"] == '"1"'
    # what DynamoDB Local holds is what the handler returned
    item = tables.get_item(TableName="costopt-services", Key={"service_id": {"S": "checkout"}},
                           ConsistentRead=True)["Item"]
    assert item["version"]["N"] == "1" and item["team"]["S"] == "payments" and item["resource_count"]["N"] == "2"

    status, body, _ = call("GET", "/v1/services/checkout")
    assert status == 200
    assert body["resources"][1]["config"] == {"billing_mode": "PROVISIONED", "rcu": 500, "wcu": 500}

    status, body, _ = call("PUT", "/v1/services/checkout", body={**SPEC, "team": "checkout", "version": 1})
    assert status == 200 and body["version"] == 2 and body["team"] == "checkout"
    created_at = body["created_at"]
    status, body, _ = call("GET", "/v1/services/checkout")
    assert body["version"] == 2 and body["created_at"] == created_at and body["updated_at"] >= created_at

    status, body, _ = call("DELETE", "/v1/services/checkout", query={"version": "1"})
    assert status == 409 and body["current_version"] == 2  # a stale delete is refused
    status, _, _ = call("DELETE", "/v1/services/checkout", query={"version": "2"})
    assert status == 204
    status, body, headers = call("GET", "/v1/services/checkout")
    assert status == 404 and headers["Content-Type"] == "application/problem+json" and body["status"] == 404
    status, body, _ = call("DELETE", "/v1/services/checkout")
    assert status == 404


def test_stale_version_conflicts(call):
    assert call("PUT", "/v1/services/orders", body=SPEC)[0] == 201
    status, body, _ = call("PUT", "/v1/services/orders", body=SPEC)  # create again
    assert status == 409 and body["current_version"] == 1
    assert call("PUT", "/v1/services/orders", body={**SPEC, "version": 1})[0] == 200
    status, body, headers = call("PUT", "/v1/services/orders", body={**SPEC, "version": 1})
    assert status == 409 and body["current_version"] == 2
    assert headers["Content-Type"] == "application/problem+json" and body["type"].endswith("conflict")
    status, body, _ = call("PUT", "/v1/services/missing", body={**SPEC, "version": 3})
    assert status == 404


def test_concurrent_replaces_of_one_version_let_exactly_one_win(call):
    """Optimistic locking is a conditional write in DynamoDB Local: 8 writers of version 1, one winner."""
    from costopt.domain.service import ServicePut
    from costopt.errors import Conflict
    from costopt.store.services import ServiceRepository

    assert call("PUT", "/v1/services/race", body=SPEC)[0] == 201
    repo = ServiceRepository()
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            repo.put("race", ServicePut.model_validate({**SPEC, "name": f"writer {i}", "version": 1}))
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    assert repo.get("race").version == 2


def test_repository_list_pages_through_the_gsi(call):
    from costopt.store.services import ServiceRepository

    ids = ["svc-c", "svc-a", "svc-e", "svc-b", "svc-d"]
    for sid in ids:
        assert call("PUT", f"/v1/services/{sid}", body={**SPEC, "team": "alpha" if sid < "svc-c" else "beta"})[0] == 201
    repo = ServiceRepository()
    pages, token = [], None
    while True:
        items, token = repo.list(limit=2, next_token=token)
        pages.append([s.service_id for s in items])
        if token is None:
            break
        assert len(pages) < 10
    assert pages == [["svc-a", "svc-b"], ["svc-c", "svc-d"], ["svc-e"]]
    team_items, team_token = repo.list(limit=10, team="alpha")
    assert [s.service_id for s in team_items] == ["svc-a", "svc-b"] and team_token is None
    assert sorted(repo.iter_ids(page_size=2)) == sorted(ids)


def test_list_route_pages_with_next_token(call, lambda_context):
    """GET /v1/metrics/services (the metrics function) pages with limit and an opaque next_token."""
    for sid in ["svc-c", "svc-a", "svc-e", "svc-b", "svc-d"]:
        assert call("PUT", f"/v1/services/{sid}", body=SPEC)[0] == 201
    seen: list[str] = []
    query: dict[str, str] = {"limit": "2"}
    for _ in range(5):
        status, body, _ = _invoke("metrics", lambda_context, "GET", "/v1/metrics/services", query=query)
        assert status == 200, body
        assert len(body["items"]) <= 2
        seen += [s["service_id"] for s in body["items"]]
        if not body.get("next_token"):
            break
        query = {"limit": "2", "next_token": body["next_token"]}
    assert seen == ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e"]
    status, body, _ = _invoke("metrics", lambda_context, "GET", "/v1/metrics/services",
                              query={"next_token": "forged.token"})
    assert status == 400 and body["status"] == 400


@pytest.mark.parametrize(
    ("path", "body", "query", "expected"),
    [
        ("/v1/services/Bad_Id", SPEC, None, 422),
        ("/v1/services/ab", SPEC, None, 422),
        ("/v1/services/checkout", "{not json", None, 400),
        ("/v1/services/checkout", [1, 2], None, 422),
        ("/v1/services/checkout", {**SPEC, "unknown": 1}, None, 422),
        ("/v1/services/checkout", {**SPEC, "resources": [SPEC["resources"][0]] * 2}, None, 422),
        ("/v1/services/checkout", {**SPEC, "resources": [{"resource_id": "x", "kind": "nope"}]}, None, 422),
        ("/v1/services/checkout", {**SPEC, "budget": {"monthly_usd": -5}}, None, 422),
        ("/v1/services/checkout", {**SPEC, "version": 0}, None, 422),
        ("/v1/services/checkout", {**SPEC, "resources": [{"resource_id": "t", "kind": "dynamodb_table",
                                                          "table_name": "t1", "config": {
                                                              "billing_mode": "PROVISIONED"}}]}, None, 422),
    ],
)
def test_bad_input_is_a_4xx_problem(call, tables, path, body, query, expected):
    status, problem, headers = call("PUT", path, body=body, query=query)
    assert status == expected
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == expected and problem["title"] and problem["type"].startswith("https://")
    # nothing was written
    assert tables.scan(TableName="costopt-services", Select="COUNT")["Count"] == 0


def test_bad_delete_version_is_4xx(call):
    assert call("PUT", "/v1/services/checkout", body=SPEC)[0] == 201
    status, body, _ = call("DELETE", "/v1/services/checkout", query={"version": "zero"})
    assert status == 422 and body["errors"][0]["loc"][-1] == "version"
