"""Unit tests run against moto: one mock for the whole session (PynamoDB caches its
client), tables created from template.yaml, and emptied before each test that asks. Every test
also fails when a costopt module calls an AWS action its ``AWS_ACTIONS`` does not declare."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import clear_tables, create_tables, export_table_env
from tests.aws_actions import AwsCallRecorder, declared_actions

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


@cache
def _declared() -> dict[str, frozenset[str]]:
    return declared_actions()


@pytest.fixture(autouse=True)
def aws_calls() -> Iterator[AwsCallRecorder]:
    """Records the AWS calls of the test; fails it if a costopt module called an undeclared action
    (tests/aws_actions.py: template.yaml grants what the modules declare, so it would be denied in AWS)."""
    recorder = AwsCallRecorder()
    with recorder.recording():
        yield recorder
    undeclared = recorder.undeclared(_declared())
    if undeclared:
        pytest.fail("AWS actions called but not declared in the module's AWS_ACTIONS (add them there and to "
                    f"template.yaml): {({m: sorted(a) for m, a in sorted(undeclared.items())})}", pytrace=False)
