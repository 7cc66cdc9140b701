"""The environment of the local stack: the same variables a user sets to point costopt at a real
account (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, region, table names, topic and queue) plus the
source plugin the demo's services use (COSTOPT_SOURCE_PLUGINS=local.synthetic), set BEFORE any costopt
module is imported (PynamoDB and Powertools read them at import time)."""

from __future__ import annotations

import os
from pathlib import Path

from local.tables import export_table_env
from local.template import ROOT

HOST = "127.0.0.1"
DEFAULT_DDB_PORT, DEFAULT_SANDBOX_PORT, DEFAULT_API_PORT = 8000, 5001, 3000
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
ALERT_TOPIC_NAME = "costopt-alerts"
RECOMPUTE_QUEUE_NAME = "costopt-recompute"
ACTUATION_QUEUE_NAME = "costopt-actuation"
# The sources the local stack adds to the product, named the way a deployment would name a plugin layer's.
SOURCE_PLUGINS_VAR, SOURCE_PLUGINS = "COSTOPT_SOURCE_PLUGINS", "local.synthetic"
MEMBER_EXTERNAL_ID = "costopt-local"


def port_from_env(name: str) -> int | None:
    """The port set in ``name`` (COSTOPT_DDB_PORT, COSTOPT_SANDBOX_PORT, COSTOPT_PORT), or None."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"error: {name}={raw!r} is not a port number")
    return int(raw)


def ddb_port() -> int:
    return port_from_env("COSTOPT_DDB_PORT") or DEFAULT_DDB_PORT


def sandbox_port() -> int:
    return port_from_env("COSTOPT_SANDBOX_PORT") or DEFAULT_SANDBOX_PORT


def api_port() -> int:
    return port_from_env("COSTOPT_PORT") or DEFAULT_API_PORT


def local_dir() -> Path:
    """Where the local stack keeps what it makes (DynamoDB Local data, dev JWT keys, the state of
    running stacks, generated events): ``.local/`` of the checkout, or ``COSTOPT_LOCAL_DIR``."""
    raw = os.environ.get("COSTOPT_LOCAL_DIR", "").strip()
    return Path(raw).resolve() if raw else ROOT / ".local"


def shown(path: Path) -> str:
    """``path`` as a user pastes it from the repository root (relative when inside the checkout)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def url(port: int) -> str:
    return f"http://{HOST}:{port}"


def alert_topic_arn() -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{ALERT_TOPIC_NAME}"


def recompute_queue_url(sandbox_url: str) -> str:
    return f"{sandbox_url}/{ACCOUNT_ID}/{RECOMPUTE_QUEUE_NAME}"


def actuation_queue_url(sandbox_url: str) -> str:
    return f"{sandbox_url}/{ACCOUNT_ID}/{ACTUATION_QUEUE_NAME}"


def configure(dynamodb_url: str, sandbox_url: str) -> dict[str, str]:
    """Point boto3/PynamoDB at the local endpoints; returns what was set."""
    env = {
        "AWS_ENDPOINT_URL": sandbox_url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "ALERT_TOPIC_ARN": alert_topic_arn(),
        "RECOMPUTE_QUEUE_URL": recompute_queue_url(sandbox_url),
        "ACTUATION_QUEUE_URL": actuation_queue_url(sandbox_url),
        "EVENT_BUS_NAME": "default",
        "COSTOPT_STAGE": "local",
        # the member role of the demo's member accounts (local/estate.py) wants this ExternalId
        "COSTOPT_MEMBER_EXTERNAL_ID": MEMBER_EXTERNAL_ID,
        SOURCE_PLUGINS_VAR: SOURCE_PLUGINS,
    }
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(env)
    env.update(export_table_env())
    for key, value in {
        "POWERTOOLS_SERVICE_NAME": "costopt",
        "POWERTOOLS_METRICS_NAMESPACE": "costopt",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        os.environ.setdefault(key, value)
    return env
