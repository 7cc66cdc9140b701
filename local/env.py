"""The environment of the local stack: the same variables a user sets to point costopt at a real
account (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, region, table names, topic and queue), set
BEFORE any costopt module is imported (PynamoDB and Powertools read them at import time)."""

from __future__ import annotations

import os

from local.tables import export_table_env

HOST = "127.0.0.1"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
ALERT_TOPIC_NAME = "costopt-alerts"
RECOMPUTE_QUEUE_NAME = "costopt-recompute"


def ddb_port() -> int:
    return int(os.environ.get("COSTOPT_DDB_PORT", "8000"))


def sandbox_port() -> int:
    return int(os.environ.get("COSTOPT_SANDBOX_PORT", "5001"))


def api_port() -> int:
    return int(os.environ.get("COSTOPT_PORT", "3000"))


def url(port: int) -> str:
    return f"http://{HOST}:{port}"


def alert_topic_arn() -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{ALERT_TOPIC_NAME}"


def recompute_queue_url(sandbox_url: str) -> str:
    return f"{sandbox_url}/{ACCOUNT_ID}/{RECOMPUTE_QUEUE_NAME}"


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
        "EVENT_BUS_NAME": "default",
        "COSTOPT_STAGE": "local",
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
