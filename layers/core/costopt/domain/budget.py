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


class BudgetAdjustment(Model):
    """A change applied to the service that the forecast accounts for (a step in its daily cost)."""

    source: str = Field(description="The change behind the step: type, change id, resource, recommendation")
    effective_at: datetime = Field(description="When the change completed")
    daily_delta_usd: float = Field(description="The model's daily cost change: the recommendation's "
                                               "(proposed - current) / 730 h x 24 h, reversed for a rollback")
    basis: Literal["model", "bill"] = Field(
        description="model: the bill does not show the change yet, the trailing daily cost is restated at the "
                    "post-change level with daily_delta_usd; bill: 7 whole billed days after the change exist, "
                    "the trailing daily cost is taken from them alone")
    billed_days_after: int = Field(description="Whole billed days that began at or after the change")


class BudgetReport(Model):
    service_id: ServiceId
    month: str = Field(description="YYYY-MM")
    status: BudgetStatus = Field(description="over_budget / at_risk / ok; no_data when there is no billed cost "
                                             "this month and no forecast; never no_data with a forecast")
    detail: str | None = None
    budget_usd: float
    month_to_date_usd: float
    forecast_usd: float | None = Field(default=None, description="None until there is enough history "
                                                                 "(history_days_required whole billed days)")
    forecast_basis: Literal["trailing_weekday_mean", "insufficient_history"] = Field(
        default="insufficient_history",
        description="trailing_weekday_mean: billed cost + every unbilled hour of the month at the same-weekday "
                    "mean of the last 4 weeks; insufficient_history: no forecast yet")
    history_days: int = Field(default=0, description="Whole billed days in the last 28 days (before today)")
    history_days_required: int = Field(default=0, description="Whole billed days a forecast needs")
    billed_through: datetime | None = Field(
        default=None, description="Where the bill ends (the latest day's 00:00 UTC + the hours it covers); "
                                  "the forecast estimates every hour of the month the bill does not cover")
    adjustments: list[BudgetAdjustment] = Field(
        default_factory=list, description="Changes the forecast accounts for (completed in the trailing window)")
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
