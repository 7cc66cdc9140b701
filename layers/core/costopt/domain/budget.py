"""Budget status as the API and the alerting see it (after AWS Budgets)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from costopt.domain.common import Model, ServiceId

BudgetStatus = Literal["ok", "at_risk", "over_budget", "no_data"]


class ThresholdStatus(Model):
    type: Literal["ACTUAL", "FORECASTED"]
    threshold: float
    kind: Literal["PERCENTAGE", "ABSOLUTE"]
    threshold_usd: float = Field(description="The threshold in dollars for this month's budget")
    crossed: bool
    crossed_at: datetime | None = Field(default=None, description="When the alert for this crossing was raised")


class BudgetReport(Model):
    service_id: ServiceId
    month: str = Field(description="YYYY-MM")
    status: BudgetStatus
    detail: str | None = None
    budget_usd: float
    month_to_date_usd: float
    forecast_usd: float | None = Field(default=None, description="None until there is cost data")
    days_with_data: int
    days_in_month: int
    thresholds: list[ThresholdStatus]


class BudgetAlert(Model):
    """One crossing of one threshold in one month: alerted exactly once."""

    service_id: ServiceId
    month: str
    type: Literal["ACTUAL", "FORECASTED"]
    kind: Literal["PERCENTAGE", "ABSOLUTE"]
    threshold: float
    threshold_usd: float
    budget_usd: float
    month_to_date_usd: float
    forecast_usd: float | None
    crossed_at: datetime
    delivery: Literal["PENDING", "SENT"] = "PENDING"
