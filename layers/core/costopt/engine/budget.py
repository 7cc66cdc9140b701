"""Budget evaluation and month-end forecast (pure), after AWS Budgets.

Forecast (UTC days, USD)::

    forecast = month-to-date billed cost
             + for every hour of the month the bill does not cover: the estimate of that hour

The estimate of a day is the trailing same-weekday mean: the mean *whole* billed day of that weekday
over the last ``TRAILING_WEEKS`` (4) weeks before today, or, for a weekday with no whole day in that
window, the mean of every whole day in it. A day the bill covers ``h`` hours of (the bill covers a
day from 00:00 UTC) is its billed cost plus ``(24 - h) / 24`` of its estimate; a day without a bill
is its whole estimate. So every day of the month is counted once: billed days as billed, days not
billed yet (billing lags: a day is billed 12 h after it ends, ``pull_metrics.BILLING_SETTLE``) and
the days still to come as estimated, and on the 1st the forecast is the estimate of the whole month.

Today. The bill can't cover more of today than has elapsed: a figure for today covers at most the
hours from 00:00 to ``now`` (a daily figure for a day that has not ended is a partial figure), and the
part of today it does not cover is estimated by the fraction of the day it leaves uncovered (by what
the bill covers, not by the hours elapsed: an elapsed hour not billed yet is estimated too). A partial
day (today or any day the bill covers less than 24 h of) is never counted as a whole day: it counts in
month-to-date with its uncovered part estimated, and never in the trailing means or the history.

History gate. AWS Budgets documents that it needs about five weeks of usage data before it forecasts
and that a FORECASTED alert isn't triggered until it has enough history ("AWS requires approximately
5 weeks of usage data to generate budget forecasts", Best practices for AWS Budgets, budget alerts:
https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-best-practices.html); that
minimum is for its machine-learning forecast. This forecast is a 4-week same-weekday mean, which
cannot use more than 28 days, and costopt registers services with 21 days of history; it uses the
minimum AWS Cost Management documents for a model of a service's daily spend: "10 days of historical
service usage data is needed before anomalies can be detected" (AWS Cost Anomaly Detection,
https://docs.aws.amazon.com/cost-management/latest/userguide/manage-ad.html). So a forecast needs
``MIN_HISTORY_DAYS`` (10) whole billed days in the trailing 28 days, whether or not this month has a
billed day yet (10 days also give every weekday a sample when they are consecutive); with fewer,
there is no forecast, FORECASTED thresholds are not crossed, the report says why, and the status
comes from the ACTUAL figures alone.

Changes (``CostStep``: from ``effective_at`` the service's daily cost changes by ``daily_delta_usd``,
the model's estimate of an applied change). Until the bill shows a step, the trailing means restate
every whole billed day in the window at the post-change level: a day (or the part of it) before the
step gets ``daily_delta_usd`` (times that part) added, so the forecast uses the post-change daily
cost from the change on. The bill shows a step once ``BILL_SHOWS_CHANGE_DAYS`` (7, as
``jobs.verify.REALISED_AFTER_DAYS`` measures realised savings: one of each weekday) whole billed days
begin at or after it; from then the trailing means use only the whole billed days after the latest
such step (the bill, not the model), restating them for the later steps still unshown. An estimated
hour before a step (a day not billed yet from before the change) is estimated at the level before
it (the post-change estimate minus the step). Restated days and estimates are never below $0.

Money: month-to-date, forecast and thresholds are published rounded to the cent
(``costopt.domain.money.round_usd``) and thresholds are compared on those published figures. A
crossing alerts once per (month, type, kind, threshold): ``raised`` keeps what was already alerted.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from costopt.clock import as_utc
from costopt.domain.budget import BudgetAdjustment, BudgetAlert, BudgetReport, BudgetStatus, ThresholdStatus
from costopt.domain.money import round_usd
from costopt.domain.service import Budget, BudgetNotification

MIN_HISTORY_DAYS = 10
TRAILING_WEEKS = 4
BILL_SHOWS_CHANGE_DAYS = 7
DAY_HOURS = 24.0


@dataclass(frozen=True)
class BilledDay:
    """One UTC day of the bill: its cost and how many hours of the day (from 00:00) it covers."""

    cost_usd: float
    hours: float = DAY_HOURS


@dataclass(frozen=True)
class CostStep:
    """From ``effective_at`` the service's daily cost changes by ``daily_delta_usd`` (the model's estimate)."""

    effective_at: datetime
    daily_delta_usd: float
    source: str


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class StepUse:
    step: CostStep
    basis: Literal["model", "bill"]
    billed_days_after: int


@dataclass(frozen=True)
class Forecast:
    month_to_date_usd: float
    forecast_usd: float | None
    days_with_data: int
    remaining_days: int
    daily_estimates: dict[date, float]
    history_days: int = 0
    billed_through: datetime | None = None
    steps: tuple[StepUse, ...] = ()


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _hours_before(at: datetime, day: date, start_h: float, end_h: float) -> float:
    """How many of the hours [start_h, end_h) of ``day`` are before ``at``."""
    cut = (at - day_start(day)).total_seconds() / 3600.0
    return max(0.0, min(end_h, cut) - start_h)


def _bills(daily_costs: Mapping[date, float | BilledDay], now: datetime) -> dict[date, BilledDay]:
    """The bill as given, today's coverage capped at the hours elapsed; days after today are ignored."""
    today = now.date()
    elapsed = (now - day_start(today)).total_seconds() / 3600.0
    out: dict[date, BilledDay] = {}
    for day, value in daily_costs.items():
        if day > today:
            continue
        bill = value if isinstance(value, BilledDay) else BilledDay(float(value))
        hours = min(max(bill.hours, 0.0), DAY_HOURS)
        if day == today:
            hours = min(hours, elapsed)
        out[day] = BilledDay(bill.cost_usd, hours)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def forecast_month(daily_costs: Mapping[date, float | BilledDay], now: datetime, steps: Iterable[CostStep] = (),
                   weeks: int = TRAILING_WEEKS, min_history_days: int = MIN_HISTORY_DAYS) -> Forecast:
    """Month-to-date and forecast for the month containing ``now`` (see the module docstring).

    ``daily_costs``: the bill per UTC day, a float being a whole day; ``steps``: the applied changes.
    """
    now = as_utc(now)
    today = now.date()
    first, last = today.replace(day=1), today.replace(day=days_in_month(today))
    bills = _bills(daily_costs, now)
    in_month = {d: b for d, b in bills.items() if d >= first}
    mtd = sum(b.cost_usd for b in in_month.values())
    covered = [day_start(d) + timedelta(hours=b.hours) for d, b in bills.items() if b.hours > 0]
    billed_through = max(covered) if covered else None

    whole = {d: b.cost_usd for d, b in bills.items() if d < today and b.hours >= DAY_HOURS}
    window_start = today - timedelta(days=7 * weeks)
    history = {d: c for d, c in whole.items() if d >= window_start}
    history_days = len(history)
    if history_days < min_history_days:
        return Forecast(mtd, None, len(in_month), 0, {}, history_days, billed_through)

    ordered = sorted((CostStep(as_utc(s.effective_at), s.daily_delta_usd, s.source) for s in steps),
                     key=lambda s: s.effective_at)
    uses: list[StepUse] = []
    shown_from: datetime | None = None  # the latest step the bill shows
    for step in ordered:
        after = sum(1 for d in whole if day_start(d) >= step.effective_at)
        shown = after >= BILL_SHOWS_CHANGE_DAYS
        if shown:
            shown_from = step.effective_at
        uses.append(StepUse(step, "bill" if shown else "model", after))
    modelled = [u.step for u in uses if u.basis == "model"]
    if shown_from is not None:
        history = {d: c for d, c in history.items() if day_start(d) >= shown_from} or history
    restated = {d: max(0.0, c + sum(s.daily_delta_usd * _hours_before(s.effective_at, d, 0.0, DAY_HOURS) / DAY_HOURS
                                    for s in modelled))
                for d, c in history.items()}

    by_weekday: dict[int, list[float]] = {}
    for d, c in restated.items():
        by_weekday.setdefault(d.weekday(), []).append(c)
    overall = _mean(list(restated.values()))

    estimates: dict[date, float] = {}
    day = first
    while day <= last:
        billed_h = in_month[day].hours if day in in_month else 0.0
        if billed_h < DAY_HOURS:
            same = by_weekday.get(day.weekday())
            level = _mean(same) if same else overall
            estimate = level * (DAY_HOURS - billed_h) / DAY_HOURS
            estimate -= sum(s.daily_delta_usd * _hours_before(s.effective_at, day, billed_h, DAY_HOURS) / DAY_HOURS
                            for s in ordered)
            estimates[day] = max(0.0, estimate)
        day += timedelta(days=1)
    return Forecast(mtd, mtd + sum(estimates.values()), len(in_month), len(estimates), estimates, history_days,
                    billed_through, tuple(uses))


