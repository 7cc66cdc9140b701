"""DynamoDB stopped -> every route of template.yaml answers 503 problem+json with Retry-After (issue 12).

``python -m local run --no-seed --no-jobs`` as a developer runs it, on a DynamoDB this test starts
(the stack reuses a healthy DynamoDB on COSTOPT_DDB_PORT and leaves it running), so the test can stop
it under the running API. ``COSTOPT_DYNAMODB_MAX_RETRIES=0``: a refused connection answers at once
instead of after botocore's backoff.

Every route gets the request of its sample events in ``events/`` (the same method, path, query,
body and Idempotency-Key; a real dev token): first with DynamoDB up, where each answers below 500
(the requests are valid), then with DynamoDB stopped, where each answers 503 problem+json with
``Retry-After`` - except the routes whose answer needs no DynamoDB (``NO_DYNAMODB``), which still
answer 200. No route answers 500.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.auth import issue, load_or_create_keys
from local.ddb import DynamoDBLocal, find_jar, free_port, is_healthy, java_available
from local.routes import load_routes
from local.template import ROOT
from tests.integration.stack.local_stack import StackProcess

EVENTS = ROOT / "events"
# Routes whose answer is made without DynamoDB, so an outage leaves them working:
NO_DYNAMODB = {
    "GET /v1/docs": "Swagger UI: a static HTML page",
    "GET /v1/openapi.json": "the OpenAPI document, generated from the routers' models",
    "GET /v1/simulate/templates": "the scenario templates, a constant catalog in code",
}
# With DynamoDB up the sample events reach the handlers' own answers (their ids are placeholders:
# some answer 404 or 422), never a 5xx; the PUT goes first so the others find its service.
FIRST = "services-put.json"


def sample_requests() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """route key -> [(event file, event)] for every HttpApi sample event of events/."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in sorted(EVENTS.glob("*.json"), key=lambda p: (p.name != FIRST, p.name)):
        event = json.loads(path.read_text())
        if event.get("version") == "2.0" and "routeKey" in event:
            out.setdefault(event["routeKey"], []).append((path.name, event))
    return out


def send(base_url: str, event: dict[str, Any], token: str) -> tuple[int, dict[str, str], Any]:
    """The HTTP request the event was made from, to the local gateway."""
    body = event.get("body")
    data = None
    if body is not None:
        data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    query = f"?{event['rawQueryString']}" if event.get("rawQueryString") else ""
    headers = {"Authorization": f"Bearer {token}", "accept": "application/json"}
    for name in ("content-type", "idempotency-key"):
        if name in event["headers"]:
            headers[name] = event["headers"][name]
    req = urllib.request.Request(base_url + event["rawPath"] + query, data=data, headers=headers,
                                 method=event["requestContext"]["http"]["method"])
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, dict(err.headers.items()), err.read()
    hdrs = {k.lower(): v for k, v in hdrs.items()}
    return status, hdrs, json.loads(raw) if raw and "json" in hdrs.get("content-type", "") else raw


class OwnDynamoDB:
    """A DynamoDB for this test only: DynamoDB Local when Java is there, else moto's server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._local: DynamoDBLocal | None = None
        self._moto: Any = None

    def start(self) -> OwnDynamoDB:
        if java_available() and find_jar() is not None:
            self._local = DynamoDBLocal(self.port, in_memory=True).start()
        else:
            from moto.server import ThreadedMotoServer

            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._moto.start()
        return self

    def stop(self) -> None:
        if self._local is not None:
            self._local.stop()
            self._local = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[StackProcess, OwnDynamoDB]]:
    ddb = OwnDynamoDB().start()
    ports = {"COSTOPT_DDB_PORT": str(ddb.port), "COSTOPT_SANDBOX_PORT": str(free_port()),
             "COSTOPT_PORT": str(free_port())}
    process = StackProcess(tmp_path / "local", "--no-seed", "--no-jobs", ports=ports,
                           env={"COSTOPT_DYNAMODB_MAX_RETRIES": "0", "COSTOPT_DYNAMODB_CONNECT_TIMEOUT_S": "1",
                                "COSTOPT_DYNAMODB_READ_TIMEOUT_S": "3"})
    try:
        assert process.wait_ready(), process.output
        assert f"reusing the DynamoDB already answering on {ddb.url}" in process.output
        yield process, ddb
    finally:
        process.stop()
        ddb.stop()


def test_dynamodb_stopped_every_route_answers_503(stack: tuple[StackProcess, OwnDynamoDB]) -> None:
    process, ddb = stack
    token = issue(load_or_create_keys(process.local_dir / "jwt"), subject="outage-test")
    routes = {r.route_key for r in load_routes()}
    requests = sample_requests()
    assert set(requests) == routes, "every route of template.yaml needs a sample event in events/ (and only those)"
    assert set(NO_DYNAMODB) <= routes

    up: dict[str, int] = {}
    for route_key, events in requests.items():
        for name, event in events:
            status, _, body = send(process.api_url, event, token)
            assert status < 500, f"DynamoDB up: {name} ({route_key}) -> {status} {body}"
            up[name] = status
    assert up[FIRST] in (200, 201)

    ddb.stop()
    assert not is_healthy(ddb.url, timeout=1)

    down: dict[str, int] = {}
    for route_key, events in requests.items():
        for name, event in events:
            status, headers, body = send(process.api_url, event, token)
            where = f"DynamoDB stopped: {name} ({route_key}) -> {status} {body}"
            down[name] = status
            if route_key in NO_DYNAMODB:
                assert status == 200, where
                continue
            assert status == 503, where
            assert headers.get("content-type") == "application/problem+json", where
            assert isinstance(body, dict) and body["status"] == 503, where
            assert body["type"] == "https://costopt.dev/problems/dependency-unavailable", where
            assert body["detail"] == "the database cannot be reached; retry in 30 s", where
            assert headers.get("retry-after") == "30" and body["retry_after_s"] == 30, where
    assert 500 not in down.values()
    assert sum(1 for s in down.values() if s == 503) == len(down) - sum(
        len(requests[r]) for r in NO_DYNAMODB), down
    # and the stack itself is still serving: DynamoDB's outage took no process down
    assert process.proc.poll() is None
