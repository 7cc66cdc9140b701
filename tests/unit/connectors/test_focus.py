"""FOCUS 1.x CSV import from the sample export in tests/fixtures/focus (local path and s3://)."""


from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.focus import FocusCsvBilling, complete_days, resource_matcher, spread_over_days
from costopt.domain.observation import Metric
from costopt.domain.service import Service

SAMPLE = Path(__file__).parents[2] / "fixtures" / "focus" / "checkout-2026-11.csv"
D20 = datetime(2026, 11, 20, tzinfo=UTC)
D21 = datetime(2026, 11, 21, tzinfo=UTC)
D22 = datetime(2026, 11, 22, tzinfo=UTC)


def checkout(uri: str) -> Service:
    return Service.model_validate({
        "service_id": "checkout", "version": 1, "created_at": D20, "updated_at": D20,
        "name": "Checkout", "team": "payments",
        "resources": [
            {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
             "config": {"memory_mb": 1024, "architecture": "arm64"}},
            {"resource_id": "worker", "kind": "ec2_instance", "instance_id": "i-0a1b2c3d4e5f60718",
             "config": {"instance_type": "m5.large"}},
            {"resource_id": "data", "kind": "ebs_volume", "volume_id": "vol-0f1e2d3c4b5a69788",
             "config": {"volume_type": "gp2", "size_gb": 100}},
            {"resource_id": "orders", "kind": "dynamodb_table", "table_name": "orders",
             "config": {"billing_mode": "PAY_PER_REQUEST"}},
        ],
        "billing": {"source": "focus_csv", "focus_csv_uri": uri,
                    "cost_allocation_tag": {"key": "costopt-service", "value": "checkout"}},
        "telemetry": {"source": "synthetic"},
    })


def by_resource(series: list) -> dict[str, dict[datetime, float]]:
    assert all(s.metric == Metric.COST_USD and s.stat == "sum" and s.period_s == 86_400 for s in series)
    return {s.resource_id: {p.t: p.v for p in s.points} for s in series}


EXPECTED = {
    # Lambda arm64: 2.5 M requests x $0.20/M + 1 M GB-s x $0.0000133334
    "api": {D20: pytest.approx(0.50 + 13.3334), D21: pytest.approx(0.40)},
    # m5.large on demand 24 h x $0.096 = $2.304; next day under a Savings Plan: EffectiveCost, not BilledCost 0
    "worker": {D20: pytest.approx(2.304), D21: pytest.approx(1.6128)},
    # a monthly 100 GB gp2 charge ($10.00) spread over the 30 days of November
    "data": {D20: pytest.approx(10 / 30), D21: pytest.approx(10 / 30)},
    # on-demand: 1 M write units x $0.625/M + 4 M read units x $0.125/M
    "orders": {D20: pytest.approx(0.625 + 0.50)},
    # the tagged log group is the service's cost but no resource's
    SERVICE_TOTAL: {D20: pytest.approx(0.42)},
}


def test_focus_sample_from_a_local_file() -> None:
    series = FocusCsvBilling().fetch_costs(checkout(str(SAMPLE)), D20, D22)
    assert by_resource(series) == EXPECTED  # the "search" service's row is not ours


def test_focus_only_complete_days_in_the_window() -> None:
    series = FocusCsvBilling().fetch_costs(checkout(str(SAMPLE)), datetime(2026, 11, 20, 13, tzinfo=UTC), D22)
    got = by_resource(series)
    assert set(got["worker"]) == {D21} and "orders" not in got


def test_matching_and_day_helpers() -> None:
    match = resource_matcher(checkout("x"))
    assert match("arn:aws:lambda:us-east-1:123456789012:function:checkout-api:live") == "api"
    assert match("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/checkout-api") is None
    assert match("arn:aws:dynamodb:us-east-1:123456789012:table/orders") == "orders"
    assert match("arn:aws:dynamodb:us-east-1:123456789012:table/orders-archive") is None
    assert match("i-0a1b2c3d4e5f60718") == "worker" and match("") is None
    parts = spread_over_days(datetime(2026, 11, 20, 18, tzinfo=UTC), datetime(2026, 11, 21, 6, tzinfo=UTC), 12.0)
    assert parts == [(D20.date(), 6.0), (D21.date(), 6.0)]
    assert complete_days(datetime(2026, 11, 20, 0, 0, 1, tzinfo=UTC), D22) == [D21.date()]
