"""`python -m local token | invoke` as a developer runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

from local.auth import load_or_create_keys, token_scopes, verify
from local.ddb import free_port
from local.template import ROOT


def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    base = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"}
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=ROOT, env={**base, **(env or {})},
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_token_prints_a_verifiable_token_on_its_last_line():
    out = _run("token", "--scopes", "costopt/read,costopt/operate", "--sub", "ci-bot", "--ttl-hours", "1")
    assert out.returncode == 0, out.stderr
    claims = verify(load_or_create_keys(), out.stdout.strip().splitlines()[-1])
    assert claims["sub"] == "ci-bot" and token_scopes(claims) == ["costopt/read", "costopt/operate"]
    assert claims["exp"] - claims["iat"] == 3600
    default = verify(load_or_create_keys(), _run("token").stdout.strip().splitlines()[-1])
    assert token_scopes(default) == ["costopt/read", "costopt/write", "costopt/operate"]


def test_invoke_runs_a_handler_against_the_running_endpoints(tables, aws_sandbox):
    """The `sam local invoke` analogue: an event file in, the handler's response JSON out, against
    the endpoints of a running stack (here: this session's DynamoDB Local and sandbox)."""
    ports = {"COSTOPT_DDB_PORT": urlsplit(os.environ["AWS_ENDPOINT_URL_DYNAMODB"]).port,
             "COSTOPT_SANDBOX_PORT": urlsplit(os.environ["AWS_ENDPOINT_URL"]).port}
    env = {k: str(v) for k, v in ports.items()}
    spec = {"name": "Invoked", "team": "cli", "resources": []}
    out = _run("invoke", "services", "-", env=env, stdin=_service_event("PUT", "invoked-svc", spec))
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["statusCode"] == 201 and json.loads(response["body"])["version"] == 1
    # the same event file format `sam local invoke -e` takes
    event_file = ROOT / "events" / "services-get.json"
    out = _run("invoke", "services", str(event_file), env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["statusCode"] == 404  # events/services-get.json asks for checkout-api
    out = _run("invoke", "services", "-", env=env, stdin=_service_event("GET", "invoked-svc"))
    body = json.loads(json.loads(out.stdout)["body"])
    assert body["name"] == "Invoked" and body["team"] == "cli"


def test_invoke_without_a_running_stack_says_to_start_it():
    closed = str(free_port())
    out = _run("invoke", "services", str(ROOT / "events" / "services-get.json"),
               env={"COSTOPT_DDB_PORT": closed, "COSTOPT_SANDBOX_PORT": closed})
    assert out.returncode == 1 and "make run" in out.stderr
    missing = _run("invoke", "no_such_function", str(ROOT / "events" / "services-get.json"))
    assert missing.returncode == 2 and "no_such_function" in missing.stderr


def _service_event(method: str, service_id: str, body: dict | None = None) -> str:
    event = json.loads((ROOT / "events" / "services-get.json").read_text())
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /v1/services/{{service_id}}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/services/{service_id}"
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = {"service_id": service_id}
    event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] = "costopt/read costopt/write"
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return json.dumps(event)
