"""Budget forecast and thresholds against vectors computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from costopt.domain.service import Budget, BudgetNotification
from costopt.engine.budget import alert_key, days_in_month, evaluate_budget, forecast_month

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


def _month_days(year: int, month: int) -> list[datetime]:
    first = datetime(year, month, 1, 0, 30, tzinfo=UTC)
    return [first + timedelta(days=d, hours=h) for d in range(days_in_month(first.date())) for h in (0, 23)]


@pytest.mark.parametrize(("year", "month"), [(2026, 12), (2028, 2)])
def test_the_demo_over_budget_service_shows_it_on_every_day_of_the_month(year: int, month: int) -> None:
    """README: nightly-batch (~$145/month) costs more than its $100 budget. On every day (the 1st included, when no
    day of the month is billed yet) its FORECASTED 100% threshold is crossed and it is at risk or over."""
    from costopt.connectors.synthetic import generate_costs
    from costopt.domain.service import Service, SyntheticProfile
    from local import demo

    spec = demo.demo_spec("nightly-batch")
    for res in spec["resources"]:
        res.update({"ec2_instance": {"instance_id": "i-0123456789abcdef0"},
                    "ebs_volume": {"volume_id": "vol-0123456789abcdef0"}}.get(res["kind"], {}))
    days = _month_days(year, month)
    # synthetic cost is a pure function of (seed, resource, day): price every day once, then keep, for each
    # instant, the complete days a service seeded at that instant has (its history_days before creation)
    wide = Service.model_validate({**spec, "service_id": "nightly-batch", "version": 1, "created_at": days[-1],
                                   "updated_at": days[-1], "telemetry": {**spec["telemetry"], "synthetic": {
                                       **spec["telemetry"]["synthetic"], "history_days": 93}}})
    every_day: dict[date, float] = {}
    for series in generate_costs(wide, days[0] - timedelta(days=40), days[-1]):
        for p in series.points:
            every_day[p.t.date()] = every_day.get(p.t.date(), 0.0) + p.v
    history = SyntheticProfile.model_validate(spec["telemetry"]["synthetic"]).history_days  # what the demo has
    statuses = set()
    for now in days:
        origin = now.date() - timedelta(days=history)
        daily = {d: c for d, c in every_day.items() if origin <= d < now.date()}
        assert daily
        report, _ = evaluate_budget("nightly-batch", wide.budget, daily, now)
        forecasted = next(t for t in report.thresholds if t.type == "FORECASTED")
        assert forecasted.crossed and report.forecast_usd is not None and report.forecast_usd > 130, (now, report)
        assert report.status in ("at_risk", "over_budget"), (now, report)
        statuses.add(report.status)
    assert statuses == {"at_risk", "over_budget"}  # over once month-to-date passes $100, after mid-month
