"""Budget forecast and thresholds against vectors computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from costopt.domain.service import Budget, BudgetNotification
from costopt.engine.budget import alert_key, evaluate_budget, forecast_month

WEEKDAY_COST, WEEKEND_COST = 10.0, 4.0


def weekday_pattern(start: date, end: date) -> dict[date, float]:
    out, d = {}, start
    while d <= end:
        out[d] = WEEKEND_COST if d.weekday() >= 5 else WEEKDAY_COST
        d += timedelta(days=1)
    return out


def test_forecast_follows_the_weekday_pattern():
    # November 2026 starts on a Sunday; today is Sunday the 15th.
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 15))
    fc = forecast_month(costs, date(2026, 11, 15))
    # Nov 1-15: weekdays 2-6 and 9-13 (10 x $10) + weekend 1, 7, 8, 14, 15 (5 x $4)
    assert fc.month_to_date_usd == 120.0
    # Nov 16-30: weekdays 16-20, 23-27, 30 (11 x $10) + weekend 21, 22, 28, 29 (4 x $4) = 126
    assert fc.forecast_usd == 246.0
    assert fc.remaining_days == 15 and fc.days_with_data == 15
    # a flat trailing mean would say 120 + 15 * 232/28 = 244.29: the weekday pattern matters
    assert abs(fc.forecast_usd - (120 + 15 * 232 / 28)) > 1.5


def test_today_without_data_is_forecast_too():
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 14))  # nothing billed for the 15th yet
    fc = forecast_month(costs, date(2026, 11, 15))
    assert fc.month_to_date_usd == 116.0
    assert fc.forecast_usd == 116.0 + 4.0 + 126.0


def test_short_history_falls_back_to_the_overall_mean_for_missing_weekdays():
    costs = {date(2026, 11, 2): 10.0, date(2026, 11, 3): 20.0}  # a Monday and a Tuesday
    fc = forecast_month(costs, date(2026, 11, 4))  # Wednesday, no data today
    # Wed 4 .. Mon 30 = 27 days; Mondays (9, 16, 23, 30) use $10, Tuesdays (10, 17, 24) $20,
    # the other 20 days the overall mean $15
    assert fc.forecast_usd == 30.0 + 4 * 10 + 3 * 20 + 20 * 15


def test_no_data_is_a_status_not_an_error():
    budget = Budget(monthly_usd=100)
    report, alerts = evaluate_budget("svc-a", budget, {}, datetime(2026, 11, 15, 6, tzinfo=UTC))
    assert report.status == "no_data" and report.forecast_usd is None and report.month_to_date_usd == 0
    assert alerts == [] and not any(t.crossed for t in report.thresholds)


def test_thresholds_percentage_and_absolute_and_dedup():
    budget = Budget(monthly_usd=200, notifications=[
        BudgetNotification(type="ACTUAL", threshold=50),          # $100: MTD 120 crosses
        BudgetNotification(type="ACTUAL", threshold=100),         # $200: not yet
        BudgetNotification(type="FORECASTED", threshold=100),     # $200: forecast 246 crosses
        BudgetNotification(type="FORECASTED", threshold=240, kind="ABSOLUTE"),  # crosses
        BudgetNotification(type="FORECASTED", threshold=250, kind="ABSOLUTE"),  # does not
    ])
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 15))
    now = datetime(2026, 11, 15, 6, tzinfo=UTC)
    report, alerts = evaluate_budget("svc-a", budget, costs, now)
    assert [t.crossed for t in report.thresholds] == [True, False, True, True, False]
    assert [t.threshold_usd for t in report.thresholds] == [100.0, 200.0, 200.0, 240.0, 250.0]
    assert report.status == "at_risk" and report.month == "2026-11"
    assert [(a.type, a.threshold) for a in alerts] == [("ACTUAL", 50), ("FORECASTED", 100), ("FORECASTED", 240)]

    raised = {alert_key("2026-11", n): now for n, t in zip(budget.notifications, report.thresholds, strict=True)
              if t.crossed}
    again, new = evaluate_budget("svc-a", budget, costs, now + timedelta(hours=1), raised)
    assert new == [] and [t.crossed_at for t in again.thresholds if t.crossed] == [now, now, now]


def test_over_budget_status():
    budget = Budget(monthly_usd=100)
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 15))
    report, alerts = evaluate_budget("svc-a", budget, costs, datetime(2026, 11, 15, 6, tzinfo=UTC))
    assert report.status == "over_budget"
    assert {(a.type, a.threshold) for a in alerts} == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}
