"""Cost Explorer billing: moto's GetCostAndUsage with canned results set through moto's own API,
and botocore's Stubber for GetCostAndUsageWithResources (moto does not implement it)."""


from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.cost_explorer import CostExplorerBilling
from costopt.domain.service import Service
from costopt.errors import ConnectorError

D20 = datetime(2026, 11, 20, tzinfo=UTC)
D21 = datetime(2026, 11, 21, tzinfo=UTC)
D22 = datetime(2026, 11, 22, tzinfo=UTC)
LATER = datetime(2027, 1, 15, tzinfo=UTC)  # the window is older than 14 days: no resource-level data


def service(tag_value: str, **billing: Any) -> Service:
    return Service.model_validate({
        "service_id": "checkout", "version": 1, "created_at": D20, "updated_at": D20,
        "name": "Checkout", "team": "payments",
        "resources": [
            {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
             "config": {"memory_mb": 1024}},
            {"resource_id": "a", "kind": "ebs_volume", "volume_id": "vol-0f1e2d3c4b5a69788",
             "config": {"volume_type": "gp2", "size_gb": 100}},
            {"resource_id": "b", "kind": "ebs_volume", "volume_id": "vol-0f1e2d3c4b5a69789",
             "config": {"volume_type": "gp3", "size_gb": 50}},
        ],
        "billing": {"source": "cost_explorer", "cost_allocation_tag": {"key": "costopt-service", "value": tag_value},
                    **billing},
        "telemetry": {"source": "synthetic"},
    })


def group(key: str, amount: str) -> dict[str, Any]:
    return {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}


def day(start: str, end: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"TimePeriod": {"Start": start, "End": end}, "Total": {}, "Groups": groups, "Estimated": False}


def test_request_shape_and_resource_level_grouping() -> None:
    client = boto3.client("ce", region_name="us-east-1")
    svc = service("checkout", account_id="123456789012")
    flt = {"And": [{"Tags": {"Key": "costopt-service", "Values": ["checkout"], "MatchOptions": ["EQUALS"]}},
                   {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["123456789012"]}}]}
    expected = {"TimePeriod": {"Start": "2026-11-20", "End": "2026-11-22"}, "Granularity": "DAILY",
                "Metrics": ["UnblendedCost"], "Filter": flt, "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]}
    stub = Stubber(client)
    stub.add_response("get_cost_and_usage_with_resources", {"ResultsByTime": [
        day("2026-11-20", "2026-11-21", [
            group("arn:aws:lambda:us-east-1:123456789012:function:checkout-api", "3.10"),
            group("vol-0f1e2d3c4b5a69788", "0.33"),
            group("arn:aws:ec2:us-east-1:123456789012:volume/vol-0f1e2d3c4b5a69789", "0.13"),
            group("NoResourceId", "0.05")])], "NextPageToken": "p2"}, expected)
    stub.add_response("get_cost_and_usage_with_resources", {"ResultsByTime": [
        day("2026-11-21", "2026-11-22", [group("vol-0f1e2d3c4b5a69788", "0.34")])]},
        {**expected, "NextPageToken": "p2"})
    with stub:
        series = CostExplorerBilling(client=client, now=datetime(2026, 11, 25, tzinfo=UTC)).fetch_costs(svc, D20, D22)
        stub.assert_no_pending_responses()
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series}
    assert got == {"api": {D20: 3.10}, "a": {D20: 0.33, D21: 0.34}, "b": {D20: 0.13}, SERVICE_TOTAL: {D20: 0.05}}


def test_resource_level_not_enabled_falls_back_to_service_grouping() -> None:
    client = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_cost_and_usage_with_resources", "DataUnavailableException",
                          "resource-level data is not enabled", 400)
    stub.add_response("get_cost_and_usage", {"ResultsByTime": [day("2026-11-20", "2026-11-21",
                                                                    [group("AWS Lambda", "2.00")])]})
    with stub:
        series = CostExplorerBilling(client=client, now=D22).fetch_costs(service("checkout"), D20, D21)
    assert [(s.resource_id, [p.v for p in s.points]) for s in series] == [("api", [2.0])]


def test_a_window_reaching_past_14_days_reads_its_recent_days_by_resource_and_the_older_by_service() -> None:
    client = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(client)
    flt = {"Tags": {"Key": "costopt-service", "Values": ["checkout"], "MatchOptions": ["EQUALS"]}}
    # now = Dec 3: resource-level data reaches back to Nov 20 (13 days before); Nov 19 is older
    stub.add_response("get_cost_and_usage_with_resources", {"ResultsByTime": [
        day("2026-11-20", "2026-11-21", [group("vol-0f1e2d3c4b5a69788", "0.33"),
                                         group("vol-0f1e2d3c4b5a69789", "0.13")])]},
        {"TimePeriod": {"Start": "2026-11-20", "End": "2026-11-21"}, "Granularity": "DAILY",
         "Metrics": ["UnblendedCost"], "Filter": flt, "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]})
    stub.add_response("get_cost_and_usage", {"ResultsByTime": [
        day("2026-11-19", "2026-11-20", [group("EC2 - Other", "0.46"), group("AWS Lambda", "3.00")])]},
        {"TimePeriod": {"Start": "2026-11-19", "End": "2026-11-20"}, "Granularity": "DAILY",
         "Metrics": ["UnblendedCost"], "Filter": flt, "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
    d19 = datetime(2026, 11, 19, tzinfo=UTC)
    with stub:
        series = CostExplorerBilling(client=client, now=datetime(2026, 12, 3, 5, tzinfo=UTC)).fetch_costs(
            service("checkout"), d19, D21)
        stub.assert_no_pending_responses()
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series}
    # two volumes share "EC2 - Other": by service, that day's cost is the service's, not split by guess
    assert got == {"a": {D20: 0.33}, "b": {D20: 0.13}, "api": {d19: 3.0}, SERVICE_TOTAL: {d19: 0.46}}


def test_errors_and_missing_tag() -> None:
    client = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_cost_and_usage", "LimitExceededException", "slow down", 400)
    with stub, pytest.raises(ConnectorError) as err:
        CostExplorerBilling(client=client, now=LATER).fetch_costs(service("checkout"), D20, D22)
    assert err.value.retryable is True and err.value.source == "cost_explorer"

    untagged = Service.model_validate(json.loads(service("x").model_dump_json()) | {
        "billing": {"source": "cost_explorer"}})
    with pytest.raises(ConnectorError, match="cost_allocation_tag") as no_tag:
        CostExplorerBilling(now=LATER).fetch_costs(untagged, D20, D22)
    assert no_tag.value.retryable is False
    assert CostExplorerBilling(now=LATER).fetch_costs(untagged, D20, datetime(2026, 11, 20, 23, tzinfo=UTC)) == []
