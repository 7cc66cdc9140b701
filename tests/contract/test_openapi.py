"""The OpenAPI document the services function serves (``GET /v1/openapi.json``, generated from the routers'
models) tells a client what a service must name: its telemetry and billing sources are required, with no
default (nothing is analysed on made-up data unless the client says so)."""

from __future__ import annotations

import json
from typing import Any

from local.events import http_event
from tests.contract.support import import_handler
from tests.support.lambda_context import LambdaContext


def served_document() -> dict[str, Any]:
    response = import_handler("services").lambda_handler(http_event("GET", "/v1/openapi.json"), LambdaContext())
    assert response["statusCode"] == 200, response
    document: dict[str, Any] = json.loads(response["body"])
    return document


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or what its ``$ref`` (alone or as the only ``allOf`` member) points to."""
    ref = schema.get("$ref") or next((s["$ref"] for s in schema.get("allOf", []) if "$ref" in s), None)
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    target: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return target


def assert_required_without_default(schema: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in schema.get("required", []), (name, schema.get("required"))
    prop: dict[str, Any] = schema["properties"][name]
    assert "default" not in prop, (name, prop)
    assert prop.get("type") != "null" and not any(s.get("type") == "null" for s in prop.get("anyOf", [])), prop
    return prop


def test_a_put_service_body_requires_its_telemetry_and_billing_sources_without_default() -> None:
    document = served_document()
    put = document["paths"]["/v1/services/{service_id}"]["put"]
    body = resolve(document, put["requestBody"]["content"]["application/json"]["schema"])
    for part, sources in (("telemetry", {"cloudwatch", "prometheus"}), ("billing", {"cost_explorer", "http",
                                                                                    "focus_csv"})):
        nested = resolve(document, assert_required_without_default(body, part))
        source = assert_required_without_default(nested, "source")
        assert sources <= set(source["enum"]) and None not in source["enum"], source
        assert "Required" in source["description"]


def test_the_served_document_is_the_generated_one() -> None:
    from costopt.api.openapi import openapi_document

    assert served_document() == json.loads(json.dumps(openapi_document()))
