"""Unit tests run against moto: one mock for the whole session (PynamoDB caches its
client), tables created from template.yaml, and emptied before each test that asks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import clear_tables, create_tables, export_table_env

export_table_env()

_mock = mock_aws()
_mock.start()
_ddb = boto3.client("dynamodb", region_name="us-east-1")
create_tables(_ddb)


class LambdaContext:
    function_name = "costopt-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:costopt-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/costopt-test"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 25_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def tables() -> Iterator[Any]:
    """Empty tables for this test; yields the low-level DynamoDB client."""
    clear_tables(_ddb)
    yield _ddb


@pytest.fixture
def lambda_code(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Lambda actuator downloads deployment packages from moto (which names a Code.Location it does not
    serve), and moto's UpdateFunctionCode applies Architectures as AWS does. Yields the actuator."""
    from costopt.actuators.registry import actuator_for
    from tests.unit.test_actuator_support import moto_code_location, moto_honours_code_architectures

    moto_honours_code_architectures(monkeypatch)
    act = actuator_for("lambda_function")
    monkeypatch.setattr(act, "download", moto_code_location)
    return act
