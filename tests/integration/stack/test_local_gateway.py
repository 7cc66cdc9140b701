"""The local API gateway over real HTTP: template routes, the JWT authorizer, the real handlers and
DynamoDB Local behind them; and the HTTP side as an HTTP API answers it (any method, bursts of
clients, bodies over Lambda's limit, chunked and malformed requests)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from local.auth import issue, load_or_create_keys
from local.ddb import free_port
from local.gateway import MAX_BODY_BYTES, Gateway, make_server, serve_in_thread
from local.routes import load_routes

NOW = 1_800_000_000.0  # the gateway's clock and the tokens' issue time (epoch seconds; 2027-01-15)

SPEC = {
    "name": "Orders",
    "team": "commerce",
    "resources": [{"resource_id": "api", "kind": "ecs_service", "cluster": "demo", "service_name": "orders",
                   "config": {"cpu_units": 2048, "memory_mb": 4096, "desired_count": 4}}],
    "sla": {"availability_pct": 99.9},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return load_or_create_keys(tmp_path_factory.mktemp("jwt"))


@pytest.fixture(scope="module")
def base_url(dynamodb, keys):
    server = make_server(Gateway.from_template(keys, log=False, clock=lambda: NOW), "127.0.0.1", free_port())
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
    token = {
        "expired": lambda: issue(keys, now=NOW - 7200, ttl_s=3600),
        "not_yet_valid": lambda: issue(keys, now=NOW, not_before=NOW + 600),
        "wrong_issuer": lambda: issue(keys, now=NOW, issuer="https://evil.example"),
        "wrong_audience": lambda: issue(keys, now=NOW, audience="someone-else"),
        "other_key": lambda: issue(load_or_create_keys(tmp_path / "other"), now=NOW),
        "tampered": lambda: issue(keys, now=NOW)[:-6] + "AAAAAA",
        "garbage": lambda: "not.a.jwt",
    }[case]()
    status, _, body = request(f"{base_url}/v1/services/orders", token=token)
    assert status == 401 and body == {"message": "Unauthorized"}


def test_token_without_the_route_scope_is_403(base_url, tables, keys):
    read_only = issue(keys, scopes=["costopt/read"], now=NOW)
    status, _, body = request(f"{base_url}/v1/services/orders", "PUT", token=read_only, body=SPEC)
    assert status == 403 and body == {"message": "Forbidden"}
    status, _, body = request(f"{base_url}/v1/services/orders", token=issue(keys, scopes=["costopt/write"], now=NOW))
    assert status == 403 and body == {"message": "Forbidden"}
    # the scope is checked by the gateway before the function runs: nothing was written
    assert tables.scan(TableName="costopt-services", Select="COUNT")["Count"] == 0


def test_put_get_delete_with_a_valid_token(base_url, tables, keys):
    token = issue(keys, subject="alice", now=NOW)
    status, headers, body = request(f"{base_url}/v1/services/orders", "PUT", token=token, body=SPEC)
    assert status == 201, body
    assert body["service_id"] == "orders" and body["version"] == 1 and headers["etag"] == '"1"'
    reader = issue(keys, scopes=["costopt/read"], now=NOW)
    status, headers, body = request(f"{base_url}/v1/services/orders", token=reader)
    assert status == 200 and body["resources"][0]["config"]["desired_count"] == 4
    assert headers["content-type"] == "application/json"
    status, _, body = request(f"{base_url}/v1/services/orders", "PUT", token=token, body={**SPEC, "version": 7})
    assert status == 409 and body["current_version"] == 1
    status, _, body = request(f"{base_url}/v1/services/orders?version=1", "DELETE", token=token)
    assert status == 204 and body == b""
    status, headers, body = request(f"{base_url}/v1/services/orders", token=token)
    assert status == 404 and headers["content-type"] == "application/problem+json" and body["status"] == 404


def test_bad_input_through_the_gateway_is_a_problem(base_url, tables, keys):
    token = issue(keys, now=NOW)
    req = urllib.request.Request(f"{base_url}/v1/services/orders", data=b"{oops", method="PUT",
                                 headers={"content-type": "application/json", "Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400 and err.value.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_404_not_found(base_url, tables, keys):
    token = issue(keys, now=NOW)
    for url, method in [(f"{base_url}/v2/nothing", "GET"), (f"{base_url}/v1/services", "GET"),
                        (f"{base_url}/v1/services/orders", "PATCH")]:
        status, _, body = request(url, method, token=token)
        assert status == 404 and body == {"message": "Not Found"}, (url, method)


def test_public_route_needs_no_token(base_url, tables):
    status, headers, _ = request(f"{base_url}/v1/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------- the HTTP side, as an HTTP API answers


def _concrete(path: str) -> str:
    """A request path for a route path: every {param} and {param+} filled in."""
    return "/".join("x" if seg.startswith("{") else seg for seg in path.split("/"))


def _raw(base_url: str, data: bytes, *, shut: bool = True) -> bytes:
    """Send ``data`` as it is on a new connection; everything the gateway answers until it closes."""
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_json(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "MKCOL", "FOO"])
def test_any_method_goes_through_routing_and_is_404_on_every_route(base_url, tables, keys, method):
    """No 501 HTML page from http.server: like an HTTP API, a method no route declares is 404 JSON."""
    host = base_url.removeprefix("http://")
    auth = {"Authorization": f"Bearer {issue(keys, now=NOW)}"}
    for route in load_routes():
        conn = http.client.HTTPConnection(host, timeout=30)
        conn.request(method, _concrete(route.path), headers=auth)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 404, (method, route.route_key, resp.status, body[:200])
        assert resp.getheader("content-type") == "application/json"
        assert json.loads(body) == {"message": "Not Found"}


def test_twenty_simultaneous_posts_are_all_answered(base_url, tables, keys):
    """A burst of clients connecting at once: the listen backlog holds them all (none is reset)."""
    host = base_url.removeprefix("http://")
    headers = {"Authorization": f"Bearer {issue(keys, now=NOW)}", "content-type": "application/json"}
    start = threading.Barrier(20)
    results: list[Any] = []

    def post() -> None:
        conn = http.client.HTTPConnection(host, timeout=60)
        try:
            start.wait()
            conn.request("POST", "/v1/recommend", body=json.dumps({"service_id": "nobody"}), headers=headers)
            resp = conn.getresponse()
            results.append((resp.status, resp.read()))
        except Exception as exc:  # the failure under test: ConnectionResetError and friends
            results.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors and len(results) == 20, errors
    statuses = {status for status, _ in results}
    assert len(statuses) == 1 and statuses.pop() < 500  # every one reached the recommend handler


@pytest.mark.parametrize("size_mb", [7, 11])
def test_a_body_over_6_mb_gets_a_readable_413(base_url, tables, keys, size_mb):
    """The client sends the whole body, then reads the answer: 413 JSON, no broken pipe or reset."""
    host = base_url.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=60)
    body = b'{"name": "' + b"x" * (size_mb * 1024 * 1024) + b'"}'
    conn.request("PUT", "/v1/services/too-big", body=body,
                 headers={"Authorization": f"Bearer {issue(keys, now=NOW)}", "content-type": "application/json"})
    resp = conn.getresponse()
    answer = resp.read()
    conn.close()
    assert resp.status == 413 and json.loads(answer) == {"message": "Request Entity Too Large"}
    assert resp.getheader("content-type") == "application/json" and resp.getheader("connection") == "close"
    assert tables.scan(TableName="costopt-services", Select="COUNT")["Count"] == 0


def test_expect_100_continue_with_a_body_over_the_limit_is_413_before_the_body(base_url):
    request = (f"PUT /v1/services/too-big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {MAX_BODY_BYTES + 1}\r\nExpect: 100-continue\r\n\r\n").encode()
    status, headers, body = _status_and_json(_raw(base_url, request))  # no body sent at all
    assert (status, body) == (413, {"message": "Request Entity Too Large"}) and headers["connection"] == "close"


def test_a_chunked_body_reaches_the_handler(base_url, tables, keys):
    spec = json.dumps({"name": "Chunked", "team": "http", "resources": [],
                       "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (spec[:10], spec[10:])) + b"0\r\n\r\n"
    request = (b"PUT /v1/services/chunked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
               b"Authorization: Bearer " + issue(keys, now=NOW).encode() + b"\r\n\r\n" + chunks)
    status, _, body = _status_and_json(_raw(base_url, request))
    assert status == 201 and body["name"] == "Chunked" and body["version"] == 1


@pytest.mark.parametrize("framing", [
    b"Content-Length: abc\r\n\r\n{}",
    b"Content-Length: -1\r\n\r\n{}",
    b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
    b"Transfer-Encoding: gzip\r\n\r\n{}",
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"Content-Length: 10\r\n\r\n{}",  # the client stops before the length it announced
])
def test_a_malformed_body_framing_is_a_json_400(base_url, framing):
    request = b"PUT /v1/services/framing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing
    status, headers, body = _status_and_json(_raw(base_url, request))
    assert (status, body) == (400, {"message": "Bad Request"}) and headers["content-type"] == "application/json"


def test_http_servers_own_errors_are_json_too(base_url):
    """What http.server rejects before routing (request line, header size) is JSON, not an HTML page."""
    # no version on the request line: an HTTP/0.9 answer (body only)
    assert _raw(base_url, b"NOT A REQUEST LINE AT ALL\r\n\r\n") == b'{"message": "Bad Request"}'
    status, headers, body = _status_and_json(_raw(base_url, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"))
    assert (status, body) == (414, {"message": "Request-URI Too Long"}) and headers["connection"] == "close"
    long_header = b"GET /v1/docs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    status, headers, body = _status_and_json(_raw(base_url, long_header))
    assert (status, body) == (431, {"message": "Request Header Fields Too Large"})
    assert headers["content-type"] == "application/json"
