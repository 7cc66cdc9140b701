"""moto GetMetricData extension: percentiles (nearest rank = numpy inverted_cdf), stats, dimensions, periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
from moto import mock_aws

from local.moto_ext import cloudwatch

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _query(stat: str, dims: list[dict[str, str]], period: int = 3600) -> dict:
    return {
        "Id": "q",
        "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def test_percentiles_stats_dimensions_periods() -> None:
    cloudwatch.install()
    cloudwatch.install()
    rng = np.random.default_rng(7)
    vals = [float(v) for v in rng.gamma(2.0, 50.0, 300)]
    dims = [{"Name": "FunctionName", "Value": "f"}]
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="eu-west-1")
        for i in range(0, 300, 150):
            cw.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": "Duration",
                        "Dimensions": dims,
                        "Timestamp": T0 + timedelta(seconds=10 * j),
                        "Value": v,
                    }
                    for j, v in enumerate(vals[i : i + 150], start=i)
                ],
            )
        cw.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": "Duration",
                    "Dimensions": [{"Name": "FunctionName", "Value": "g"}],
                    "Timestamp": T0,
                    "Value": 1e6,
                }
            ],
        )

        def get(stat: str, period: int = 3600, d: list[dict[str, str]] = dims) -> list[float]:
            r = cw.get_metric_data(
                MetricDataQueries=[_query(stat, d, period)],
                StartTime=T0,
                EndTime=T0 + timedelta(hours=1),
                ScanBy="TimestampAscending",
            )
            return list(r["MetricDataResults"][0]["Values"])

        for p in (50.0, 95.0, 99.0, 99.9):
            assert get(f"p{p:g}") == [float(np.percentile(vals, p, method="inverted_cdf"))]
        assert get("Sum") == [sum(vals)]
        assert get("Maximum") == [max(vals)]
        assert get("SampleCount") == [300.0]
        assert get("Maximum", d=[{"Name": "FunctionName", "Value": "g"}]) == [1e6]
        per_10min = get("SampleCount", period=600)
        assert per_10min == [60.0, 60.0, 60.0, 60.0, 60.0]


def test_accounts_are_separate() -> None:
    cloudwatch.install()
    dims = [{"Name": "FunctionName", "Value": "f"}]
    with mock_aws():
        creds = boto3.client("sts", region_name="eu-west-1").assume_role(
            RoleArn="arn:aws:iam::210987654321:role/costopt-member", RoleSessionName="test"
        )["Credentials"]
        member = boto3.client(
            "cloudwatch",
            region_name="eu-west-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        home = boto3.client("cloudwatch", region_name="eu-west-1")
        datum = {"MetricName": "Duration", "Dimensions": dims, "Timestamp": T0, "Value": 5.0}
        member.put_metric_data(Namespace="AWS/Lambda", MetricData=[datum])
        window = {"StartTime": T0, "EndTime": T0 + timedelta(hours=1)}
        got_member = member.get_metric_data(MetricDataQueries=[_query("p99", dims)], **window)
        got_home = home.get_metric_data(MetricDataQueries=[_query("p99", dims)], **window)
        assert got_member["MetricDataResults"][0]["Values"] == [5.0]
        assert got_home["MetricDataResults"][0]["Values"] == []
