"""Budget checks end to end on moto: billed costs in the observations, applied changes in the Changes
table, alerts once per crossing through SNS and EventBridge, and the budget route. Expected figures are
computed by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import ServicePut
from local.events import http_event

NOW = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
SPEC = {
    "name": "Checkout", "team": "payments",
    "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                   "config": {"memory_mb": 1024}}],
    "budget": {"monthly_usd": 200, "notifications": [
        {"type": "ACTUAL", "threshold": 50},
        {"type": "ACTUAL", "threshold": 100},
        {"type": "FORECASTED", "threshold": 100},
    ]},
}


def billed(start: date, end: date) -> Series:
    points, d = [], start
    while d <= end:
        cost = 4.0 if d.weekday() >= 5 else 10.0
        points.append(Datapoint(t=datetime(d.year, d.month, d.day, tzinfo=UTC), v=cost))
        d += timedelta(days=1)
    return Series(resource_id="api", metric=Metric.COST_USD, stat="sum", period_s=86400, points=points)


@pytest.fixture
def sinks(tables, monkeypatch):
    """An SNS topic and an EventBridge rule, each delivering into an SQS queue we can read."""
    from costopt.config import settings

    sqs = boto3.client("sqs", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    topic = sns.create_topic(Name="costopt-alerts")["TopicArn"]
    q_sns = sqs.create_queue(QueueName="alerts-sns")["QueueUrl"]
    q_evt = sqs.create_queue(QueueName="alerts-events")["QueueUrl"]
    arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # noqa: E731
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn(q_sns), Attributes={"RawMessageDelivery": "true"})
    events.put_rule(Name="budget", EventPattern=json.dumps({"source": ["costopt.budget"]}))
    events.put_targets(Rule="budget", Targets=[{"Id": "q", "Arn": arn(q_evt)}])
    monkeypatch.setattr(settings, "alert_topic_arn", topic)

    def drain(url):
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            out += [m["Body"] for m in msgs]
            for m in msgs:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    yield lambda: (drain(q_sns), [json.loads(b) for b in drain(q_evt)])
    sqs.delete_queue(QueueUrl=q_sns)
    sqs.delete_queue(QueueUrl=q_evt)
    sns.delete_topic(TopicArn=topic)
    events.remove_targets(Rule="budget", Ids=["q"])
    events.delete_rule(Name="budget")


def seed(service_id="checkout-api"):
    """Billed through Friday Nov 13: at 06:00 on the 15th, Nov 14 is billed at 12:00 today (BILLING_SETTLE).
    Nov 1-13: weekdays 2-6, 9-13 (10 x $10) + weekend 1, 7, 8 (3 x $4) = 112; estimated: Sat 14 and Sun 15
    ($4 each) + Nov 16-30 (11 weekdays x $10 + 4 weekend days x $4 = 126) = 134 -> forecast 246."""
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository

    service, _ = ServiceRepository().put(service_id, ServicePut.model_validate(SPEC), now=NOW)
    ObservationRepository().fold(service_id, [billed(date(2026, 10, 18), date(2026, 11, 13))], now=NOW)
    return service


def test_alerts_once_per_crossing_across_three_recomputes(sinks):
    from costopt.jobs.budget import check_budget

    service = seed()
    published = [check_budget(service, NOW + timedelta(hours=h))[1] for h in (0, 24, 48)]
    assert published == [2, 0, 0]  # ACTUAL 50% ($100 < MTD $112) and FORECASTED 100% ($200 < $246)
    sns_msgs, events = sinks()
    assert len(sns_msgs) == 2 and "checkout-api" in sns_msgs[0]
    assert sorted((e["detail"]["type"], e["detail"]["threshold"]) for e in events) == [
        ("ACTUAL", 50.0), ("FORECASTED", 100.0)]
    assert {e["detail-type"] for e in events} == {"BudgetThresholdCrossed"}
    assert events[0]["detail"]["month"] == "2026-11"


def test_failed_publish_is_retried_not_lost(sinks, monkeypatch):
    from costopt.connectors import notify
    from costopt.errors import DependencyUnavailable
    from costopt.jobs.budget import check_budget

    service = seed()
    real = notify.publish_budget_alert

    def down(alert):
        raise DependencyUnavailable("sns down")

    monkeypatch.setattr(notify, "publish_budget_alert", down)
    with pytest.raises(DependencyUnavailable):
        check_budget(service, NOW)
    monkeypatch.setattr(notify, "publish_budget_alert", real)
    assert check_budget(service, NOW + timedelta(hours=1))[1] == 2
    assert check_budget(service, NOW + timedelta(hours=2))[1] == 0
    sns_msgs, _ = sinks()
    assert len(sns_msgs) == 2


def test_budget_route(sinks, lambda_context, pin_clock):
    from functions.services.app import lambda_handler

    seed()
    from costopt.jobs.budget import check_budget
    from costopt.store.services import ServiceRepository

    check_budget(ServiceRepository().get("checkout-api"), NOW)
    pin_clock(NOW)
    resp = lambda_handler(http_event("GET", "/v1/services/checkout-api/budget"), lambda_context)
    body = json.loads(resp["body"])
    assert resp["statusCode"] == 200
    assert body["month"] == "2026-11" and body["month_to_date_usd"] == 112.0 and body["forecast_usd"] == 246.0
    assert body["status"] == "at_risk" and body["forecast_basis"] == "trailing_weekday_mean"
    assert body["history_days"] == 27 and body["billed_through"].startswith("2026-11-14T00:00")  # Oct 18 - Nov 13
    assert body["adjustments"] == []
    assert [(t["type"], t["threshold"], t["crossed"]) for t in body["thresholds"]] == [
        ("ACTUAL", 50.0, True), ("ACTUAL", 100.0, False), ("FORECASTED", 100.0, True)]
    assert body["thresholds"][0]["crossed_at"].startswith("2026-11-15T06:00")


def test_budget_route_without_data_or_budget(tables, lambda_context):
    from costopt.store.services import ServiceRepository
    from functions.services.app import lambda_handler

    repo = ServiceRepository()
    repo.put("fresh-svc", ServicePut.model_validate(SPEC))
    resp = lambda_handler(http_event("GET", "/v1/services/fresh-svc/budget"), lambda_context)
    body = json.loads(resp["body"])
    assert resp["statusCode"] == 200 and body["status"] == "no_data" and body["forecast_usd"] is None
    assert body["forecast_basis"] == "insufficient_history" and body["history_days"] == 0

    repo.put("no-budget", ServicePut.model_validate({**SPEC, "budget": None}))
    resp = lambda_handler(http_event("GET", "/v1/services/no-budget/budget"), lambda_context)
    assert resp["statusCode"] == 404 and "no budget" in json.loads(resp["body"])["detail"]

