"""What each telemetry source declares it can serve (``TelemetrySource.serves``) is what it returns,: the tests
that need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/connectors/test_serves.py``."""
# ruff: noqa: F811  (pytest fixtures imported from the unit half are parameters here)


from __future__ import annotations

from typing import Any

from tests.unit.connectors.test_serves import no_plugins  # noqa: F401  (fixtures of the tests here)


def test_a_deployment_without_the_plugin_refuses_a_synthetic_service_with_422(
        no_plugins: None, tables: Any, lambda_context: Any) -> None:
    import json

    from functions.services.app import lambda_handler
    from local.events import http_event

    body = {"name": "Shop", "team": "shop", "resources": [
        {"resource_id": "fn", "kind": "lambda_function", "function_name": "shop", "config": {"memory_mb": 512}}],
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}
    resp = lambda_handler(http_event("PUT", "/v1/services/shop", body=body), lambda_context)
    assert resp["statusCode"] == 422 and resp["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(resp["body"])
    assert problem["status"] == 422 and problem["source"] == "synthetic"
    assert [e["loc"] for e in problem["errors"]] == [["body", "telemetry", "source"], ["body", "billing", "source"]]
    assert "not available in this deployment (available: cloudwatch, prometheus)" in problem["errors"][0]["msg"]
    cloudwatch = {**body, "telemetry": {"source": "cloudwatch"}, "billing": {"source": "cost_explorer"}}
    assert lambda_handler(http_event("PUT", "/v1/services/shop", body=cloudwatch), lambda_context)["statusCode"] == 201
