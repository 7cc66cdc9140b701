"""Cost Explorer billing: moto's GetCostAndUsage with canned results set through moto's own API,
and botocore's Stubber for GetCostAndUsageWithResources (moto does not implement it)."""


from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.cost_explorer import CostExplorerBilling
from costopt.domain.service import Service

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
    })


def group(key: str, amount: str) -> dict[str, Any]:
    return {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}


def day(start: str, end: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"TimePeriod": {"Start": start, "End": end}, "Total": {}, "Groups": groups, "Estimated": False}


def test_daily_cost_by_aws_service_through_moto() -> None:
    canned = {"ResultsByTime": [
        day("2026-11-20", "2026-11-21", [group("AWS Lambda", "17.1667"), group("EC2 - Other", "1.25"),
                                         group("AmazonCloudWatch", "0.42")]),
        day("2026-11-21", "2026-11-22", [group("AWS Lambda", "15.40")]),
    ], "DimensionValueAttributes": []}
    resp = requests.post("http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results",
                         json={"results": [canned]}, timeout=5)
    assert resp.status_code == 201

    svc = service("checkout-" + uuid.uuid4().hex[:6])  # a fresh request body takes the canned result
    series = CostExplorerBilling(now=LATER).fetch_costs(svc, D20, D22)
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series}
    # one Lambda function: AWS Lambda is its cost; two volumes: "EC2 - Other" is not split by guess
    assert got == {"api": {D20: 17.1667, D21: 15.40}, SERVICE_TOTAL: {D20: pytest.approx(1.25 + 0.42)}}
    assert all(s.period_s == 86_400 and s.stat == "sum" for s in series)
