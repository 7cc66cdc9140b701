"""The local API gateway over real HTTP: template routes, the JWT authorizer, the real handlers and
DynamoDB Local behind them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from local.auth import issue, load_or_create_keys
from local.ddb import free_port
from local.gateway import Gateway, make_server, serve_in_thread

SPEC = {
    "name": "Orders",
    "team": "commerce",
    "resources": [{"resource_id": "api", "kind": "ecs_service", "cluster": "demo", "service_name": "orders",
                   "config": {"cpu_units": 2048, "memory_mb": 4096, "desired_count": 4}}],
    "sla": {"availability_pct": 99.9},
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return load_or_create_keys(tmp_path_factory.mktemp("jwt"))


@pytest.fixture(scope="module")
def base_url(dynamodb, keys):
    server = make_server(Gateway.from_template(keys, log=False), "127.0.0.1", free_port())
    thread = serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def request(url: str, method: str = "GET", *, token: str | None = None, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json",
                                                                         **(headers or {})})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, dict(err.headers.items()), err.read()
    hdrs = {k.lower(): v for k, v in hdrs.items()}  # HTTP header names are case-insensitive
    ctype = hdrs.get("content-type", "")
    return status, hdrs, (json.loads(raw) if raw and "json" in ctype else raw)


def test_no_token_is_401_like_api_gateway(base_url, tables):
    status, headers, body = request(f"{base_url}/v1/services/orders")
    assert status == 401 and body == {"message": "Unauthorized"}
    assert headers.get("www-authenticate", "").startswith("Bearer")
    status, _, body = request(f"{base_url}/v1/services/orders", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert status == 401 and body == {"message": "Unauthorized"}


@pytest.mark.parametrize("case", ["expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "other_key",
                                  "tampered", "garbage"])
def test_invalid_tokens_are_401(base_url, tables, keys, tmp_path, case):
    now = time.time()
    token = {
        "expired": lambda: issue(keys, now=now - 7200, ttl_s=3600),
        "not_yet_valid": lambda: issue(keys, not_before=now + 600),
        "wrong_issuer": lambda: issue(keys, issuer="https://evil.example"),
        "wrong_audience": lambda: issue(keys, audience="someone-else"),
        "other_key": lambda: issue(load_or_create_keys(tmp_path / "other")),
        "tampered": lambda: issue(keys)[:-6] + "AAAAAA",
        "garbage": lambda: "not.a.jwt",
    }[case]()
    status, _, body = request(f"{base_url}/v1/services/orders", token=token)
    assert status == 401 and body == {"message": "Unauthorized"}


def test_token_without_the_route_scope_is_403(base_url, tables, keys):
    read_only = issue(keys, scopes=["costopt/read"])
    status, _, body = request(f"{base_url}/v1/services/orders", "PUT", token=read_only, body=SPEC)
    assert status == 403 and body == {"message": "Forbidden"}
    status, _, body = request(f"{base_url}/v1/services/orders", token=issue(keys, scopes=["costopt/write"]))
    assert status == 403 and body == {"message": "Forbidden"}
    # the scope is checked by the gateway before the function runs: nothing was written
    assert tables.scan(TableName="costopt-services", Select="COUNT")["Count"] == 0


def test_put_get_delete_with_a_valid_token(base_url, tables, keys):
    token = issue(keys, subject="alice")
    status, headers, body = request(f"{base_url}/v1/services/orders", "PUT", token=token, body=SPEC)
    assert status == 201, body
    assert body["service_id"] == "orders" and body["version"] == 1 and headers["etag"] == '"1"'
    status, headers, body = request(f"{base_url}/v1/services/orders", token=issue(keys, scopes=["costopt/read"]))
    assert status == 200 and body["resources"][0]["config"]["desired_count"] == 4
    assert headers["content-type"] == "application/json"
    status, _, body = request(f"{base_url}/v1/services/orders", "PUT", token=token, body={**SPEC, "version": 7})
    assert status == 409 and body["current_version"] == 1
    status, _, body = request(f"{base_url}/v1/services/orders?version=1", "DELETE", token=token)
    assert status == 204 and body == b""
    status, headers, body = request(f"{base_url}/v1/services/orders", token=token)
    assert status == 404 and headers["content-type"] == "application/problem+json" and body["status"] == 404


def test_bad_input_through_the_gateway_is_a_problem(base_url, tables, keys):
    token = issue(keys)
    req = urllib.request.Request(f"{base_url}/v1/services/orders", data=b"{oops", method="PUT",
                                 headers={"content-type": "application/json", "Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400 and err.value.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_404_not_found(base_url, tables, keys):
    token = issue(keys)
    for url, method in [(f"{base_url}/v2/nothing", "GET"), (f"{base_url}/v1/services", "GET"),
                        (f"{base_url}/v1/services/orders", "PATCH")]:
        status, _, body = request(url, method, token=token)
        assert status == 404 and body == {"message": "Not Found"}, (url, method)


def test_public_route_needs_no_token(base_url, tables):
    status, headers, _ = request(f"{base_url}/v1/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
