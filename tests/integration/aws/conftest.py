"""Component tests on moto (``tests/integration/aws``, mirroring the packages): the store, the connectors,
the actuators, the jobs and the API handlers against AWS's APIs as moto answers them. One mock for the
whole session (PynamoDB caches its client), tables created from template.yaml, and emptied before each
test that asks. Every test also fails when a costopt module calls an AWS action its ``AWS_ACTIONS``
does not declare. (Tests that need no AWS are in ``tests/unit``, which runs without it.)"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.moto_ext import ce as ce_ext
from local.tables import clear_tables, create_tables, export_table_env
from tests.aws_actions import AwsCallRecorder, declared_actions
from tests.support.lambda_context import LambdaContext

export_table_env()

_mock = mock_aws()
_mock.start()
_ddb = boto3.client("dynamodb", region_name="us-east-1")
create_tables(_ddb)
_sqs = boto3.client("sqs", region_name="us-east-1")
# the actuation worker's queue (template.yaml ActuationQueue), set before costopt reads its settings
ACTUATION_QUEUE_URL = _sqs.create_queue(QueueName="costopt-actuation")["QueueUrl"]
ACTUATION_QUEUE_ARN = _sqs.get_queue_attributes(QueueUrl=ACTUATION_QUEUE_URL,
                                                AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
os.environ["ACTUATION_QUEUE_URL"] = ACTUATION_QUEUE_URL
# moto lacks GetCostAndUsageWithResources (it raises NotImplementedError in process); with no bill set, the
# extension answers it as AWS answers an account that has not opted in to resource-level data
ce_ext.install()




@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def tables() -> Iterator[Any]:
    """Empty tables for this test; yields the low-level DynamoDB client."""
    clear_tables(_ddb)
    yield _ddb


def drop_actuation_messages() -> int:
    """Delete what the actuation queue holds (PurgeQueue is allowed once a minute); returns how many."""
    dropped = 0
    while messages := _sqs.receive_message(QueueUrl=ACTUATION_QUEUE_URL, MaxNumberOfMessages=10).get("Messages"):
        for m in messages:
            _sqs.delete_message(QueueUrl=ACTUATION_QUEUE_URL, ReceiptHandle=m["ReceiptHandle"])
        dropped += len(messages)
    return dropped


@pytest.fixture
def run_actuations(lambda_context: LambdaContext) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Deliver the actuation queue's messages to functions/actuate (as its SQS event source mapping
    does, one per batch); returns what each delivery reported. The queue starts empty."""
    from functions.actuate.app import lambda_handler
    from local.seed import sqs_event

    drop_actuation_messages()

    def drain() -> list[dict[str, Any]]:
        reports = []
        while True:
            messages = _sqs.receive_message(QueueUrl=ACTUATION_QUEUE_URL, MaxNumberOfMessages=1).get("Messages", [])
            if not messages:
                return reports
            m = messages[0]
            report = lambda_handler(sqs_event(messages, ACTUATION_QUEUE_ARN), lambda_context)
            reports.append({"body": json.loads(m["Body"]), **report})
            if not report["batchItemFailures"]:
                _sqs.delete_message(QueueUrl=ACTUATION_QUEUE_URL, ReceiptHandle=m["ReceiptHandle"])
            else:
                return reports

    yield drain


@pytest.fixture
def lambda_code(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Lambda actuator downloads deployment packages from moto (which names a Code.Location it does not
    serve), and moto's UpdateFunctionCode applies Architectures as AWS does. Yields the actuator."""
    from costopt.actuators.registry import actuator_for
    from tests.support.aws_fixtures import moto_code_location, moto_honours_code_architectures

    moto_honours_code_architectures(monkeypatch)
    act = actuator_for("lambda_function")
    monkeypatch.setattr(act, "download", moto_code_location)
    return act


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