def threshold_usd(budget: Budget, notification: BudgetNotification) -> float:
    if notification.kind == "ABSOLUTE":
        return notification.threshold
    return budget.monthly_usd * notification.threshold / 100.0


def alert_key(month: str, notification: BudgetNotification) -> str:
    """Identity of one crossing: (month, type, kind, threshold) within a service."""
    return f"{month}#{notification.type}#{notification.kind}#{notification.threshold:g}"


def _status(fc: Forecast, mtd: float, forecast: float | None, budget_usd: float,
            min_history_days: int) -> tuple[BudgetStatus, str | None]:
    weeks_days = 7 * TRAILING_WEEKS
    notes: list[str] = []
    if forecast is None:
        if fc.days_with_data == 0 and fc.history_days == 0:
            return "no_data", (f"no billed cost this month or in the last {weeks_days} days; thresholds are "
                               "evaluated once data arrives")
        notes.append(f"no forecast yet: {fc.history_days} whole billed day(s) in the last {weeks_days} days, a "
                     f"forecast needs {min_history_days}; FORECASTED thresholds are evaluated once there are")
        if fc.days_with_data == 0:
            return "no_data", "; ".join(["no billed cost this month yet", *notes])
        status: BudgetStatus = "over_budget" if mtd >= budget_usd else "ok"
        return status, "; ".join([*notes, "the status is from the month-to-date cost alone"])
    if fc.days_with_data > 0 and mtd >= budget_usd:
        status = "over_budget"
    elif forecast >= budget_usd:
        status = "at_risk"
        notes.append("the forecast exceeds the budget")
    else:
        status = "ok"
    if fc.days_with_data == 0:
        notes.append("no billed day this month yet: the forecast is the trailing daily cost over the whole month")
    modelled = sum(1 for u in fc.steps if u.basis == "model")
    if modelled:
        notes.append(f"{modelled} change(s) applied recently are forecast at the model's estimate until "
                     f"{BILL_SHOWS_CHANGE_DAYS} whole billed days after each show them (see adjustments)")
    return status, "; ".join(notes) or None


