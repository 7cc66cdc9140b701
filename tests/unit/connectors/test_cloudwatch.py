"""CloudWatch connector: moto for averages and sums (put_metric_data, then fetch), botocore's Stubber
for percentile statistics (moto cannot compute p99), paging and the 500-queries-per-call limit."""


from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from costopt.connectors.cloudwatch import (
    CloudWatchTelemetry,
    MetricQuery,
    load_balancer_dimension,
    queries_for,
    target_group_dimension,
)
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from costopt.errors import ConnectorError

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-tg/73e2d6bc24d8a067"
LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop-lb/50dc6c495c0c9188"


def make_service(resources: list[dict[str, Any]], period_s: int = 300) -> Service:
    return Service.model_validate({
        "service_id": "shop", "version": 1, "created_at": T0, "updated_at": T0, "name": "Shop", "team": "shop",
        "resources": resources, "telemetry": {"source": "cloudwatch", "period_s": period_s},
        "billing": {"source": "synthetic"},
    })


def _result(qid: str, ts: list[datetime], vals: list[float]) -> dict[str, Any]:
    return {"Id": qid, "Label": qid, "Timestamps": ts, "Values": vals, "StatusCode": "Complete"}


def test_percentiles_via_stubber_with_paging() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    svc = make_service([
        {"resource_id": "fn", "kind": "lambda_function", "function_name": "checkout", "config": {"memory_mb": 1024}},
        {"resource_id": "web", "kind": "ecs_service", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
         "service_name": "web", "target_group_arn": TG_ARN, "load_balancer_arn": LB_ARN,
         "config": {"cpu_units": 512, "memory_mb": 1024, "desired_count": 2}},
    ])
    stats = ("p50", "p95", "p99")
    queries = [qq for r in svc.resources for qq in queries_for(r, stats)]
    assert len(queries) == 11 + 5  # Lambda: 3 duration percentiles, Duration Average, 4 counts, 3 Insights
    assert [q.stat for q in queries_for(svc.resources[0])][:3] == ["p99", "Average", "Sum"]  # p99 only by default
    api_queries = [qq.to_api(f"q{i}", 300) for i, qq in enumerate(queries)]
    ids = {qq.key if qq.resource_id == "fn" else "web_" + qq.key: f"q{i}" for i, qq in enumerate(queries)}
    end = T0 + timedelta(minutes=10)
    t1 = T0 + timedelta(minutes=5)
    stub = Stubber(client)
    base = {"MetricDataQueries": api_queries, "StartTime": T0, "EndTime": end, "ScanBy": "TimestampAscending"}
    # page 1: first point of the p99 duration; page 2: its second point and the ALB p99 (in seconds)
    stub.add_response("get_metric_data", {
        "MetricDataResults": [_result(ids["duration_p99"], [T0], [812.5]),
                              _result(ids["duration_p50"], [T0, t1], [120.0, 130.0]),
                              _result(ids["duration_mean"], [T0], [141.25]),
                              _result(ids["insights_init"], [t1], [1400.0])],
        "NextToken": "page-2"}, base)
    stub.add_response("get_metric_data", {
        "MetricDataResults": [_result(ids["duration_p99"], [t1], [901.0]),
                              _result(ids["web_alb_latency_p99"], [T0, t1], [0.245, 0.310]),
                              _result(ids["web_cpu"], [T0], [61.0])]},
        {**base, "NextToken": "page-2"})
    with stub:
        series = CloudWatchTelemetry(client=client, duration_stats=stats).fetch(svc, T0, end)
        stub.assert_no_pending_responses()
    got = {(s.resource_id, s.metric, s.stat): {p.t: p.v for p in s.points} for s in series}
    assert got[("fn", Metric.DURATION_MS, "p99")] == {T0: 812.5, t1: 901.0}
    assert got[("fn", Metric.DURATION_MS, "p50")] == {T0: 120.0, t1: 130.0}
    assert got[("fn", Metric.DURATION_MEAN_MS, "avg")] == {T0: 141.25}  # Duration Average: what cost uses
    assert got[("fn", Metric.INIT_MS, "sum")] == {t1: 1400.0}  # Insights init_duration Sum: INIT ms of the period
    mean_q = next(q for q in queries if q.key == "duration_mean")
    init_q = next(q for q in queries if q.key == "insights_init")
    assert (mean_q.namespace, mean_q.metric_name, mean_q.stat) == ("AWS/Lambda", "Duration", "Average")
    assert (init_q.namespace, init_q.metric_name, init_q.stat) == ("LambdaInsights", "init_duration", "Sum")
    assert got[("web", Metric.LATENCY_MS, "p99")] == {T0: pytest.approx(245.0), t1: pytest.approx(310.0)}
    assert got[("web", Metric.CPU_PCT, "avg")] == {T0: 61.0}
    # the ALB dimensions are parsed from the ARNs, the ECS cluster name from its ARN
    alb = next(q for q in queries if q.key == "alb_latency_p99")
    assert dict(alb.dimensions) == {"TargetGroup": "targetgroup/shop-tg/73e2d6bc24d8a067",
                                    "LoadBalancer": "app/shop-lb/50dc6c495c0c9188"}
    assert alb.stat == "p99" and alb.namespace == "AWS/ApplicationELB"
    assert dict(next(q for q in queries if q.key == "cpu").dimensions) == {"ClusterName": "prod", "ServiceName": "web"}


def test_at_most_500_queries_per_call() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    sent: list[int] = []
    client.meta.events.register("provide-client-params.monitoring.GetMetricData",
                                lambda params, **_: sent.append(len(params["MetricDataQueries"])))
    queries = [MetricQuery(f"fn{i}", "invocations", "AWS/Lambda", "Invocations", (("FunctionName", f"f{i}"),), "Sum")
               for i in range(1234)]
    stub = Stubber(client)
    for _ in range(3):
        stub.add_response("get_metric_data", {"MetricDataResults": []})
    with stub:
        out = CloudWatchTelemetry.get_metric_data(client, queries, T0, T0 + timedelta(hours=1), 300)
    assert sent == [500, 500, 234]
    assert out == [{}] * 1234


def test_errors_are_typed_connector_errors() -> None:
    client = boto3.client("cloudwatch", region_name="us-east-1")
    svc = make_service([{"resource_id": "box", "kind": "ec2_instance", "instance_id": "i-0123456789abcdef0",
                         "config": {"instance_type": "m5.large"}}])
    stub = Stubber(client)
    stub.add_client_error("get_metric_data", "AccessDenied", "not authorized", 403)
    stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", 400)
    with stub:
        with pytest.raises(ConnectorError) as denied:
            CloudWatchTelemetry(client=client).fetch(svc, T0, T0 + timedelta(hours=1))
        with pytest.raises(ConnectorError) as throttled:
            CloudWatchTelemetry(client=client).fetch(svc, T0, T0 + timedelta(hours=1))
    assert denied.value.retryable is False and denied.value.source == "cloudwatch"
    assert "AccessDenied" in denied.value.detail
    assert throttled.value.retryable is True


def test_dimension_parsing() -> None:
    assert target_group_dimension(TG_ARN) == "targetgroup/shop-tg/73e2d6bc24d8a067"
    assert load_balancer_dimension(LB_ARN) == "app/shop-lb/50dc6c495c0c9188"
    svc = make_service([{"resource_id": "w", "kind": "generic", "workload": "a/b",
                         "config": {"replicas": 1, "cpu_cores": 1, "memory_gb": 1}}])
    assert queries_for(svc.resources[0]) == []
