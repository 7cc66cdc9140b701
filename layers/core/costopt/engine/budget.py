"""Budget evaluation and month-end forecast (pure).

Forecast = month-to-date + for every day of the month after the last billed one (billing lags: a day
not billed yet is estimated, and so is today when it has no cost yet), the trailing average cost of
that *weekday* (the same weekday over the last ``weeks`` weeks), falling back to the trailing average
of all days in that window when a weekday has no data. Days count in UTC. A day with a billed cost is
"complete" when it is before ``today``; today's partial cost counts in month-to-date but is not used to
predict other days.

A forecast exists as soon as there is any cost in the trailing window, so on the 1st of the month
(no billed day yet) it is the trailing estimate of the whole month: FORECASTED thresholds are evaluated
then too, and the status is ``at_risk`` or ``ok`` from it. ``no_data`` means no cost at all in the
month or the window. ACTUAL thresholds need billed cost this month.

Money: month-to-date, forecast and thresholds are published rounded to the cent
(``costopt.domain.money.round_usd``) and thresholds are compared on those published figures.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from costopt.domain.budget import BudgetAlert, BudgetReport, ThresholdStatus
from costopt.domain.money import round_usd
from costopt.domain.service import Budget, BudgetNotification


@dataclass(frozen=True)
class Forecast:
    month_to_date_usd: float
    forecast_usd: float | None
    days_with_data: int
    remaining_days: int
    daily_estimates: dict[date, float]


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def forecast_month(daily_costs: dict[date, float], today: date, weeks: int = 4) -> Forecast:
    """Month-to-date and forecast for the month containing ``today``."""
    first = today.replace(day=1)
    last = today.replace(day=days_in_month(today))
    in_month = {d: c for d, c in daily_costs.items() if first <= d <= min(today, last)}
    mtd = sum(in_month.values())

    window_start = today - timedelta(days=7 * weeks)
    history = {d: c for d, c in daily_costs.items() if window_start <= d < today}
    if not in_month and not history:
        return Forecast(0.0, None, 0, (last - today).days + 1, {})

    by_weekday: dict[int, list[float]] = {}
    for d, c in history.items():
        by_weekday.setdefault(d.weekday(), []).append(c)
    overall = sum(history.values()) / len(history) if history else (mtd / len(in_month))

    estimates: dict[date, float] = {}
    day = max(in_month) + timedelta(days=1) if in_month else first
    while day <= last:
        same = by_weekday.get(day.weekday())
        estimates[day] = sum(same) / len(same) if same else overall
        day += timedelta(days=1)
    return Forecast(mtd, mtd + sum(estimates.values()), len(in_month), len(estimates), estimates)


def threshold_usd(budget: Budget, notification: BudgetNotification) -> float:
    if notification.kind == "ABSOLUTE":
        return notification.threshold
    return budget.monthly_usd * notification.threshold / 100.0


def alert_key(month: str, notification: BudgetNotification) -> str:
    """Identity of one crossing: (month, type, kind, threshold) within a service."""
    return f"{month}#{notification.type}#{notification.kind}#{notification.threshold:g}"


def evaluate_budget(service_id: str, budget: Budget, daily_costs: dict[date, float], now: datetime,
                    raised: dict[str, datetime] | None = None) -> tuple[BudgetReport, list[BudgetAlert]]:
    """The month's report and the crossings that have not been alerted yet.

    ``raised`` maps alert_key -> crossed_at of alerts already recorded this month.
    """
    raised = raised or {}
    today = now.date()
    month = month_key(today)
    fc = forecast_month(daily_costs, today)
    budget_usd = round_usd(budget.monthly_usd)
    mtd = round_usd(fc.month_to_date_usd)
    forecast = None if fc.forecast_usd is None else round_usd(fc.forecast_usd)
    statuses: list[ThresholdStatus] = []
    new_alerts: list[BudgetAlert] = []
    for n in budget.notifications:
        limit = round_usd(threshold_usd(budget, n))
        if n.type == "ACTUAL":
            crossed = fc.days_with_data > 0 and mtd >= limit
        else:
            crossed = forecast is not None and forecast >= limit
        key = alert_key(month, n)
        crossed_at = raised.get(key)
        if crossed and crossed_at is None:
            crossed_at = now
            new_alerts.append(BudgetAlert(
                service_id=service_id, month=month, type=n.type, kind=n.kind, threshold=n.threshold,
                threshold_usd=limit, budget_usd=budget_usd, month_to_date_usd=mtd, forecast_usd=forecast,
                crossed_at=now,
            ))
        statuses.append(ThresholdStatus(type=n.type, threshold=n.threshold, kind=n.kind, threshold_usd=limit,
                                        crossed=crossed or key in raised, crossed_at=crossed_at))
    if forecast is None:
        status, detail = "no_data", "no billed cost this month or in the last 28 days; thresholds are evaluated " \
                                    "once data arrives"
    elif fc.days_with_data > 0 and mtd >= budget_usd:
        status, detail = "over_budget", None
    elif forecast >= budget_usd:
        status, detail = "at_risk", "the forecast exceeds the budget"
    else:
        status, detail = "ok", None
    if fc.days_with_data == 0 and forecast is not None:
        detail = ((detail + "; ") if detail else "") + ("no billed day this month yet: the forecast is the "
                                                        "trailing daily cost over the whole month")
    report = BudgetReport(
        service_id=service_id, month=month, status=status, detail=detail, budget_usd=budget_usd,
        month_to_date_usd=mtd, forecast_usd=forecast,
        days_with_data=fc.days_with_data, days_in_month=days_in_month(today), thresholds=statuses,
    )
    return report, new_alerts
