"""The sandbox's Cost Explorer (local.moto_ext.ce): GetCostAndUsage and GetCostAndUsageWithResources answered
from a bill, for the requests costopt's connector sends and for the filter, grouping and visibility rules
Cost Explorer applies. Every expected amount is summed by hand from the bill rows below."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.moto_ext import ce
from local.moto_ext.ce import BillRow

PAYER, SHOP, DATA = "123456789012", "210987654321", "109876543210"
FN = f"arn:aws:lambda:us-east-1:{SHOP}:function:api"
D1, D2, D3 = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)
WEB, DB = {"app": "web"}, {"app": "db"}
ROWS = [
    BillRow(D1, SHOP, "us-east-1", "AWS Lambda", FN, 1.25, WEB),
    BillRow(D2, SHOP, "us-east-1", "AWS Lambda", FN, 2.50, WEB),
    BillRow(D2, SHOP, "us-east-1", "Amazon Elastic Container Service",
            f"arn:aws:ecs:us-east-1:{SHOP}:service/shop/worker", 7.10928, WEB),
    BillRow(D2, DATA, "us-east-1", "Amazon Elastic Compute Cloud - Compute", "i-0abc", 9.216, DB),
    BillRow(D2, DATA, "eu-west-1", "EC2 - Other", "vol-0def", 1.6129032258, DB),
    BillRow(D3, DATA, "us-east-1", "EC2 - Other", "vol-0untagged", 0.5, {}),
]


@pytest.fixture
def client() -> Iterator[object]:
    ce.install()
    ce.install()  # idempotent
    with mock_aws():
        ce.set_bill(ROWS, payer=PAYER)
        yield boto3.client("ce", region_name="us-east-1")
    ce.clear()


def _daily(client: object, start: str, end: str, **kw: object) -> list[dict]:
    return client.get_cost_and_usage(TimePeriod={"Start": start, "End": end}, Granularity="DAILY",  # type: ignore[attr-defined]
                                     Metrics=["UnblendedCost"], **kw)["ResultsByTime"]


def _groups(day: dict) -> dict[str, float]:
    return {"|".join(g["Keys"]): float(g["Metrics"]["UnblendedCost"]["Amount"]) for g in day["Groups"]}


def test_the_connectors_service_query_gets_each_days_costs_by_aws_service(client: object) -> None:
    flt = {"And": [{"Tags": {"Key": "app", "Values": ["web"], "MatchOptions": ["EQUALS"]}},
                   {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [SHOP]}}]}
    days = _daily(client, "2026-10-31", "2026-11-03", Filter=flt, GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])
    assert [d["TimePeriod"] for d in days] == [{"Start": "2026-10-31", "End": "2026-11-01"},
                                               {"Start": "2026-11-01", "End": "2026-11-02"},
                                               {"Start": "2026-11-02", "End": "2026-11-03"}]
    assert [_groups(d) for d in days] == [{"AWS Lambda": 1.25},
                                          {"AWS Lambda": 2.5, "Amazon Elastic Container Service": 7.10928}, {}]
    assert all(d["Total"] == {} for d in days)  # grouped: Cost Explorer leaves Total empty


def test_ungrouped_totals_monthly_granularity_and_or_not_absent(client: object) -> None:
    [day] = _daily(client, "2026-11-01", "2026-11-02", Filter={"Tags": {"Key": "app", "Values": ["db"]}})
    assert day["Total"]["UnblendedCost"] == {"Amount": "10.8289032258", "Unit": "USD"}  # 9.216 + 1.6129032258
    months = client.get_cost_and_usage(  # type: ignore[attr-defined]
        TimePeriod={"Start": "2026-10-01", "End": "2026-12-01"}, Granularity="MONTHLY", Metrics=["BlendedCost"],
        Filter={"Or": [{"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}},
                       {"Dimensions": {"Key": "REGION", "Values": ["eu-west-1"]}}]})["ResultsByTime"]
    assert [(m["TimePeriod"]["Start"], float(m["Total"]["BlendedCost"]["Amount"])) for m in months] == [
        ("2026-10-01", 1.25), ("2026-11-01", 2.5 + 1.6129032258)]
    [untagged] = _daily(client, "2026-11-02", "2026-11-03", Filter={"Not": {"Tags": {"Key": "app", "Values": ["web"]}}})
    assert float(untagged["Total"]["UnblendedCost"]["Amount"]) == 0.5
    [absent] = _daily(client, "2026-11-02", "2026-11-03",
                      Filter={"Tags": {"Key": "app", "MatchOptions": ["ABSENT"]}}, GroupBy=[
                          {"Type": "TAG", "Key": "app"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    assert _groups(absent) == {f"app$|{DATA}": 0.5}


def test_resource_level_costs_name_each_resource(client: object) -> None:
    [day] = client.get_cost_and_usage_with_resources(  # type: ignore[attr-defined]
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-02"}, Granularity="DAILY", Metrics=["UnblendedCost"],
        Filter={"Tags": {"Key": "app", "Values": ["web"]}},
        GroupBy=[{"Type": "DIMENSION", "Key": "RESOURCE_ID"}])["ResultsByTime"]
    assert _groups(day) == {FN: 2.5, f"arn:aws:ecs:us-east-1:{SHOP}:service/shop/worker": 7.10928}
    ce.set_bill(ROWS, payer=PAYER, resource_level=False)
    with pytest.raises(ClientError, match="DataUnavailableException"):
        client.get_cost_and_usage_with_resources(  # type: ignore[attr-defined]
            TimePeriod={"Start": "2026-11-01", "End": "2026-11-02"}, Granularity="DAILY", Metrics=["UnblendedCost"],
            Filter={"Tags": {"Key": "app", "Values": ["web"]}})


def test_a_member_account_sees_only_its_own_costs() -> None:
    request = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"}, "Metrics": ["UnblendedCost"]}
    ce.set_bill(ROWS, payer=PAYER)
    try:
        def total(caller: str) -> float:
            [day] = ce.answer(caller, request, with_resources=False)["ResultsByTime"]
            return float(day["Total"]["UnblendedCost"]["Amount"])

        assert total(PAYER) == pytest.approx(2.5 + 7.10928 + 9.216 + 1.6129032258)
        assert total(SHOP) == pytest.approx(2.5 + 7.10928)
        assert total("999999999999") == 0.0
    finally:
        ce.clear()


@pytest.mark.parametrize(("change", "message"), [
    ({"Metrics": ["UsageQuantity"]}, "Metrics must be among"),
    ({"TimePeriod": {"Start": "2026-11-02", "End": "2026-11-01"}}, "must be before End"),
    ({"GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]}, "RESOURCE_ID is not supported"),
    ({"Filter": {"CostCategories": {"Key": "team", "Values": ["a"]}}}, "not supported"),
])
def test_what_the_sandbox_cannot_answer_is_a_validation_error(client: object, change: dict, message: str) -> None:
    request = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"}, "Granularity": "DAILY",
               "Metrics": ["UnblendedCost"], **change}
    with pytest.raises(ClientError, match=message) as err:
        client.get_cost_and_usage(**request)  # type: ignore[attr-defined]
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_without_a_bill_moto_answers_as_it_does_by_itself() -> None:
    ce.install()
    ce.clear()
    with mock_aws():
        resp = boto3.client("ce", region_name="us-east-1").get_cost_and_usage(
            TimePeriod={"Start": "2026-11-01", "End": "2026-11-02"}, Granularity="DAILY", Metrics=["UnblendedCost"])
    assert resp["ResultsByTime"] == []


def test_the_cost_explorer_connector_reads_the_bill(client: object) -> None:
    from costopt.connectors.base import SERVICE_TOTAL
    from costopt.connectors.cost_explorer import CostExplorerBilling
    from costopt.domain.service import Service

    service = Service.model_validate({
        "service_id": "web", "version": 1, "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        "name": "web", "team": "t", "region": "us-east-1",
        "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": FN, "account_id": SHOP,
                       "config": {"memory_mb": 1024}}],
        "telemetry": {"source": "cloudwatch"},
        "billing": {"source": "cost_explorer", "cost_allocation_tag": {"key": "app", "value": "web"},
                    "account_id": SHOP}})
    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    series = CostExplorerBilling(client=client, now=now).fetch_costs(
        service, datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    by_resource = {s.resource_id: [(p.t.date(), p.v) for p in s.points] for s in series}
    # resource level (the window is inside the last 14 days): the Lambda cost is the function's own; the
    # ECS service's belongs to no resource of this service, so it is the service total
    assert by_resource == {"api": [(D1, 1.25), (D2, 2.5)], SERVICE_TOTAL: [(D2, 7.10928)]}
