"""Cost Explorer billing: moto's GetCostAndUsage with canned results set through moto's own API,: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/connectors/test_cost_explorer.py``."""


from __future__ import annotations

import uuid

import pytest
import requests

from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.cost_explorer import CostExplorerBilling
from tests.unit.connectors.test_cost_explorer import (  # shared with the tests that need no AWS
    D20,
    D21,
    D22,
    LATER,
    day,
    group,
    service,
)


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
