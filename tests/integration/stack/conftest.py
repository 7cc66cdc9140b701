"""Integration tests run against the real DynamoDB Local (started here, in memory, on a free port)
and, for AWS APIs, moto's server (ThreadedMotoServer, also on a free port) — never moto's in-process
mock: this is its own pytest process (`.venv/bin/pytest tests/integration/stack`).

The endpoints are exported at import time, before any test module imports costopt (PynamoDB and
Powertools read the environment at import), the same way `make run` and a real deployment do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local import env
from local.ddb import DynamoDBLocal, find_jar, free_port, java_available
from local.functions import LambdaContext
from local.tables import clear_tables, create_tables

if "costopt" in sys.modules:  # pragma: no cover - a guard for whoever reorders imports
    raise RuntimeError("costopt was imported before the integration conftest set the endpoints")

DDB_PORT = free_port()
SANDBOX_PORT = free_port()
USE_DDB_LOCAL = java_available() and find_jar() is not None
SANDBOX_URL = env.url(SANDBOX_PORT)
# Without Java (or before `make setup`), DynamoDB is served by the sandbox's moto server instead.
DYNAMODB_URL = env.url(DDB_PORT) if USE_DDB_LOCAL else SANDBOX_URL
env.configure(DYNAMODB_URL, SANDBOX_URL)
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"


def pytest_report_header(config: pytest.Config) -> str:
    if USE_DDB_LOCAL:
        return f"DynamoDB Local (in memory) on {DYNAMODB_URL}; AWS sandbox (moto server) on {SANDBOX_URL}"
    return (f"WARNING: no java or no DynamoDB Local jar (run `make setup`): DynamoDB is served by moto's server "
            f"on {SANDBOX_URL}")


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[str]:
    """moto's server on loopback (AWS_ENDPOINT_URL points at it); yields its URL."""
    from local import moto_ext, sandbox

    moto_ext.install()  # as `make run` does, before the server starts
    server = sandbox.start_server(SANDBOX_PORT)
    try:
        yield SANDBOX_URL
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb(request: pytest.FixtureRequest) -> Iterator[Any]:
    """DynamoDB Local for the whole session with every table of template.yaml; yields a client."""
    import boto3

    ddb: DynamoDBLocal | None = None
    if USE_DDB_LOCAL:
        ddb = DynamoDBLocal(DDB_PORT, in_memory=True).start()
    else:
        request.getfixturevalue("aws_sandbox")
    try:
        client = boto3.client("dynamodb", endpoint_url=DYNAMODB_URL)
        create_tables(client)
        yield client
    finally:
        if ddb is not None:
            ddb.stop()


@pytest.fixture
def tables(dynamodb: Any) -> Iterator[Any]:
    """Empty tables for this test; yields the low-level DynamoDB client."""
    clear_tables(dynamodb)
    yield dynamodb


@pytest.fixture
def aws(aws_sandbox: str) -> Iterator[str]:
    """A fresh AWS sandbox for this test (moto reset, then the alert topic and recompute queue)."""
    from local import sandbox

    sandbox.reset(aws_sandbox)
    if not USE_DDB_LOCAL:  # the reset also dropped the tables moto was serving
        import boto3

        create_tables(boto3.client("dynamodb", endpoint_url=DYNAMODB_URL))
    sandbox.create_messaging(aws_sandbox)
    yield aws_sandbox


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext("costopt-integration")
