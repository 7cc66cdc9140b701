"""AWS Cost Explorer billing: ``GetCostAndUsage``, DAILY, filtered by the service's cost-allocation tag.

- Resource level (the days of the window inside the last 14 days, the most Cost Explorer keeps
  resource-level data for, when the account opted in): ``GetCostAndUsageWithResources`` grouped by
  ``RESOURCE_ID``; each resource id is matched to the service's resources by ARN/id suffix
  (:func:`costopt.connectors.focus.resource_matcher`), the rest is ``SERVICE_TOTAL``.
- The older days (all of them when resource-level data is unavailable): ``GetCostAndUsage`` grouped by
  ``SERVICE``; an AWS service's cost goes to the service's only resource of the matching kind
  (AWS Lambda → the lambda_function, ...), else to ``SERVICE_TOTAL``. Nothing is split by guess.

Metric: ``UnblendedCost`` (what was billed that day). ``billing.account_id`` adds a
LINKED_ACCOUNT filter. Cost Explorer's ``End`` is exclusive, like ours. Paged with NextPageToken.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from costopt import clock
from costopt.connectors.base import SERVICE_TOTAL, BillingSource
from costopt.connectors.focus import DailyCosts, complete_days, daily_series, resource_matcher
from costopt.connectors.retry import aws_error, boto_client
from costopt.domain.observation import Series
from costopt.domain.resources import ResourceKind
from costopt.errors import ConnectorError

if TYPE_CHECKING:
    from costopt.domain.service import Service

SOURCE = "cost_explorer"
# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"ce:GetCostAndUsage", "ce:GetCostAndUsageWithResources"})
COST_METRIC = "UnblendedCost"
RESOURCE_LEVEL_DAYS = 14

# Cost Explorer SERVICE dimension values -> our resource kinds
AWS_SERVICE_KINDS: dict[str, str] = {
    "AWS Lambda": ResourceKind.LAMBDA_FUNCTION,
    "Amazon Elastic Container Service": ResourceKind.ECS_SERVICE,
    "Amazon Elastic Compute Cloud - Compute": ResourceKind.EC2_INSTANCE,
    "EC2 - Other": ResourceKind.EBS_VOLUME,
    "Amazon DynamoDB": ResourceKind.DYNAMODB_TABLE,
}


class CostExplorerBilling(BillingSource):
    """BillingSource over Cost Explorer (the ``ce`` endpoint lives in us-east-1)."""

    name: ClassVar[str] = SOURCE

    def __init__(self, client: Any | None = None, now: datetime | None = None) -> None:
        self._client = client
        self._now = now

    @property
    def client(self) -> Any:
        return self._client or boto_client("ce", "us-east-1")

    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        days = complete_days(start, end)
        if not days:
            return []
        flt = self.filter_for(service)
        now = self._now or clock.now()
        first_resource_day = (now - timedelta(days=RESOURCE_LEVEL_DAYS - 1)).date()
        recent = [d for d in days if d >= first_resource_day]
        older = [d for d in days if d < first_resource_day]
        costs: DailyCosts | None = self._by_resource(service, _period(recent), flt) if recent else None
        if costs is None:  # no recent days, or not opted in: the whole window by AWS service
            costs, older = {}, days
        if older:
            costs = {**costs, **self._by_aws_service(service, _period(older), flt)}
        return daily_series(costs, days)

    @staticmethod
    def filter_for(service: Service) -> dict[str, Any]:
        tag = service.billing.cost_allocation_tag
        if tag is None:
            raise ConnectorError(SOURCE, "Cost Explorer billing needs billing.cost_allocation_tag", retryable=False)
        flt: dict[str, Any] = {"Tags": {"Key": tag.key, "Values": [tag.value], "MatchOptions": ["EQUALS"]}}
        if service.billing.account_id:
            flt = {"And": [flt, {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [service.billing.account_id]}}]}
        return flt

    def _pages(self, operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        results: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            call = dict(request, NextPageToken=token) if token else request
            try:
                resp = getattr(self.client, operation)(**call)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error(SOURCE, exc) from exc
            results.extend(resp.get("ResultsByTime", []))
            token = resp.get("NextPageToken")
            if not token:
                return results

    def _by_resource(self, service: Service, period: dict[str, str], flt: dict[str, Any]) -> DailyCosts | None:
        request = {"TimePeriod": period, "Granularity": "DAILY", "Metrics": [COST_METRIC], "Filter": flt,
                   "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}]}
        try:
            results = self._pages("get_cost_and_usage_with_resources", request)
        except ConnectorError as exc:
            if exc.retryable and "DataUnavailable" not in exc.detail:
                raise
            return None  # not opted in to resource-level data: fall back to SERVICE grouping
        match = resource_matcher(service)
        return _fold(results, lambda key: match(key) or SERVICE_TOTAL)

    def _by_aws_service(self, service: Service, period: dict[str, str], flt: dict[str, Any]) -> DailyCosts:
        request = {"TimePeriod": period, "Granularity": "DAILY", "Metrics": [COST_METRIC], "Filter": flt,
                   "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
        results = self._pages("get_cost_and_usage", request)
        by_kind: dict[str, list[str]] = defaultdict(list)
        for r in service.resources:
            by_kind[r.kind].append(r.resource_id)

        def owner(aws_service: str) -> str:
            ids = by_kind.get(AWS_SERVICE_KINDS.get(aws_service, ""), [])
            return ids[0] if len(ids) == 1 else SERVICE_TOTAL

        return _fold(results, owner)


def _period(days: list[date]) -> dict[str, str]:
    return {"Start": days[0].isoformat(), "End": (days[-1] + timedelta(days=1)).isoformat()}


def _fold(results: list[dict[str, Any]], owner: Any) -> DailyCosts:
    costs: DailyCosts = defaultdict(float)
    for day in results:
        d = date.fromisoformat(day["TimePeriod"]["Start"][:10])
        groups = day.get("Groups") or []
        if not groups:
            amount = _amount(day.get("Total", {}))
            if amount:
                costs[(SERVICE_TOTAL, d)] += amount
            continue
        for group in groups:
            key = (group.get("Keys") or [""])[0]
            costs[(owner(key), d)] += _amount(group.get("Metrics", {}))
    return dict(costs)


def _amount(metrics: dict[str, Any]) -> float:
    value = metrics.get(COST_METRIC) or {}
    unit = value.get("Unit", "USD")
    if unit != "USD":
        raise ConnectorError(SOURCE, f"cost in {unit}, expected USD", retryable=False)
    return float(value.get("Amount") or 0.0)
