"""Outbound SQS messages (the actuation worker's queue): one client, created on first use."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Protocol

from costopt.config import settings
from costopt.errors import DependencyUnavailable

AWS_ACTIONS = frozenset({"sqs:SendMessage"})


class SqsClient(Protocol):
    """The calls costopt makes on boto3's SQS client (keyword arguments, as boto3 takes them)."""

    def send_message(self, **kwargs: Any) -> dict[str, Any]: ...

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]: ...


def sqs_config(read_timeout_s: float, max_attempts: int) -> Any:
    """The botocore ``Config`` of costopt's SQS clients (3 s to connect, standard retries)."""
    from botocore.config import Config

    return Config(connect_timeout=3, read_timeout=read_timeout_s,
                  retries={"mode": "standard", "max_attempts": max_attempts})


@cache
def _sqs() -> SqsClient:
    import boto3

    client: SqsClient = boto3.client("sqs", region_name=settings.aws_region, config=sqs_config(5, 3))
    return client


def send_message(queue_url: str, body: dict[str, Any], *, delay_s: int = 0) -> str:
    """Send ``body`` as JSON; returns the message id. Raises DependencyUnavailable when SQS fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = _sqs().send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, separators=(",", ":")),
                                   DelaySeconds=max(0, min(900, delay_s)))
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(f"could not queue the message: {exc}") from exc
    return str(resp["MessageId"])
