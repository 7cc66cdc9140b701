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
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
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


GENERIC = {"resource_id": "web", "kind": "generic", "workload": "shop/web",
           "config": {"replicas": 2, "cpu_cores": 1, "memory_gb": 2}}
PROMETHEUS = {"source": "prometheus", "prometheus": {"url": "http://prometheus.internal:9090"}}


def test_a_resource_its_telemetry_source_cannot_serve_is_422(call):
    # Prometheus reads workloads (generic); the Lambda would pull nothing, forever
    body = {**SPEC, "resources": [GENERIC, SPEC["resources"][0]], "telemetry": PROMETHEUS}
    status, problem, headers = call("PUT", "/v1/services/checkout", body=body)
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == 422 and problem["source"] == "prometheus"
    assert "api (lambda_function)" in problem["detail"]
    assert problem["unserved"] == [{"resource_id": "api", "kind": "lambda_function",
                                    "sources": ["cloudwatch", "synthetic"]}]
    [error] = problem["errors"]
    assert error["loc"] == ["body", "resources", 1, "kind"] and error["type"] == "source_cannot_serve"
    assert "cloudwatch, synthetic" in error["msg"]
    assert call("GET", "/v1/services/checkout")[0] == 404  # nothing stored

    # CloudWatch has nothing for a Kubernetes workload
    status, problem, _ = call("PUT", "/v1/services/checkout",
                              body={**SPEC, "resources": [GENERIC], "telemetry": {"source": "cloudwatch"}})
    assert status == 422 and problem["unserved"] == [{"resource_id": "web", "kind": "generic",
                                                      "sources": ["prometheus", "synthetic"]}]

    # what each source can serve is accepted, and a replace is checked the same way
    status, created, _ = call("PUT", "/v1/services/checkout",
                              body={**SPEC, "resources": [GENERIC], "telemetry": PROMETHEUS})
    assert status == 201 and created["telemetry"]["source"] == "prometheus"
    status, problem, _ = call("PUT", "/v1/services/checkout", body={**body, "version": 1})
    assert status == 422 and problem["unserved"][0]["resource_id"] == "api"
    assert call("GET", "/v1/services/checkout")[1]["version"] == 1
    status, replaced, _ = call("PUT", "/v1/services/checkout",
                               body={**body, "telemetry": {"source": "synthetic"}, "version": 1})
    assert status == 200 and replaced["version"] == 2


def test_prometheus_query_for_an_unknown_metric_is_422(call):
    telemetry = {**PROMETHEUS, "prometheus": {**PROMETHEUS["prometheus"],
                                              "queries": {"cpu_utilization_pct": "1", "cpu_pct": "2"}}}
    status, problem, _ = call("PUT", "/v1/services/checkout",
                              body={**SPEC, "resources": [GENERIC], "telemetry": telemetry})
    assert status == 422
    [error] = problem["errors"]
    assert error["loc"] == ["body", "telemetry", "prometheus", "queries", "cpu_pct"]
    assert error["type"] == "unknown_metric" and "cpu_utilization_pct" in error["msg"]


def _without(body, *keys):
    return {k: v for k, v in body.items() if k not in keys}


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (_without(SPEC, "telemetry", "billing"), ["telemetry", "billing"]),
        (_without(SPEC, "telemetry"), ["telemetry"]),
        (_without(SPEC, "billing"), ["billing"]),
        ({**SPEC, "telemetry": None, "billing": None}, ["telemetry", "billing"]),
        ({**SPEC, "telemetry": {"period_s": 300}}, ["telemetry.source"]),
        ({**SPEC, "billing": {"cost_allocation_tag": {"key": "costopt:service", "value": "checkout"}}},
         ["billing.source"]),
    ],
)
def test_a_service_without_its_telemetry_or_billing_source_is_422_saying_what_to_set(call, body, missing):
    from costopt.domain.service import BILLING_REQUIRED, TELEMETRY_REQUIRED

    status, problem, headers = call("PUT", "/v1/services/checkout", body=body)
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == 422
    message = {"telemetry": TELEMETRY_REQUIRED, "billing": BILLING_REQUIRED}
    assert [e["loc"] for e in problem["errors"]] == [["body", *name.split(".")] for name in missing]
    for error, name in zip(problem["errors"], missing, strict=True):
        assert error["msg"].endswith(message[name.split(".")[0]])  # pydantic prefixes "Value error, "
    assert call("GET", "/v1/services/checkout")[0] == 404  # nothing stored

    # naming the sources is all it takes
    status, created, _ = call("PUT", "/v1/services/checkout", body={
        **body, "telemetry": {"source": "cloudwatch"},
        "billing": {"source": "cost_explorer", "cost_allocation_tag": {"key": "costopt:service", "value": "checkout"}}})
    assert status == 201, created
    assert (created["telemetry"]["source"], created["billing"]["source"]) == ("cloudwatch", "cost_explorer")
