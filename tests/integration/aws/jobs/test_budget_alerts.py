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
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
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


# --------------------------------------------------------------------------- changes and partial days


TABLE_SPEC = {
    "name": "Orders", "team": "payments",
    "resources": [{"resource_id": "orders", "kind": "dynamodb_table", "table_name": "orders",
                   "config": {"billing_mode": "PAY_PER_REQUEST"}}],
    "budget": {"monthly_usd": 300, "notifications": [
        {"type": "ACTUAL", "threshold": 50},
        {"type": "FORECASTED", "threshold": 100},
    ]},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}
CHANGE_AT = datetime(2026, 6, 10, 12, tzinfo=UTC)


def table_bill(end: date) -> Series:
    """$19.15 a day provisioned until the change on June 10 12:00, $1.35 a day on-demand after it,
    June 10 half and half: 19.15 / 2 + 1.35 / 2 = 10.25."""
    points, d = [], date(2026, 5, 1)
    while d <= end:
        cost = 19.15 if d < CHANGE_AT.date() else 10.25 if d == CHANGE_AT.date() else 1.35
        points.append(Datapoint(t=datetime(d.year, d.month, d.day, tzinfo=UTC), v=cost))
        d += timedelta(days=1)
    return Series(resource_id="orders", metric=Metric.COST_USD, stat="sum", period_s=86400, points=points)


def table_recommendation(service_id: str):
    from costopt.domain.recommendation import Evidence, Recommendation, SlaVerdict
    from costopt.store.base import new_etag

    at = CHANGE_AT - timedelta(hours=2)
    return Recommendation(
        service_id=service_id, recommendation_id="r-orders-ondemand", resource_id="orders", kind="dynamodb_table",
        action="dynamodb_capacity_mode", current={"billing_mode": "PROVISIONED", "rcu": 400, "wcu": 200},
        proposed={"billing_mode": "PAY_PER_REQUEST"},
        # (34.98 - 582.48) / 730 h x 24 h = -547.50 / 730 x 24 = -$18.00 a day (on-demand ~ 34.98 / 730 x 24 = $1.15)
        monthly_cost_current_usd=582.48, monthly_cost_proposed_usd=34.98, monthly_savings_usd=547.50,
        savings_pct=94.0, performance_risk=0, confidence=1.0, priority="P1", xor_group=f"{service_id}/orders",
        sla=SlaVerdict(compliant=True), etag=new_etag(), evidence=Evidence(lookback_days=14), engine_version="test",
        status="SUCCEEDED", created_at=at, updated_at=at)


def record_change(service_id: str, change_type: str, completed_at: datetime, *, status: str = "SUCCEEDED",
                  dry_run: bool = False) -> None:
    from costopt.domain.change import Change
    from costopt.store.changes import ChangeRepository, new_change_id

    started = completed_at - timedelta(minutes=2)
    ChangeRepository().create(Change(
        service_id=service_id, change_id=new_change_id(started), recommendation_id="r-orders-ondemand",
        resource_id="orders", kind="dynamodb_table", type=change_type, status=status,
        before={"billing_mode": "PROVISIONED", "rcu": 400, "wcu": 200}, after={"billing_mode": "PAY_PER_REQUEST"},
        actor="test", dry_run=dry_run, created_at=started, updated_at=completed_at,
        completed_at=completed_at if status == "SUCCEEDED" else None))


def seed_table(service_id: str, billed_through: date, now: datetime):
    from costopt.store.observations import ObservationRepository
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository

    service, _ = ServiceRepository().put(service_id, ServicePut.model_validate(TABLE_SPEC), now=now)
    ObservationRepository().fold(service_id, [table_bill(billed_through)], now=now)
    RecommendationRepository().put(table_recommendation(service_id))
    return service


def test_check_budget_forecasts_the_post_change_cost_after_an_apply(sinks):
    from costopt.jobs.budget import check_budget, cost_steps

    now = datetime(2026, 6, 12, 13, tzinfo=UTC)  # billed through Thursday June 11
    service = seed_table("orders-svc", date(2026, 6, 11), now)
    record_change("orders-svc", "APPLY", CHANGE_AT)
    record_change("orders-svc", "APPLY", CHANGE_AT + timedelta(hours=1), status="FAILED")  # not a step
    [step] = cost_steps(service, now, datetime(2026, 5, 15, tzinfo=UTC))
    assert step.effective_at == CHANGE_AT and abs(step.daily_delta_usd - -18.0) < 1e-9
    assert step.source.startswith("APPLY c") and "r-orders-ondemand" in step.source

    report, published = check_budget(service, now)
    assert report is not None
    # MTD = 9 x 19.15 + 10.25 + 1.35 = 172.35 + 11.60 = 183.95 >= $150 (ACTUAL 50%)
    # history restated at the post-change level: to June 9 19.15 - 18 = 1.15, June 10 10.25 - 9 = 1.25, June 11
    # 1.35; Wed = (3 x 1.15 + 1.25)/4 = 1.175, Thu = (3 x 1.15 + 1.35)/4 = 1.20, others 1.15; June 12-30:
    # 2 x 1.175 + 2 x 1.20 + 15 x 1.15 = 22.00 -> 205.95 < $300: FORECASTED not crossed (without the change the
    # forecast would be 534.45, see test_budget_engine)
    assert (report.month_to_date_usd, report.forecast_usd) == (183.95, 205.95)
    assert [(t.type, t.crossed) for t in report.thresholds] == [("ACTUAL", True), ("FORECASTED", False)]
    assert published == 1
    [adj] = report.adjustments
    assert (adj.basis, adj.daily_delta_usd, adj.billed_days_after) == ("model", -18.0, 1)
    _, events = sinks()
    assert [e["detail"]["type"] for e in events] == ["ACTUAL"]


