"""A service names where its telemetry and billing come from: a missing source is refused with the message that
says what to set, and nothing defaults to the synthetic (made-up) data."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from costopt.domain.service import (
    BILLING_REQUIRED,
    TELEMETRY_REQUIRED,
    Billing,
    ServicePut,
    ServiceSpec,
    Telemetry,
)

BASE: dict[str, Any] = {"name": "Checkout", "team": "payments"}
CLOUDWATCH = {"source": "cloudwatch"}
COST_EXPLORER = {"source": "cost_explorer", "cost_allocation_tag": {"key": "costopt:service", "value": "checkout"}}


def errors(model: type[Any], body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return [(e["loc"], e["type"], e["msg"]) for e in info.value.errors()]


@pytest.mark.parametrize("model", [ServiceSpec, ServicePut])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BASE, [(("telemetry",), TELEMETRY_REQUIRED), (("billing",), BILLING_REQUIRED)]),
        ({**BASE, "billing": COST_EXPLORER}, [(("telemetry",), TELEMETRY_REQUIRED)]),
        ({**BASE, "telemetry": CLOUDWATCH}, [(("billing",), BILLING_REQUIRED)]),
        ({**BASE, "telemetry": None, "billing": None},
         [(("telemetry",), TELEMETRY_REQUIRED), (("billing",), BILLING_REQUIRED)]),
        ({**BASE, "telemetry": {"period_s": 300}, "billing": COST_EXPLORER},
         [(("telemetry", "source"), TELEMETRY_REQUIRED)]),
        ({**BASE, "telemetry": CLOUDWATCH, "billing": {"source": None}}, [(("billing", "source"), BILLING_REQUIRED)]),
    ],
)
def test_a_missing_source_is_refused_saying_what_to_set(model: type[Any], body: dict[str, Any],
                                                         expected: list[tuple[tuple[str, ...], str]]) -> None:
    assert errors(model, body) == [(loc, "value_error", f"Value error, {msg}") for loc, msg in expected]


def test_the_messages_name_the_sources_to_set_and_discovery() -> None:
    for source in ("cloudwatch", "prometheus"):
        assert f'"{source}"' in TELEMETRY_REQUIRED
    for source in ("cost_explorer", "http", "focus_csv"):
        assert f'"{source}"' in BILLING_REQUIRED
    assert "telemetry.source" in TELEMETRY_REQUIRED and "billing.source" in BILLING_REQUIRED
    assert "POST /v1/discover" in TELEMETRY_REQUIRED and "POST /v1/discover" in BILLING_REQUIRED
    assert "synthetic" not in TELEMETRY_REQUIRED + BILLING_REQUIRED  # the local demo's plugin, not advice


def test_named_sources_are_kept_as_given() -> None:
    spec = ServiceSpec.model_validate({**BASE, "telemetry": CLOUDWATCH, "billing": COST_EXPLORER})
    assert (spec.telemetry.source, spec.billing.source) == ("cloudwatch", "cost_explorer")
    assert spec.billing.cost_allocation_tag is not None and spec.billing.cost_allocation_tag.value == "checkout"
    # the model's own defaults dump both back, so a stored service round-trips
    assert ServiceSpec.model_validate(spec.model_dump()) == spec


@pytest.mark.parametrize(("model", "message"), [(Telemetry, TELEMETRY_REQUIRED), (Billing, BILLING_REQUIRED)])
def test_a_source_block_has_no_default_source(model: type[Any], message: str) -> None:
    assert errors(model, {}) == [(("source",), "value_error", f"Value error, {message}")]
    schema = model.model_json_schema()
    assert "source" in schema["required"] and "default" not in schema["properties"]["source"]


def test_the_service_schema_requires_both_without_default() -> None:
    for model in (ServiceSpec, ServicePut):
        schema = model.model_json_schema()
        assert {"telemetry", "billing"} <= set(schema["required"])
        assert "default" not in schema["properties"]["telemetry"]
        assert "default" not in schema["properties"]["billing"]