def evaluate_budget(service_id: str, budget: Budget, daily_costs: Mapping[date, float | BilledDay], now: datetime,
                    raised: dict[str, datetime] | None = None, steps: Iterable[CostStep] = (),
                    min_history_days: int = MIN_HISTORY_DAYS) -> tuple[BudgetReport, list[BudgetAlert]]:
    """The month's report and the crossings that have not been alerted yet.

    ``raised`` maps alert_key -> crossed_at of alerts already recorded this month.
    """
    raised = raised or {}
    now = as_utc(now)
    today = now.date()
    month = month_key(today)
    fc = forecast_month(daily_costs, now, steps, min_history_days=min_history_days)
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
    status, detail = _status(fc, mtd, forecast, budget_usd, min_history_days)
    adjustments = [BudgetAdjustment(source=u.step.source, effective_at=as_utc(u.step.effective_at),
                                    daily_delta_usd=round_usd(u.step.daily_delta_usd), basis=u.basis,
                                    billed_days_after=u.billed_days_after) for u in fc.steps]
    report = BudgetReport(
        service_id=service_id, month=month, status=status, detail=detail, budget_usd=budget_usd,
        month_to_date_usd=mtd, forecast_usd=forecast,
        forecast_basis="trailing_weekday_mean" if forecast is not None else "insufficient_history",
        history_days=fc.history_days, history_days_required=min_history_days, billed_through=fc.billed_through,
        adjustments=adjustments, days_with_data=fc.days_with_data, days_in_month=days_in_month(today),
        thresholds=statuses,
    )
    return report, new_alerts
