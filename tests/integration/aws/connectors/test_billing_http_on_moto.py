"""HTTP billing API against a real loopback server; the API key comes from (moto) Secrets Manager."""


from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from costopt.config import settings
from costopt.connectors import retry
from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.billing_http import HttpBilling
from costopt.domain.service import Service
from costopt.errors import ConnectorError

D20 = datetime(2026, 11, 20, tzinfo=UTC)
D21 = datetime(2026, 11, 21, tzinfo=UTC)
D22 = datetime(2026, 11, 22, tzinfo=UTC)


class Api:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], str | None]] = []
        self.pages: list[tuple[int, Any]] = []


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.calls.append(({k: v[0] for k, v in parse_qs(url.query).items()}, self.headers.get("Authorization")))
            status, body = state.pages.pop(0) if state.pages else (404, {"message": "no page"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/billing"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    key = "sk-" + uuid.uuid4().hex
    name = "costopt/billing-api-key-" + uuid.uuid4().hex[:6]
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name=name, SecretString=json.dumps({"api_key": key}))
    monkeypatch.setattr(settings, "billing_api_key_secret", name)
    monkeypatch.setattr(retry, "sleep", lambda s: None)
    return key


def svc() -> Service:
    return Service.model_validate({
        "service_id": "checkout", "version": 1, "created_at": D20, "updated_at": D20,
        "name": "Checkout", "team": "payments",
        "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                       "config": {"memory_mb": 1024}}],
        "billing": {"source": "http"},
    })


def test_pages_items_and_bearer_key(api: tuple[Api, str], secret: str) -> None:
    state, url = api
    state.pages = [
        (200, {"items": [{"date": "2026-11-20", "resource_id": "arn:aws:lambda:us-east-1:123456789012:function:"
                                                                "checkout-api", "cost_usd": 3.5},
                         {"date": "2026-11-20", "resource_id": None, "cost_usd": 0.25}],
               "next_token": "abc"}),
        (200, {"items": [{"date": "2026-11-20", "resource_id": "checkout-api", "cost_usd": 0.5},
                         {"date": "2026-11-21", "resource_id": "api", "cost_usd": 4.0}], "next_token": None}),
    ]
    series = HttpBilling(base_url=url).fetch_costs(svc(), D20, D22)
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series}
    assert got == {"api": {D20: 4.0, D21: 4.0}, SERVICE_TOTAL: {D20: 0.25}}
    assert state.calls[0][0] == {"service_id": "checkout", "start": "2026-11-20", "end": "2026-11-22"}
    assert state.calls[1][0]["next_token"] == "abc"
    assert {auth for _, auth in state.calls} == {f"Bearer {secret}"}


def test_4xx_not_retried_and_the_key_never_leaks(api: tuple[Api, str], secret: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    state, url = api
    state.pages = [(401, {"message": "bad key"})]
    caplog.set_level(logging.DEBUG)  # botocore's own DEBUG wire logs are botocore's; ours and httpx's are checked
    with pytest.raises(ConnectorError) as err:
        HttpBilling(base_url=url).fetch_costs(svc(), D20, D22)
    assert err.value.retryable is False and "HTTP 401" in err.value.detail and len(state.calls) == 1
    ours = [r.getMessage() + str(r.__dict__) for r in caplog.records if not r.name.startswith("botocore")]
    assert ours and not any(secret in line for line in ours)
    assert secret not in str(err.value) and secret not in repr(err.value.extra)


def test_5xx_retried_then_ok_and_bad_items_rejected(api: tuple[Api, str], secret: str) -> None:
    state, url = api
    state.pages = [(503, {}), (200, {"items": [{"date": "2026-11-20", "cost_usd": 1.0}]})]
    series = HttpBilling(base_url=url).fetch_costs(svc(), D20, D21)
    assert [(s.resource_id, s.points[0].v) for s in series] == [(SERVICE_TOTAL, 1.0)]
    assert len(state.calls) == 2
    state.pages = [(200, {"items": [{"date": "yesterday", "cost_usd": 1.0}]})]
    with pytest.raises(ConnectorError, match=r"items\[0\]"):
        HttpBilling(base_url=url).fetch_costs(svc(), D20, D21)
