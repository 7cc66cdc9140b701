"""Commands end to end in process (Typer's CliRunner) against a fake API: what they send, what they print,
and their exit codes. The real API is tests/integration/stack/test_cli.py's."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from costopt_cli import common
from costopt_cli.app import app
from costopt_cli.client import Client

SERVICES = [{"service_id": f"svc-{i}", "name": f"Service {i}", "team": "t", "region": "us-east-1",
             "resource_count": 1, "version": 1, "health": "healthy"} for i in range(3)]


class FakeApi:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/v1/metrics/services":  # two pages
            if request.url.params.get("next_token"):
                return httpx.Response(200, json={"items": SERVICES[2:], "next_token": None})
            return httpx.Response(200, json={"items": SERVICES[:2], "next_token": "page-2"})
        if path == "/v1/services/missing":
            return httpx.Response(404, json={"type": "https://costopt.dev/problems/not-found", "title": "Not found",
                                             "status": 404, "detail": "service 'missing' does not exist"})
        if path == "/v1/services/broken/budget":
            return httpx.Response(500, json={"title": "Internal error", "status": 500})
        return httpx.Response(404, json={"title": "Not found", "status": 404, "detail": path})


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> FakeApi:
    fake = FakeApi()
    monkeypatch.setattr(common, "Client", lambda url, token: Client(url, token, transport=httpx.MockTransport(fake)))
    monkeypatch.setenv("COSTOPT_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("COSTOPT_URL", "http://api.test")
    monkeypatch.setenv("COSTOPT_TOKEN", "tok")
    monkeypatch.setenv("COLUMNS", "200")
    return fake


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_a_list_follows_every_page_in_each_format(api: FakeApi) -> None:
    as_json = run("services", "list", "--output", "json")
    assert as_json.exit_code == 0, as_json.output
    assert [s["service_id"] for s in json.loads(as_json.stdout)["items"]] == ["svc-0", "svc-1", "svc-2"]
    as_csv = run("services", "list", "-o", "csv")
    assert [r["service_id"] for r in csv.DictReader(io.StringIO(as_csv.stdout))] == ["svc-0", "svc-1", "svc-2"]
    table = run("services", "list")
    assert table.exit_code == 0 and all(f"svc-{i}" in table.stdout for i in range(3))
    assert api.requests[0].headers["authorization"] == "Bearer tok"
    assert api.requests[1].url.params["next_token"] == "page-2"


def test_a_4xx_is_exit_1_with_the_problem_on_stderr(api: FakeApi) -> None:
    result = run("services", "get", "missing", "-o", "json")
    assert result.exit_code == 1
    assert result.stdout == "" and "error: 404 Not found: service 'missing' does not exist" in result.stderr


def test_a_5xx_is_exit_3(api: FakeApi) -> None:
    result = run("budget", "broken")
    assert result.exit_code == 3 and "error: 500 Internal error" in result.stderr


def test_no_token_is_a_usage_error(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COSTOPT_TOKEN")
    result = run("services", "list")
    assert result.exit_code == 2 and "no token for http://api.test" in result.stderr
    assert api.requests == []


def test_an_unknown_output_format_is_a_usage_error(api: FakeApi) -> None:
    assert run("services", "list", "--output", "yaml").exit_code == 2


def test_a_declined_confirmation_is_exit_4_and_sends_nothing(api: FakeApi) -> None:
    result = CliRunner().invoke(app, ["services", "delete", "svc-0"], input="n\n")
    assert result.exit_code == 4 and "not confirmed" in result.stderr
    assert api.requests == []
