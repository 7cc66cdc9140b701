"""Options whose cost rests on an assumption say so: the Fargate Spot discount (``fargate_spot_discount``): the
tests that need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/pricing/test_assumptions.py``."""


from __future__ import annotations

import json
from datetime import timedelta

import pytest

from costopt import clock
from costopt.domain.service import Service
from costopt.pricing import GENERIC_UNIT_PRICE_ESTIMATE
from local.events import http_event
from local.synthetic import generate
from tests.unit.pricing.test_assumptions import FARGATE_URL, K8S  # shared with the tests that need no AWS


@pytest.fixture
def api(tables, lambda_context):
    from functions.recommend.app import lambda_handler as recommend_handler
    from functions.services.app import lambda_handler as services_handler

    def call(handler, method, path, **kw):
        resp = handler(http_event(method, path, **kw), lambda_context)
        return resp["statusCode"], (json.loads(resp["body"]) if resp.get("body") else None)

    return lambda *a, **kw: call(services_handler, *a, **kw), lambda *a, **kw: call(recommend_handler, *a, **kw)


def test_register_a_generic_resource_without_prices_then_see_the_estimate_labelled(api):
    from costopt.store.observations import ObservationRepository

    services, recommendations = api
    spec = {"name": "K8s", "team": "ml", "resources": [{"resource_id": "k8s", **K8S}],
            "sla": {"latency_p99_ms": 400, "availability_pct": 99.9},
            "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}
    status, body = services("PUT", "/v1/services/k8s-shop", body=spec)
    assert status == 201, body
    config = body["resources"][0]["config"]
    assert config["price_per_core_hour_usd"] is None and config["price_per_gb_hour_usd"] is None
    # a negative price is still a 422 with a readable detail
    bad = {**spec, "resources": [{"resource_id": "k8s", **K8S, "config": {**K8S["config"],
                                                                          "price_per_core_hour_usd": -1}}]}
    status, problem = services("PUT", "/v1/services/k8s-other", body=bad)
    assert status == 422 and "price_per_core_hour_usd" in json.dumps(problem)

    now = clock.now().replace(minute=0, second=0, microsecond=0)
    svc = Service.model_validate({**body})
    ObservationRepository().fold("k8s-shop", generate(svc, now - timedelta(days=3), now))
    status, out = recommendations("POST", "/v1/recommend", body={"service_id": "k8s-shop", "lookback_days": 3})
    assert status == 200, out
    (warning,) = [w for w in out["warnings"] if w.startswith("k8s:")]
    assert GENERIC_UNIT_PRICE_ESTIMATE in warning and "$0.04048 per core-hour" in warning and FARGATE_URL in warning
    assert out["recommendations"]
    for rec in out["recommendations"]:
        assert any(GENERIC_UNIT_PRICE_ESTIMATE in n for n in rec["evidence"]["notes"])
