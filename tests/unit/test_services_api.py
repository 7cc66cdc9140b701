"""The services function through its real handler, with HttpApi v2 events (moto DynamoDB)."""

from __future__ import annotations

import json

import pytest

from local.events import http_event

SPEC = {
    "name": "Checkout",
    "team": "payments",
    "resources": [
        {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
         "config": {"memory_mb": 1024}},
    ],
    "sla": {"latency_p99_ms": 300, "availability_pct": 99.9},
    "budget": {"monthly_usd": 500},
}


@pytest.fixture
def call(tables, lambda_context):
    from functions.services.app import lambda_handler

    def _call(method, path, **kw):
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        body = resp.get("body")
        return resp["statusCode"], (json.loads(body) if body else None), resp.get("headers", {})

    return _call


def test_create_get_replace_delete(call):
    status, body, headers = call("PUT", "/v1/services/checkout", body=SPEC)
    assert status == 201
    assert body["version"] == 1 and body["service_id"] == "checkout"
    assert body["sla"]["max_cpu_utilization_pct"] == 80  # default filled in
    assert [n["threshold"] for n in body["budget"]["notifications"]] == [80, 100, 100]

    status, body, _ = call("GET", "/v1/services/checkout")
    assert status == 200 and body["resources"][0]["config"]["architecture"] == "x86_64"

    status, body, _ = call("PUT", "/v1/services/checkout", body={**SPEC, "name": "Checkout v2", "version": 1})
    assert status == 200 and body["version"] == 2 and body["name"] == "Checkout v2"

    status, body, _ = call("DELETE", "/v1/services/checkout", query={"version": "2"})
    assert status == 204
    status, body, headers = call("GET", "/v1/services/checkout")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"


def test_stale_version_and_duplicate_create_conflict(call):
    assert call("PUT", "/v1/services/checkout", body=SPEC)[0] == 201
    status, body, _ = call("PUT", "/v1/services/checkout", body=SPEC)
    assert status == 409 and body["current_version"] == 1
    assert call("PUT", "/v1/services/checkout", body={**SPEC, "version": 1})[0] == 200
    status, body, _ = call("PUT", "/v1/services/checkout", body={**SPEC, "version": 1})
    assert status == 409 and body["current_version"] == 2 and body["status"] == 409


def test_auth_401_and_403(call):
    status, body, headers = call("GET", "/v1/services/checkout", authorized=False)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = call("PUT", "/v1/services/checkout", body=SPEC, scopes=["costopt/read"])
    assert status == 403 and body["required_scopes"] == ["costopt/write"]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1/services/X!", SPEC, 422),
        ("/v1/services/ab", SPEC, 422),  # shorter than 3
        ("/v1/services/checkout", "{not json", 400),
        ("/v1/services/checkout", [1, 2], 422),
        ("/v1/services/checkout", {**SPEC, "unknown": 1}, 422),
        ("/v1/services/checkout", {**SPEC, "resources": [SPEC["resources"][0]] * 2}, 422),
        ("/v1/services/checkout", {**SPEC, "resources": [{"resource_id": "x", "kind": "nope"}]}, 422),
        ("/v1/services/checkout", {**SPEC, "sla": {"availability_pct": 101}}, 422),
        ("/v1/services/checkout", {**SPEC, "budget": {"monthly_usd": -1}}, 422),
    ],
)
def test_bad_input_is_problem_json(call, path, body, expected):
    status, problem, headers = call("PUT", path, body=body)
    assert status == expected
    assert headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == expected and problem["title"]


def test_unknown_route_is_404_problem(call):
    status, body, _ = call("GET", "/v1/nothing-here")
    assert status == 404 and body["type"].endswith("no-route")
