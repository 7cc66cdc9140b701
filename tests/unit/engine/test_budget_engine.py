"""Budget forecast and thresholds against vectors computed by hand (the arithmetic is in the comments;
no expected figure is taken from the code's output).

Calendar facts used below: 2026-02-01 is a Sunday, 2028-02-01 a Tuesday (2028 is a leap year),
2026-04-01 a Wednesday, 2026-06-01 a Monday, 2026-08-01 a Saturday, 2026-11-01 a Sunday and
2026-12-01 a Tuesday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from costopt.domain.service import Budget, BudgetNotification
from costopt.engine.budget import (
    MIN_HISTORY_DAYS,
    BilledDay,
    CostStep,
    alert_key,
    days_in_month,
    evaluate_budget,
    forecast_month,
)
from tests.pin import MATRIX

WEEKDAY_COST, WEEKEND_COST = 10.0, 4.0


def at(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def weekday_pattern(start: date, end: date, weekday: float = WEEKDAY_COST,
                    weekend: float = WEEKEND_COST) -> dict[date, float | BilledDay]:
    return {d: weekend if d.weekday() >= 5 else weekday for d in days(start, end)}


def settled_history(now: datetime, n: int) -> dict[date, float | BilledDay]:
    """``n`` whole days of the weekday pattern ending with the last day billed at ``now`` (a day is
    billed 12 h after it ends)."""
    last = (now - timedelta(hours=12)).date() - timedelta(days=1)
    return weekday_pattern(last - timedelta(days=n - 1), last)


def forecasted(report):  # the FORECASTED thresholds' crossed flags
    return [t.crossed for t in report.thresholds if t.type == "FORECASTED"]


# --------------------------------------------------------------------------- weekday pattern


def test_forecast_follows_the_weekday_pattern():
    # Sunday 2026-11-15 13:00: billed through Saturday the 14th (28 whole days from 2026-10-18).
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 14))
    fc = forecast_month(costs, at(2026, 11, 15, 13))
    # Nov 1-14: weekdays 2-6 and 9-13 (10 x $10) + weekend 1, 7, 8, 14 (4 x $4) = 116
    assert fc.month_to_date_usd == 116.0 and fc.days_with_data == 14 and fc.history_days == 28
    # today (Sunday, nothing billed) $4 + Nov 16-30: weekdays 16-20, 23-27, 30 (11 x $10) + 21, 22, 28, 29 (4 x $4)
    # = 4 + 126 -> 116 + 130 = 246
    assert fc.forecast_usd == 246.0 and fc.remaining_days == 16


def test_a_strong_weekday_weekend_pattern_is_followed_not_averaged():
    # weekdays $30, weekends $2; Sunday 2026-11-15 13:00, billed 2026-10-18 .. 11-14 (28 days: 20 weekdays, 8
    # weekend days)
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 14), weekday=30.0, weekend=2.0)
    budget = Budget(monthly_usd=650)  # FORECASTED 100% = $650
    report, alerts = evaluate_budget("svc-a", budget, costs, at(2026, 11, 15, 13))
    # MTD: Nov 2-6, 9-13 (10 x $30 = 300) + Nov 1, 7, 8, 14 (4 x $2 = 8) = 308
    # estimate: today Sunday $2; Nov 16-30: 11 weekdays x $30 = 330 + 4 weekend days x $2 = 8 -> 340
    # forecast 308 + 340 = 648 < 650: not crossed
    assert report.month_to_date_usd == 308.0 and report.forecast_usd == 648.0
    assert forecasted(report) == [False] and report.status == "ok" and alerts == []
    # a flat trailing mean would be (20 x 30 + 8 x 2) / 28 = 616 / 28 = $22 a day:
    # 308 + 16 x 22 = 660 >= 650, a false alarm the weekday mean avoids


def test_short_windows_fall_back_to_the_overall_mean_for_a_missing_weekday():
    # 12 whole days billed, Thursday 2026-11-05 .. Monday 2026-11-16 but without Tuesday 11-10: today Tuesday
    # 2026-11-17 13:00. Costs: weekdays $10, weekends $4 -> 11 days: 7 weekdays + 4 weekend = 86 -> mean 86/11.
    costs = {d: c for d, c in weekday_pattern(date(2026, 11, 5), date(2026, 11, 16)).items() if d != date(2026, 11, 10)}
    fc = forecast_month(costs, at(2026, 11, 17, 13))
    assert fc.history_days == 11
    # no Tuesday in the window: an unbilled Tuesday is estimated at the overall mean 86/11, every other unbilled
    # day at its weekday's mean ($10 or $4). Unbilled: Nov 1 (Sun) $4, 2 (Mon) $10, 3 (Tue), 4 (Wed) $10,
    # 10 (Tue), 17 (Tue, today), 18-23 (Wed-Mon: 10 + 10 + 10 + 4 + 4 + 10 = 48), 24 (Tue), 25-30 (Wed-Mon: 48)
    # = 4 + 10 + 10 + 48 + 48 + 4 Tuesdays (3, 10, 17, 24) x 86/11
    mtd = 86.0
    assert fc.month_to_date_usd == mtd
    assert fc.forecast_usd == pytest.approx(mtd + 4 + 10 + 10 + 48 + 48 + 4 * 86 / 11)


# --------------------------------------------------------------------------- the 1st, history gate


def test_day_one_with_21_days_of_history_forecasts_and_evaluates_forecasted():
    # 2026-12-01 00:30: Nov 30 is billed at 12:00 today, so the bill is Nov 9 .. Nov 29 (21 whole days).
    now = at(2026, 12, 1, 0, 30)
    costs = settled_history(now, 21)
    assert min(costs) == date(2026, 11, 9) and max(costs) == date(2026, 11, 29)
    budget = Budget(monthly_usd=250, notifications=[BudgetNotification(type="ACTUAL", threshold=50),
                                                     BudgetNotification(type="FORECASTED", threshold=100)])
    report, alerts = evaluate_budget("svc-a", budget, costs, now)
    # December 2026 (starts Tuesday, 31 days = 4 weeks + Tue 29, Wed 30, Thu 31): 23 weekdays x $10 + 8 weekend
    # days x $4 = 230 + 32 = 262 >= 250
    assert report.forecast_usd == 262.0 and report.month_to_date_usd == 0.0 and report.days_with_data == 0
    assert report.status == "at_risk" and report.forecast_basis == "trailing_weekday_mean"
    assert report.history_days == 21 and report.history_days_required == MIN_HISTORY_DAYS
    assert [t.crossed for t in report.thresholds] == [False, True]
    assert [(a.type, a.threshold) for a in alerts] == [("FORECASTED", 100)]
    assert report.detail and "no billed day this month yet" in report.detail


@pytest.mark.parametrize("instant", MATRIX)
def test_a_forecast_at_every_pinned_instant_with_21_days_of_history(instant: str) -> None:
    from costopt.clock import parse_instant

    now = parse_instant(instant)
    report, _ = evaluate_budget("svc-a", Budget(monthly_usd=100), settled_history(now, 21), now)
    assert report.forecast_usd is not None and report.status in ("ok", "at_risk", "over_budget")
    assert report.forecast_usd >= report.month_to_date_usd
    last_billed = (now - timedelta(hours=12)).date() - timedelta(days=1)
    assert (report.month_to_date_usd > 0) == (last_billed.month == now.month)


def test_too_little_history_publishes_no_forecast_and_says_why():
    # Sunday 2026-11-15 06:00, billed Friday Nov 6 .. Saturday Nov 14 only: 9 whole days < 10
    costs = weekday_pattern(date(2026, 11, 6), date(2026, 11, 14))
    budget = Budget(monthly_usd=60, notifications=[BudgetNotification(type="ACTUAL", threshold=100),
                                                    BudgetNotification(type="FORECASTED", threshold=50)])
    report, alerts = evaluate_budget("svc-a", budget, costs, at(2026, 11, 15, 6))
    # MTD: Nov 6 $10 + 7, 8 (2 x $4) + 9-13 (5 x $10) + 14 $4 = 10 + 8 + 50 + 4 = 72 >= $60 (ACTUAL 100%)
    assert report.month_to_date_usd == 72.0 and report.forecast_usd is None
    assert report.forecast_basis == "insufficient_history" and report.history_days == 9
    assert [t.crossed for t in report.thresholds] == [True, False]  # FORECASTED 50% ($30) is not evaluated
    assert [(a.type, a.threshold) for a in alerts] == [("ACTUAL", 100)]
    assert report.status == "over_budget"
    assert report.detail and "9 whole billed day(s)" in report.detail and "needs 10" in report.detail
    # the same under a $100 budget: the status is from the month-to-date alone, never at_risk, never no_data
    report, _ = evaluate_budget("svc-a", Budget(monthly_usd=100), costs, at(2026, 11, 15, 6))
    assert report.status == "ok" and report.forecast_usd is None and report.detail


def test_ten_days_of_history_is_enough():
    # one more whole day (Thursday Nov 5, $10): 10 days. Weekday means: Thu (5, 12) $10, Fri (6, 13) $10,
    # Sat (7, 14) $4, Sun (8) $4, Mon (9), Tue (10), Wed (11) $10.
    costs = weekday_pattern(date(2026, 11, 5), date(2026, 11, 14))
    fc = forecast_month(costs, at(2026, 11, 15, 6))
    # MTD 72 + 10 = 82; unbilled: Nov 1 (Sun) $4 + Nov 2-4 (3 x $10) + today Sun $4 + Nov 16-30 $126
    # = 82 + 4 + 30 + 4 + 126 = 246 (the whole month of the pattern)
    assert fc.history_days == 10 and fc.month_to_date_usd == 82.0 and fc.forecast_usd == 246.0


def test_no_data_is_a_status_not_an_error():
    budget = Budget(monthly_usd=100)
    report, alerts = evaluate_budget("svc-a", budget, {}, at(2026, 11, 15, 6))
    assert report.status == "no_data" and report.forecast_usd is None and report.month_to_date_usd == 0
    assert alerts == [] and not any(t.crossed for t in report.thresholds)
    assert report.forecast_basis == "insufficient_history" and report.history_days == 0


# --------------------------------------------------------------------------- rest of today


def test_a_partial_bill_today_adds_the_estimate_of_the_hours_it_does_not_cover():
    # Wednesday 2026-11-18 10:00. Whole days billed 2026-10-21 .. 11-16 (27 days; Tuesday Nov 17 is not billed
    # yet); today's bill covers 00:00-08:00 (8 hours) at $0.40 an hour = $3.20.
    costs = weekday_pattern(date(2026, 10, 21), date(2026, 11, 16))
    costs[date(2026, 11, 18)] = BilledDay(3.20, hours=8)
    fc = forecast_month(costs, at(2026, 11, 18, 10))
    # MTD: Nov 1-16 = 11 weekdays (2-6, 9-13, 16) x $10 + 5 weekend days (1, 7, 8, 14, 15) x $4 = 130, + 3.20
    assert fc.month_to_date_usd == pytest.approx(133.20) and fc.history_days == 27
    # estimate: Nov 17 (Tue) whole $10; the 16 hours of today not billed: 16/24 x $10 = 6.6667;
    # Nov 19-30: 8 weekdays (19, 20, 23-27, 30) x $10 + 4 weekend days (21, 22, 28, 29) x $4 = 96
    # forecast = 133.20 + 10 + 6.6667 + 96 = 245.8667 -> published 245.87
    assert fc.forecast_usd == pytest.approx(133.20 + 10 + 16 / 24 * 10 + 96)
    assert fc.daily_estimates[date(2026, 11, 18)] == pytest.approx(16 / 24 * 10)
    report, _ = evaluate_budget("svc-a", Budget(monthly_usd=300), costs, at(2026, 11, 18, 10))
    assert report.forecast_usd == 245.87 and report.month_to_date_usd == 133.2
    assert report.billed_through == at(2026, 11, 18, 8)
    # today is never a whole day in the trailing means: with today's $3.20 as a whole Wednesday, the
    # Wednesday mean would be (3 x 10 + 3.20)/4 and the forecast lower


def test_a_daily_figure_for_today_covers_only_the_hours_elapsed():
    # as above, but today's $3.20 comes as a daily figure (no hours): at 10:00 it covers at most 00:00-10:00, so
    # 14/24 of today is estimated: 133.20 + 10 + 14/24 x 10 (5.8333) + 96 = 245.0333 -> 245.03
    costs = weekday_pattern(date(2026, 10, 21), date(2026, 11, 16))
    costs[date(2026, 11, 18)] = 3.20
    report, _ = evaluate_budget("svc-a", Budget(monthly_usd=300), costs, at(2026, 11, 18, 10))
    assert report.forecast_usd == 245.03 and report.billed_through == at(2026, 11, 18, 10)


def test_a_partial_past_day_is_not_a_whole_day_in_the_history():
    # the bill covers Tuesday Nov 17 for 12 hours only ($5): it counts in MTD with 12/24 x $10 estimated, and
    # is not one of the 28 history days (27 whole days)
    costs = weekday_pattern(date(2026, 10, 21), date(2026, 11, 16))
    costs[date(2026, 11, 17)] = BilledDay(5.0, hours=12)
    fc = forecast_month(costs, at(2026, 11, 18, 13))
    assert fc.history_days == 27 and fc.month_to_date_usd == 135.0  # 130 + 5
    # 135 + Nov 17: 12/24 x 10 = 5 + today (Wed) 10 + Nov 19-30 96 = 246
    assert fc.forecast_usd == pytest.approx(246.0)


# --------------------------------------------------------------------------- changes applied this month

# June 2026 (30 days, June 1 a Monday). A provisioned table billed $19.15 a day moves to on-demand on
# Wednesday June 10 at 12:00 UTC. Its recommendation: current $582.48 / month, proposed $34.98 / month
# (~$1.15 a day): step = (34.98 - 582.48) / 730 x 24 = -547.50 / 730 x 24 = -0.75 x 24 = -$18.00 a day.
# The bill after it: $1.35 a day (on-demand cost a bit more than the model said); June 10 is half and half:
# 19.15 / 2 + 1.35 / 2 = 9.575 + 0.675 = $10.25. Budget $300, FORECASTED 100%.
CHANGE_AT = at(2026, 6, 10, 12)
ON_DEMAND = CostStep(CHANGE_AT, (34.98 - 582.48) / 730 * 24, "APPLY c-1 of orders (recommendation r-1)")
TABLE_BUDGET = Budget(monthly_usd=300, notifications=[BudgetNotification(type="FORECASTED", threshold=100)])


def table_bill(through: date) -> dict[date, float | BilledDay]:
    out: dict[date, float | BilledDay] = {}
    for d in days(date(2026, 5, 1), through):
        out[d] = 19.15 if d < date(2026, 6, 10) else 10.25 if d == date(2026, 6, 10) else 1.35
    return out


def test_a_change_applied_mid_month_forecasts_the_post_change_cost():
    now = at(2026, 6, 12, 13)  # billed through Thursday June 11
    costs = table_bill(date(2026, 6, 11))
    # without the step (the issue): weekday means over May 15 .. June 11 (4 of each weekday):
    # Wed (May 20, 27, Jun 3, 10) = (3 x 19.15 + 10.25)/4 = 67.70/4 = 16.925; Thu (.., Jun 11) = (57.45 + 1.35)/4
    # = 14.70; others 19.15. MTD = 9 x 19.15 + 10.25 + 1.35 = 172.35 + 11.60 = 183.95; June 12-30 = 19 days with
    # Wed 17, 24 and Thu 18, 25: 2 x 16.925 + 2 x 14.70 + 15 x 19.15 = 33.85 + 29.40 + 287.25 = 350.50
    # -> 534.45 >= 300: the false FORECASTED alert
    before, alerts = evaluate_budget("svc-a", TABLE_BUDGET, costs, now)
    assert before.forecast_usd == 534.45 and forecasted(before) == [True] and len(alerts) == 1

    report, alerts = evaluate_budget("svc-a", TABLE_BUDGET, costs, now, steps=[ON_DEMAND])
    # with it (the bill shows 1 whole day after the change, June 11: the model's step): history restated at the
    # post-change level: days to June 9: 19.15 - 18 = 1.15; June 10: 10.25 - 18 x 12/24 = 1.25; June 11: 1.35.
    # Wed = (3 x 1.15 + 1.25)/4 = 4.70/4 = 1.175; Thu = (3 x 1.15 + 1.35)/4 = 4.80/4 = 1.20; others 1.15.
    # June 12-30: 2 x 1.175 + 2 x 1.20 + 15 x 1.15 = 2.35 + 2.40 + 17.25 = 22.00 -> 183.95 + 22.00 = 205.95
    assert report.month_to_date_usd == 183.95 and report.forecast_usd == 205.95
    assert forecasted(report) == [False] and alerts == [] and report.status == "ok"
    [adj] = report.adjustments
    assert (adj.basis, adj.daily_delta_usd, adj.billed_days_after, adj.effective_at) == ("model", -18.0, 1, CHANGE_AT)
    assert report.detail and "model's estimate" in report.detail


def test_the_bill_replaces_the_model_after_seven_whole_days():
    # Wednesday June 17 13:00: billed through June 16, whole days after the change: June 11-16 = 6 -> model.
    # Window May 20 .. June 16 restated: Wed (May 20, 27, Jun 3, 10) = (3 x 1.15 + 1.25)/4 = 1.175; every other
    # weekday has 3 days at 1.15 and one post-change day at 1.35: (3.45 + 1.35)/4 = 1.20.
    # MTD = 172.35 + 10.25 + 6 x 1.35 = 172.35 + 10.25 + 8.10 = 190.70; June 17-30 (14 days, Wed 17 and 24):
    # 2 x 1.175 + 12 x 1.20 = 2.35 + 14.40 = 16.75 -> 207.45
    report, _ = evaluate_budget("svc-a", TABLE_BUDGET, table_bill(date(2026, 6, 16)), at(2026, 6, 17, 13),
                                steps=[ON_DEMAND])
    assert report.forecast_usd == 207.45 and report.adjustments[0].basis == "model"
    # Thursday June 18 13:00: billed through June 17, June 11-17 = 7 whole days -> the bill: the trailing means use
    # June 11-17 only, $1.35 each weekday. MTD = 172.35 + 10.25 + 7 x 1.35 (9.45) = 192.05; June 18-30 = 13 x 1.35
    # = 17.55 -> 209.60
    report, _ = evaluate_budget("svc-a", TABLE_BUDGET, table_bill(date(2026, 6, 17)), at(2026, 6, 18, 13),
                                steps=[ON_DEMAND])
    assert report.forecast_usd == 209.6 and report.month_to_date_usd == 192.05
    assert (report.adjustments[0].basis, report.adjustments[0].billed_days_after) == ("bill", 7)
    assert forecasted(report) == [False]


def test_an_unbilled_hour_before_the_change_is_estimated_at_the_level_before_it():
    # June 10 20:00, the change at 12:00 today; billed through June 9 (19.15 every day from May 1).
    # Restated history: 19.15 - 18 = 1.15 every day. Today (not billed): 1.15 + 18 x 12/24 (the 12 hours before
    # the change at the old level) = 1.15 + 9 = 10.15 (= 19.15/2 + 1.15/2); June 11-30: 20 x 1.15 = 23.00.
    # MTD 9 x 19.15 = 172.35 -> 172.35 + 10.15 + 23.00 = 205.50
    costs = table_bill(date(2026, 6, 9))
    fc = forecast_month(costs, at(2026, 6, 10, 20), steps=[ON_DEMAND])
    assert fc.daily_estimates[date(2026, 6, 10)] == pytest.approx(10.15)
    assert fc.forecast_usd == pytest.approx(205.50)


def test_a_rollback_reverses_the_step():
    # applied June 10 12:00 (-18/day), rolled back June 11 00:00 (+18/day); billed through June 11 at
    # 19.15 except June 10 (10.25 as above: the bill did see half a day at on-demand cost).
    # Restated: days to June 9: 19.15 - 18 + 18 = 19.15; June 10: 10.25 - 18 x 12/24 + 18 x 24/24 = 10.25 - 9 + 18
    # = 19.25; June 11 (after both) 19.15. Wed (May 20, 27, Jun 3, 10) = (3 x 19.15 + 19.25)/4 = 76.70/4 = 19.175;
    # others 19.15. MTD = 9 x 19.15 + 10.25 + 19.15 = 172.35 + 29.40 = 201.75; June 12-30: 2 x 19.175 + 17 x 19.15
    # = 38.35 + 325.55 = 363.90 -> 565.65
    costs = table_bill(date(2026, 6, 11))
    costs[date(2026, 6, 11)] = 19.15
    rollback = CostStep(at(2026, 6, 11), -ON_DEMAND.daily_delta_usd, "ROLLBACK c-2 of orders (recommendation r-1)")
    report, _ = evaluate_budget("svc-a", TABLE_BUDGET, costs, at(2026, 6, 12, 13), steps=[rollback, ON_DEMAND])
    assert report.forecast_usd == 565.65 and forecasted(report) == [True]
    assert [a.daily_delta_usd for a in report.adjustments] == [-18.0, 18.0]  # oldest first


# --------------------------------------------------------------------------- month lengths

# The weekday pattern's month: weekdays x $10 + weekend days x $4.
MONTHS = [
    (2026, 2, 232.0),   # 28 days from Sunday: 4 weeks = 20 weekdays + 8 weekend days = 200 + 32
    (2028, 2, 242.0),   # 29 days from Tuesday: 4 weeks + Tue 29 = 21 + 8 -> 210 + 32
    (2026, 4, 252.0),   # 30 days from Wednesday: 4 weeks + Wed 29, Thu 30 = 22 + 8 -> 220 + 32
    (2026, 11, 246.0),  # 30 days from Sunday: 4 weeks + Sun 29, Mon 30 = 21 + 9 -> 210 + 36
    (2026, 8, 250.0),   # 31 days from Saturday: 4 weeks + Sat 29, Sun 30, Mon 31 = 21 + 10 -> 210 + 40
    (2026, 12, 262.0),  # 31 days from Tuesday: 4 weeks + Tue 29, Wed 30, Thu 31 = 23 + 8 -> 230 + 32
]


@pytest.mark.parametrize(("year", "month", "total"), MONTHS)
def test_the_first_and_the_last_day_of_every_month_length(year: int, month: int, total: float) -> None:
    n = days_in_month(date(year, month, 1))
    assert n == {2: 28 if year % 4 else 29, 4: 30, 11: 30, 8: 31, 12: 31}[month]
    pattern = weekday_pattern(date(year, month, 1) - timedelta(days=40), date(year, month, n))
    last_day = date(year, month, n)
    last_cost = WEEKEND_COST if last_day.weekday() >= 5 else WEEKDAY_COST
    cases = [
        (at(year, month, 1, 0, 30), 0.0),     # billed through the day before yesterday (last month)
        (at(year, month, 1, 20), 0.0),        # last month's last day billed at 12:00
        (at(year, month, 2, 11), 0.0),        # the 1st is billed at 12:00 on the 2nd: not yet
        (at(year, month, n, 23, 30), total - last_cost),  # billed through day n-1: the last day is estimated
    ]
    for now, mtd in cases:
        billed_up_to = (now - timedelta(hours=12)).date() - timedelta(days=1)
        costs = {d: c for d, c in pattern.items() if d <= billed_up_to}
        fc = forecast_month(costs, now)
        assert fc.month_to_date_usd == mtd, now
        assert fc.forecast_usd == pytest.approx(total), now  # every day of the month counted once, no more
        assert all(d.month == month for d in fc.daily_estimates), now
    # the last day at 23:30 with the bill covering 22 hours of it (hourly, $10 or $4 a day pro rata): the 2 hours
    # left are estimated, 2/24 of the day: total again
    now = at(year, month, n, 23, 30)
    costs = {d: c for d, c in pattern.items() if d < last_day}
    costs[last_day] = BilledDay(last_cost * 22 / 24, hours=22)
    fc = forecast_month(costs, now)
    assert fc.month_to_date_usd == pytest.approx(total - last_cost * 2 / 24)
    assert fc.forecast_usd == pytest.approx(total)


# --------------------------------------------------------------------------- thresholds


def test_thresholds_percentage_and_absolute_and_dedup():
    budget = Budget(monthly_usd=200, notifications=[
        BudgetNotification(type="ACTUAL", threshold=50),          # $100: MTD 116 crosses
        BudgetNotification(type="ACTUAL", threshold=100),         # $200: not yet
        BudgetNotification(type="FORECASTED", threshold=100),     # $200: forecast 246 crosses
        BudgetNotification(type="FORECASTED", threshold=240, kind="ABSOLUTE"),  # crosses
        BudgetNotification(type="FORECASTED", threshold=250, kind="ABSOLUTE"),  # does not
    ])
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 14))
    now = at(2026, 11, 15, 13)
    report, alerts = evaluate_budget("svc-a", budget, costs, now)
    assert [t.crossed for t in report.thresholds] == [True, False, True, True, False]
    assert [t.threshold_usd for t in report.thresholds] == [100.0, 200.0, 200.0, 240.0, 250.0]
    assert report.status == "at_risk" and report.month == "2026-11"
    assert [(a.type, a.threshold) for a in alerts] == [("ACTUAL", 50), ("FORECASTED", 100), ("FORECASTED", 240)]

    raised = {alert_key("2026-11", n): now for n, t in zip(budget.notifications, report.thresholds, strict=True)
              if t.crossed}
    again, new = evaluate_budget("svc-a", budget, costs, now + timedelta(hours=1), raised)
    assert new == [] and [t.crossed_at for t in again.thresholds if t.crossed] == [now, now, now]


def test_thresholds_compare_published_figures():
    # a forecast of 199.9998 publishes as $200.00 and crosses a $200 threshold: 10 whole days of $6.66666 from
    # 2026-11-05 .. 11-14, at 13:00 on Sunday the 15th: MTD Nov 5-14 = 10 x 6.66666 = 66.6666; the other 20 days of
    # November at the same mean: 20 x 6.66666 = 133.3332 -> 199.9998 -> $200.00
    costs: dict[date, float | BilledDay] = {d: 6.66666 for d in days(date(2026, 11, 5), date(2026, 11, 14))}
    budget = Budget(monthly_usd=200, notifications=[BudgetNotification(type="FORECASTED", threshold=100)])
    report, _ = evaluate_budget("svc-a", budget, costs, at(2026, 11, 15, 13))
    assert report.forecast_usd == 200.0 and forecasted(report) == [True]


def test_over_budget_status():
    budget = Budget(monthly_usd=100)
    costs = weekday_pattern(date(2026, 10, 18), date(2026, 11, 14))
    report, alerts = evaluate_budget("svc-a", budget, costs, at(2026, 11, 15, 13))
    assert report.status == "over_budget"  # MTD 116 >= 100
    assert {(a.type, a.threshold) for a in alerts} == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)}


def _month_days(year: int, month: int) -> list[datetime]:
    first = datetime(year, month, 1, 0, 30, tzinfo=UTC)
    return [first + timedelta(days=d, hours=h) for d in range(days_in_month(first.date())) for h in (0, 23)]


@pytest.mark.parametrize(("year", "month"), [(2026, 12), (2028, 2)])
def test_the_demo_over_budget_service_shows_it_on_every_day_of_the_month(year: int, month: int) -> None:
    """README: nightly-batch (~$145/month) costs more than its $100 budget. On every day (the 1st included, when no
    day of the month is billed yet) its FORECASTED 100% threshold is crossed and it is at risk or over."""
    from costopt.domain.service import Service, SyntheticProfile
    from local import demo
    from local.synthetic import generate_costs

    spec = demo.demo_spec("nightly-batch")
    for res in spec["resources"]:
        res.update({"ec2_instance": {"instance_id": "i-0123456789abcdef0"},
                    "ebs_volume": {"volume_id": "vol-0123456789abcdef0"}}.get(res["kind"], {}))
    month_days = _month_days(year, month)
    # synthetic cost is a pure function of (seed, resource, day): price every day once, then keep, for each
    # instant, the days billed by then (12 h after each ends) of a service seeded at that instant (its
    # history_days before creation)
    wide = Service.model_validate({**spec, "service_id": "nightly-batch", "version": 1,
                                   "created_at": month_days[-1], "updated_at": month_days[-1],
                                   "telemetry": {**spec["telemetry"], "synthetic": {
                                       **spec["telemetry"]["synthetic"], "history_days": 93}}})
    every_day: dict[date, float] = {}
    for series in generate_costs(wide, month_days[0] - timedelta(days=40), month_days[-1]):
        for p in series.points:
            every_day[p.t.date()] = every_day.get(p.t.date(), 0.0) + p.v
    history = SyntheticProfile.model_validate(spec["telemetry"]["synthetic"]).history_days  # what the demo has
    assert history >= MIN_HISTORY_DAYS
    statuses = set()
    for now in month_days:
        origin = now.date() - timedelta(days=history)
        billed_up_to = (now - timedelta(hours=12)).date() - timedelta(days=1)
        daily: dict[date, float | BilledDay] = {d: c for d, c in every_day.items() if origin <= d <= billed_up_to}
        assert daily
        report, _ = evaluate_budget("nightly-batch", wide.budget, daily, now)
        forecasted_100 = next(t for t in report.thresholds if t.type == "FORECASTED")
        assert forecasted_100.crossed and report.forecast_usd is not None and report.forecast_usd > 130, (now, report)
        assert report.status in ("at_risk", "over_budget"), (now, report)
        statuses.add(report.status)
    assert statuses == {"at_risk", "over_budget"}  # over once month-to-date passes $100, after mid-month