def test_check_budget_uses_the_bill_once_it_shows_the_change_and_reverses_a_rollback(sinks):
    from costopt.jobs.budget import budget_report, check_budget

    now = datetime(2026, 6, 18, 13, tzinfo=UTC)  # billed through June 17: June 11-17 = 7 whole days after
    service = seed_table("orders-svc", date(2026, 6, 17), now)
    record_change("orders-svc", "APPLY", CHANGE_AT)
    report = budget_report(service, now)
    # the bill: June 11-17 at $1.35 for every weekday. MTD = 172.35 + 10.25 + 7 x 1.35 (9.45) = 192.05;
    # June 18-30: 13 x 1.35 = 17.55 -> 209.60
    assert (report.month_to_date_usd, report.forecast_usd) == (192.05, 209.6)
    assert [(a.basis, a.billed_days_after) for a in report.adjustments] == [("bill", 7)]

    # rolled back at 12:00 on June 18 (today, not billed): +$18/day from then, the model's estimate.
    # History (June 11-17, after the apply the bill shows) restated for the rollback: 1.35 + 18 = 19.35 a day.
    # Today: the 12 hours before the rollback at the bill's level: 19.35 - 18 x 12/24 = 10.35;
    # June 19-30: 12 x 19.35 = 232.20 -> 192.05 + 10.35 + 232.20 = 434.60 >= $300
    record_change("orders-svc", "ROLLBACK", datetime(2026, 6, 18, 12, tzinfo=UTC))
    record_change("orders-svc", "ROLLBACK", datetime(2026, 6, 18, 12, 30, tzinfo=UTC), dry_run=True)  # ignored
    report, published = check_budget(service, now)
    assert report is not None and report.forecast_usd == 434.6
    assert [(a.basis, a.daily_delta_usd) for a in report.adjustments] == [("bill", -18.0), ("model", 18.0)]
    assert [(t.type, t.crossed) for t in report.thresholds] == [("ACTUAL", True), ("FORECASTED", True)]
    assert published == 2


def test_check_budget_counts_a_partial_day_from_hourly_bills(sinks):
    """An hourly cost source: today's bill covers 00:00-08:00 at 10:00 (hours folded in the observations)."""
    from costopt.jobs.budget import check_budget, daily_costs
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository

    now = datetime(2026, 11, 18, 10, tzinfo=UTC)
    service, _ = ServiceRepository().put("checkout-api", ServicePut.model_validate(SPEC), now=now)
    hourly = Series(resource_id="api", metric=Metric.COST_USD, stat="sum", period_s=3600,
                    points=[Datapoint(t=datetime(2026, 11, 18, h, tzinfo=UTC), v=0.40) for h in range(8)])
    ObservationRepository().fold("checkout-api", [billed(date(2026, 10, 21), date(2026, 11, 16)), hourly], now=now)
    bill = daily_costs(service, now.date())
    assert bill[date(2026, 11, 18)].hours == 8 and abs(bill[date(2026, 11, 18)].cost_usd - 3.20) < 1e-9
    assert bill[date(2026, 11, 16)].hours == 24
    report, _ = check_budget(service, now)
    assert report is not None
    # MTD: Nov 1-16 = 11 weekdays x $10 + 5 weekend days x $4 = 130, + today's 8 x $0.40 = 3.20 -> 133.20.
    # Estimated: Nov 17 (Tue, not billed) $10 + 16/24 of today (Wed) x $10 = 6.6667 + Nov 19-30 (8 x $10 + 4 x $4
    # = 96) -> 133.20 + 112.6667 = 245.8667 -> 245.87
    assert (report.month_to_date_usd, report.forecast_usd) == (133.2, 245.87)
    assert report.billed_through == datetime(2026, 11, 18, 8, tzinfo=UTC) and report.history_days == 27
