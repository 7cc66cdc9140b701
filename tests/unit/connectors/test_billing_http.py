"""HTTP billing API against a real loopback server; the API key comes from (moto) Secrets Manager."""


from __future__ import annotations

import json
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
from costopt.connectors.billing_http import HttpBilling
from costopt.domain.service import Service
from costopt.errors import ConnectorError

D20 = datetime(2026, 11, 20, tzinfo=UTC)
D21 = datetime(2026, 11, 21, tzinfo=UTC)


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
        "telemetry": {"source": "synthetic"},
    })


def test_missing_secret_is_a_connector_error(api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, url = api
    monkeypatch.setattr(settings, "billing_api_key_secret", "costopt/absent-" + uuid.uuid4().hex[:6])
    with pytest.raises(ConnectorError, match="cannot read the API key secret"):
        HttpBilling(base_url=url).fetch_costs(svc(), D20, D21)
