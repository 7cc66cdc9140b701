"""Outbound notifications to SNS and EventBridge: budget alerts (``costopt.budget`` /
``BudgetThresholdCrossed``) and changes the recovery sweep could not settle (``costopt.change`` /
``ChangeNeedsAttention``)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from costopt.config import settings
from costopt.domain.budget import BudgetAlert
from costopt.domain.change import Change
from costopt.errors import DependencyUnavailable

BUDGET_SOURCE = "costopt.budget"
BUDGET_DETAIL_TYPE = "BudgetThresholdCrossed"
# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"sns:Publish", "events:PutEvents"})


@cache
def _client(name: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(name, region_name=settings.aws_region,
                        config=Config(connect_timeout=3, read_timeout=5,
                                      retries={"mode": "standard", "max_attempts": 3}))


def budget_message(alert: BudgetAlert) -> tuple[str, str]:
    verb = "reached" if alert.type == "ACTUAL" else "is forecast to reach"
    limit = f"{alert.threshold:g}%" if alert.kind == "PERCENTAGE" else f"${alert.threshold:,.2f}"
    subject = f"[costopt] {alert.service_id} {verb} {limit} of its {alert.month} budget"[:100]
    forecast = "n/a" if alert.forecast_usd is None else f"${alert.forecast_usd:,.2f}"
    body = (f"Service {alert.service_id} {verb} {limit} of its monthly budget of ${alert.budget_usd:,.2f} "
            f"(threshold ${alert.threshold_usd:,.2f}).\nMonth to date: ${alert.month_to_date_usd:,.2f}. "
            f"Forecast: {forecast}.")
    return subject, body


def publish_budget_alert(alert: BudgetAlert) -> None:
    """Send the alert to SNS (when a topic is configured) and EventBridge; raises on failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    detail = alert.model_dump(mode="json", exclude={"delivery"})
    try:
        if settings.alert_topic_arn:
            subject, body = budget_message(alert)
            _client("sns").publish(
                TopicArn=settings.alert_topic_arn, Subject=subject, Message=body,
                MessageAttributes={"service_id": {"DataType": "String", "StringValue": alert.service_id},
                                   "type": {"DataType": "String", "StringValue": alert.type}},
            )
        resp = _client("events").put_events(Entries=[{
            "Source": BUDGET_SOURCE, "DetailType": BUDGET_DETAIL_TYPE, "Detail": json.dumps(detail),
            "EventBusName": settings.event_bus_name, "Resources": [],
        }])
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(f"could not publish the budget alert: {exc}") from exc
    if resp.get("FailedEntryCount"):
        raise DependencyUnavailable(f"EventBridge rejected the budget alert: {resp.get('Entries')}")


CHANGE_SOURCE = "costopt.change"
CHANGE_ATTENTION_DETAIL_TYPE = "ChangeNeedsAttention"


def publish_change_alert(change: Change) -> None:
    """A change the recovery sweep could not settle: SNS (when configured) and EventBridge."""
    from botocore.exceptions import BotoCoreError, ClientError

    subject = f"[costopt] change {change.change_id} of {change.service_id} needs attention"[:100]
    body = (f"The {change.type} of {change.resource_id} ({change.kind}) in service {change.service_id} was "
            f"interrupted and could not be settled: {change.error}\nBefore: {json.dumps(change.before)}\n"
            f"Target: {json.dumps(change.target or change.after)}\nLive: {json.dumps(change.live)}")
    try:
        if settings.alert_topic_arn:
            _client("sns").publish(
                TopicArn=settings.alert_topic_arn, Subject=subject, Message=body,
                MessageAttributes={"service_id": {"DataType": "String", "StringValue": change.service_id},
                                   "type": {"DataType": "String", "StringValue": CHANGE_ATTENTION_DETAIL_TYPE}})
        resp = _client("events").put_events(Entries=[{
            "Source": CHANGE_SOURCE, "DetailType": CHANGE_ATTENTION_DETAIL_TYPE,
            "Detail": change.model_dump_json(), "EventBusName": settings.event_bus_name, "Resources": [],
        }])
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(f"could not publish the change alert: {exc}") from exc
    if resp.get("FailedEntryCount"):
        raise DependencyUnavailable(f"EventBridge rejected the change alert: {resp.get('Entries')}")
