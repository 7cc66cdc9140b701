"""CloudWatch connector: moto for averages and sums (put_metric_data, then fetch), botocore's Stubber: the tests
that need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/connectors/test_cloudwatch.py``."""


from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from costopt.connectors.cloudwatch import (
    CloudWatchTelemetry,
)
from costopt.domain.observation import Metric
from tests.unit.connectors.test_cloudwatch import T0, make_service  # shared with the tests that need no AWS


def put(cw: Any, ns: str, name: str, dims: dict[str, str], values: list[tuple[datetime, float]]) -> None:
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
         "Timestamp": t, "Value": v} for t, v in values])


def test_sums_and_averages_through_moto() -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    vol = "vol-" + uuid.uuid4().hex[:17]
    inst = "i-" + uuid.uuid4().hex[:17]
    table = "orders-" + uuid.uuid4().hex[:8]
    fn = "checkout-" + uuid.uuid4().hex[:8]
    m = timedelta(minutes=1)
    # EBS: 900 read ops + 1,500 write ops in the first 5-minute period -> 2,400 / 300 s = 8 IOPS
    put(cw, "AWS/EBS", "VolumeReadOps", {"VolumeId": vol}, [(T0 + m, 300), (T0 + 2 * m, 600)])
    put(cw, "AWS/EBS", "VolumeWriteOps", {"VolumeId": vol}, [(T0 + m, 1500)])
    # 150 MiB read in that period -> 0.5 MiB/s; second period only writes 300 MiB -> 1.0 MiB/s
    put(cw, "AWS/EBS", "VolumeReadBytes", {"VolumeId": vol}, [(T0 + m, 150 * 2**20)])
    put(cw, "AWS/EBS", "VolumeWriteBytes", {"VolumeId": vol}, [(T0 + 6 * m, 300 * 2**20)])
    # DynamoDB: 3,000 RCU consumed in 5 minutes -> 10 RCU/s average
    put(cw, "AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": table}, [(T0 + m, 1000), (T0 + 3 * m, 2000)])
    put(cw, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": table}, [(T0 + m, 600)])
    # EC2 CPU average of 20 and 40 = 30; the CloudWatch agent's memory metric
    put(cw, "AWS/EC2", "CPUUtilization", {"InstanceId": inst}, [(T0 + m, 20), (T0 + 2 * m, 40)])
    put(cw, "CWAgent", "mem_used_percent", {"InstanceId": inst}, [(T0 + m, 55)])
    # Lambda invocations are summed
    put(cw, "AWS/Lambda", "Invocations", {"FunctionName": fn}, [(T0 + m, 100), (T0 + 2 * m, 50)])
    put(cw, "AWS/Lambda", "Errors", {"FunctionName": fn}, [(T0 + m, 3)])

    svc = make_service([
        {"resource_id": "data", "kind": "ebs_volume", "volume_id": vol,
         "config": {"volume_type": "gp2", "size_gb": 100}},
        {"resource_id": "orders", "kind": "dynamodb_table", "table_name": table,
         "config": {"billing_mode": "PAY_PER_REQUEST"}},
        {"resource_id": "box", "kind": "ec2_instance", "instance_id": inst, "config": {"instance_type": "m5.large"}},
        {"resource_id": "fn", "kind": "lambda_function", "function_name": f"arn:aws:lambda:us-east-1:123456789012:"
         f"function:{fn}", "config": {"memory_mb": 1024}},
    ])
    series = CloudWatchTelemetry().fetch(svc, T0, T0 + timedelta(minutes=15))
    got = {(s.resource_id, s.metric): {p.t: p.v for p in s.points} for s in series}

    five = T0 + timedelta(minutes=5)
    assert got[("data", Metric.IOPS)] == {T0: pytest.approx(8.0)}
    assert got[("data", Metric.THROUGHPUT_MBPS)] == {T0: pytest.approx(0.5), five: pytest.approx(1.0)}
    assert got[("orders", Metric.CONSUMED_RCU)] == {T0: pytest.approx(10.0)}
    assert got[("orders", Metric.CONSUMED_WCU)] == {T0: pytest.approx(2.0)}
    assert got[("box", Metric.CPU_PCT)] == {T0: pytest.approx(30.0)}
    assert got[("box", Metric.MEMORY_PCT)] == {T0: pytest.approx(55.0)}
    assert got[("fn", Metric.REQUESTS)] == {T0: 150.0}
    assert got[("fn", Metric.ERRORS)] == {T0: 3.0}
    # no Lambda Insights, no throttles published: those series are absent, not zero
    assert ("fn", Metric.CPU_TIME_MS) not in got and ("fn", Metric.THROTTLES) not in got
    stats = {(s.resource_id, s.metric): s.stat for s in series}
    assert stats[("fn", Metric.REQUESTS)] == "sum" and stats[("box", Metric.CPU_PCT)] == "avg"
