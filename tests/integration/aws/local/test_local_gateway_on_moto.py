"""The local gateway's pieces: route selection, the JWT authorizer, v2 events and responses,: the tests that need
AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/local/test_local_gateway.py``."""


from __future__ import annotations

import json

from local.auth import (
    issue,
    load_or_create_keys,
)
from local.gateway import Gateway
from tests.unit.local.test_local_gateway import NOW  # shared with the tests that need no AWS


def test_a_request_through_the_gateway_to_the_services_handler(tables, tmp_path):
    keys = load_or_create_keys(tmp_path)
    gateway = Gateway.from_template(keys, log=False, clock=lambda: NOW)
    auth = [("Authorization", f"Bearer {issue(keys, subject='bob', now=NOW)}"), ("Content-Type", "application/json")]
    spec = {"name": "Gw", "team": "t", "resources": [],
            "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}
    status, _, body = gateway.handle("PUT", "/v1/services/gw-one", auth, json.dumps(spec).encode())
    assert status == 201 and json.loads(body)["version"] == 1
    status, _, body = gateway.handle("GET", "/v1/services/gw-one?x=1", auth, None)
    assert status == 200 and json.loads(body)["name"] == "Gw"
    assert gateway.handle("GET", "/v1/services/gw-one", [], None)[0] == 401
    assert gateway.handle("GET", "/nowhere", auth, None) == (404, [("content-type", "application/json")],
                                                             b'{"message": "Not Found"}')


def test_the_gateway_authorizes_with_its_clock(tables, tmp_path):
    keys = load_or_create_keys(tmp_path)
    token = [("Authorization", f"Bearer {issue(keys, now=NOW, ttl_s=3600)}")]
    at = {"now": NOW + 10}
    gateway = Gateway.from_template(keys, log=False, clock=lambda: at["now"])
    assert gateway.handle("GET", "/v1/services/none", token, None)[0] == 404  # authorized: the handler's 404
    at["now"] = NOW + 3600
    assert gateway.handle("GET", "/v1/services/none", token, None)[:1] == (401,)
