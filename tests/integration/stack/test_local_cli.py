"""`python -m local token | invoke | seed | run` as a developer runs them: subprocesses from the
repository root, with no PYTHONPATH and no COSTOPT_* ports unless the test is about them; and how
the subcommands find the running stack through its record in .local/stacks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.auth import load_or_create_keys, token_scopes, verify
from local.ddb import free_port
from local.template import ROOT
from tests.integration.stack.local_stack import StackProcess, local_cli, session_ddb_port


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    return tmp_path / "local"


def _sandbox_ports() -> dict[str, str]:
    return {"COSTOPT_DDB_PORT": os.environ["AWS_ENDPOINT_URL_DYNAMODB"].rsplit(":", 1)[1],
            "COSTOPT_SANDBOX_PORT": os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]}


def test_token_prints_a_verifiable_token_on_its_last_line(local_dir):
    out = local_cli(local_dir, "token", "--scopes", "costopt/read,costopt/operate", "--sub", "ci-bot",
                    "--ttl-hours", "1")
    assert out.returncode == 0, out.stderr
    keys = load_or_create_keys(local_dir / "jwt")  # made by the subprocess, in COSTOPT_LOCAL_DIR
    claims = verify(keys, out.stdout.strip().splitlines()[-1])
    assert claims["sub"] == "ci-bot" and token_scopes(claims) == ["costopt/read", "costopt/operate"]
    assert claims["exp"] - claims["iat"] == 3600
    default = verify(keys, local_cli(local_dir, "token").stdout.strip().splitlines()[-1])
    assert token_scopes(default) == ["costopt/read", "costopt/write", "costopt/operate"]


def test_python_m_local_finds_costopt_without_pythonpath_or_the_venv_pth(local_dir):
    """local/__init__ adds the checkout's layers/core when costopt is not importable (a python without
    .venv's .pth file), without importing costopt itself (it reads the environment at import)."""
    code = ("import sys; sys.path[:] = [p for p in sys.path if not p.rstrip('/').endswith('layers/core')]\n"
            "import importlib.util; assert importlib.util.find_spec('costopt') is None\n"
            "import local; spec = importlib.util.find_spec('costopt')\n"
            "print(spec.origin, 'costopt' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(ROOT / "layers" / "core" / "costopt" / "__init__.py"), "False"]


def test_invoke_runs_a_handler_against_the_endpoints_named_by_the_port_variables(tables, aws_sandbox, local_dir):
    """The `sam local invoke` analogue: an event file in, the handler's response JSON out, against
    endpoints named by COSTOPT_DDB_PORT / COSTOPT_SANDBOX_PORT (here: this session's)."""
    ports = _sandbox_ports()
    spec = {"name": "Invoked", "team": "cli", "resources": [],
            "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}
    out = local_cli(local_dir, "invoke", "services", "-", env=ports, stdin=_service_event("PUT", "invoked-svc", spec))
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["statusCode"] == 201 and json.loads(response["body"])["version"] == 1
    # the same event file format `sam local invoke -e` takes
    out = local_cli(local_dir, "invoke", "services", str(ROOT / "events" / "services-get.json"), env=ports)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["statusCode"] == 404  # events/services-get.json asks for checkout-api
    out = local_cli(local_dir, "invoke", "services", "-", env=ports, stdin=_service_event("GET", "invoked-svc"))
    body = json.loads(json.loads(out.stdout)["body"])
    assert body["name"] == "Invoked" and body["team"] == "cli"


def test_invoke_without_a_running_stack_says_to_start_it(local_dir):
    closed = str(free_port())
    out = local_cli(local_dir, "invoke", "services", str(ROOT / "events" / "services-get.json"),
                    env={"COSTOPT_DDB_PORT": closed, "COSTOPT_SANDBOX_PORT": closed})
    assert out.returncode == 1 and "make run" in out.stderr
    missing = local_cli(local_dir, "invoke", "no_such_function", str(ROOT / "events" / "services-get.json"))
    assert missing.returncode == 2 and "no_such_function" in missing.stderr


# ---------------------------------------------------------------- finding the running stack


def _ports(ddb: str | None = None) -> dict[str, str]:
    return {"COSTOPT_DDB_PORT": ddb or str(free_port()), "COSTOPT_SANDBOX_PORT": str(free_port()),
            "COSTOPT_PORT": str(free_port())}


def _get_service(local_dir: Path, service_id: str, **env: str) -> subprocess.CompletedProcess[str]:
    return local_cli(local_dir, "invoke", "services", "-", env=env, stdin=_service_event("GET", service_id))


def _status(out: subprocess.CompletedProcess[str]) -> int:
    assert out.returncode == 0, out.stderr
    return int(json.loads(out.stdout)["statusCode"])


def test_stacks_record_themselves_and_the_subcommands_never_confuse_them(tables, local_dir):
    """Stack A reuses this session's DynamoDB; stack B has its own ports and its own DynamoDB. The
    subcommands use the one stack running, refuse to guess between two, and take COSTOPT_PORT to
    choose; a second stack can claim neither A's API port nor A's DynamoDB; records go when stacks stop."""
    a = StackProcess(local_dir, "--no-seed", "--no-jobs", ports=_ports(ddb=session_ddb_port()))
    b: StackProcess | None = None
    try:
        assert a.wait_ready(), a.output
        record = json.loads((local_dir / "stacks" / f"{a.ports['COSTOPT_PORT']}.json").read_text())
        assert record["pid"] == a.proc.pid and record["ready"] is True and record["started_at"].endswith("Z")
        assert record["api_url"] == a.api_url
        assert record["dynamodb_url"] == f"http://127.0.0.1:{session_ddb_port()}"
        assert record["sandbox_url"] == f"http://127.0.0.1:{a.ports['COSTOPT_SANDBOX_PORT']}"
        assert record["events_dir"] == str(local_dir.resolve() / f"events-{a.ports['COSTOPT_PORT']}")

        # one stack running: no environment needed, and stderr says which stack was used
        spec = {"name": "On A", "team": "cli", "resources": [],
                "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}
        out = local_cli(local_dir, "invoke", "services", "-", stdin=_service_event("PUT", "on-a", spec))
        assert _status(out) == 201 and f"using the stack on {a.api_url} (pid {a.proc.pid}" in out.stderr

        # a second stack on A's API port, or on A's DynamoDB, refuses to start and leaves A's record alone
        same_api = StackProcess(local_dir, "--no-seed", "--no-jobs",
                                ports={**_ports(), "COSTOPT_PORT": a.ports["COSTOPT_PORT"]})
        assert same_api.wait_exit() == 1 and f"the stack on {a.api_url}" in same_api.output
        same_ddb = StackProcess(local_dir, "--no-seed", "--no-jobs", ports=_ports(ddb=session_ddb_port()))
        assert same_ddb.wait_exit() == 1 and "must not share tables" in same_ddb.output
        assert json.loads((local_dir / "stacks" / f"{a.ports['COSTOPT_PORT']}.json").read_text()) == record

        b = StackProcess(local_dir, "--no-seed", "--no-jobs", ports=_ports())
        assert b.wait_ready(), b.output
        # two stacks: no guessing
        out = _get_service(local_dir, "on-a")
        assert out.returncode == 1 and "several stacks are running" in out.stderr and "COSTOPT_PORT" in out.stderr
        assert a.api_url in out.stderr and b.api_url in out.stderr
        # COSTOPT_PORT chooses, and each stack has its own tables
        assert _status(_get_service(local_dir, "on-a", COSTOPT_PORT=a.ports["COSTOPT_PORT"])) == 200
        on_b = _get_service(local_dir, "on-a", COSTOPT_PORT=b.ports["COSTOPT_PORT"])
        assert _status(on_b) == 404 and f"using the stack on {b.api_url}" in on_b.stderr
        unknown = _get_service(local_dir, "on-a", COSTOPT_PORT=str(free_port()))
        assert unknown.returncode == 1 and "no stack with its API on port" in unknown.stderr

        # A stops: its record goes, B is the one stack again
        assert a.stop() == 0
        assert not (local_dir / "stacks" / f"{a.ports['COSTOPT_PORT']}.json").exists()
        assert _status(_get_service(local_dir, "on-a")) == 404  # B's tables
    finally:
        a.stop()
        if b is not None:
            b.stop()
    assert list((local_dir / "stacks").glob("*.json")) == []


def test_a_stale_record_is_ignored_with_a_clear_message(local_dir, tables, aws_sandbox):
    stacks = local_dir.resolve() / "stacks"
    stacks.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    closed = free_port()
    gone = {"pid": int(dead.stdout), "started_at": "2026-01-01T00:00:00Z", "api_url": "http://127.0.0.1:3999",
            "dynamodb_url": f"http://127.0.0.1:{closed}", "sandbox_url": f"http://127.0.0.1:{closed}",
            "events_dir": ".local/events-3999", "ready": True}
    (stacks / "3999.json").write_text(json.dumps(gone))
    # alive (this process) but nothing answers on its ports: ignored, not removed
    silent = {**gone, "pid": os.getpid(), "api_url": "http://127.0.0.1:3998"}
    (stacks / "3998.json").write_text(json.dumps(silent))
    (stacks / "3997.json").write_text("{not json")
    out = _get_service(local_dir, "nobody", **_sandbox_ports())
    assert _status(out) == 404
    assert f"ignoring the stale record {stacks / '3999.json'}" in out.stderr
    assert f"its process (pid {gone['pid']}) is not running; removed it" in out.stderr
    assert f"ignoring the stale record {stacks / '3998.json'}" in out.stderr and "not answering" in out.stderr
    assert f"ignoring {stacks / '3997.json'}: not a stack record" in out.stderr
    assert not (stacks / "3999.json").exists() and (stacks / "3998.json").exists()
    # without the port variables a stale record is never used: with no stack running the default ports are tried
    out = _get_service(local_dir, "nobody")
    assert "no running stack recorded in" in out.stderr and "using the stack on" not in out.stderr


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
