"""Budgets: load the service's bill and applied changes, evaluate thresholds, alert once per crossing.

``budget_report`` is read-only (the API); ``check_budget`` also records new crossings and
publishes them (the daily recompute), retrying any alert whose publish failed earlier.

``daily_costs``: the billed cost per UTC day (observations ``cost_usd`` of every resource and of
``_service``) with the hours of the day the bill covers (the hours every key billed that day has
folded: a daily figure covers 24, hourly figures one each). ``cost_steps``: every change that
completed (SUCCEEDED, not a dry run) in the loaded window, as the model's daily cost step: its
recommendation's ``(monthly_cost_proposed_usd - monthly_cost_current_usd) / 730 h x 24 h`` for an
APPLY, the reverse for a ROLLBACK / AUTO_ROLLBACK. The engine (``costopt.engine.budget``) decides
how they enter the forecast.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from costopt import clock, deps
from costopt.domain.budget import BudgetAlert, BudgetReport
from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.metrics import SERVICE_TOTAL
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from costopt.engine.budget import (
    DAY_HOURS,
    TRAILING_WEEKS,
    BilledDay,
    CostStep,
    alert_key,
    day_start,
    evaluate_budget,
    month_key,
)
from costopt.errors import NotFound
from costopt.observability import logger
from costopt.ports import Changes, Observations, Recommendations

FORECAST_HISTORY_DAYS = 7 * TRAILING_WEEKS
CHANGE_LEAD = timedelta(days=1)  # a change is created before it completes: look this much further back


def first_day(today: date) -> date:
    """The first day the forecast reads: 28 days back or the 1st of the month, whichever is earlier."""
    return min(today.replace(day=1), today - timedelta(days=FORECAST_HISTORY_DAYS))


def daily_costs(service: Service, today: date, repo: Observations | None = None) -> dict[date, BilledDay]:
    """The bill per UTC day from ``first_day(today)`` to ``today``: cost and hours covered."""
    store = repo or deps.observations()
    keys = [(r.resource_id, Metric.COST_USD) for r in service.resources] + [(SERVICE_TOTAL, Metric.COST_USD)]
    costs: dict[date, float] = {}
    hours: dict[date, float] = {}
    for days in store.day_summaries(service.service_id, keys, first_day(today), today).values():
        for d in days:
            costs[d.day] = costs.get(d.day, 0.0) + d.summary.sum
            covered = float(len(d.hours)) if d.hours else DAY_HOURS  # an item without its hours: a whole day
            hours[d.day] = min(hours.get(d.day, DAY_HOURS), covered)
    return {d: BilledDay(c, hours[d]) for d, c in costs.items()}


def cost_steps(service: Service, now: datetime, since: datetime, changes: Changes | None = None,
               recommendations: Recommendations | None = None) -> list[CostStep]:
    """The daily cost steps of the changes that completed in [since, now], oldest first."""
    change_repo = changes or deps.changes()
    rec_repo = recommendations or deps.recommendations()
    now, since = clock.as_utc(now), clock.as_utc(since)
    steps: list[CostStep] = []
    for change in change_repo.since(service.service_id, since - CHANGE_LEAD):
        if change.status != "SUCCEEDED" or change.dry_run or change.completed_at is None:
            continue
        done = clock.as_utc(change.completed_at)
        if not since <= done <= now:
            continue
        rec = rec_repo.find(service.service_id, change.recommendation_id)
        if rec is None:
            logger.warning("budget: a change's recommendation is gone; its cost step is left out",
                           extra={"service_id": service.service_id, "change_id": change.change_id})
            continue
        monthly = rec.monthly_cost_proposed_usd - rec.monthly_cost_current_usd
        sign = 1.0 if change.type == "APPLY" else -1.0
        steps.append(CostStep(
            effective_at=done, daily_delta_usd=sign * monthly / HOURS_PER_MONTH * DAY_HOURS,
            source=f"{change.type} {change.change_id} of {change.resource_id} "
                   f"(recommendation {change.recommendation_id})"))
    return sorted(steps, key=lambda s: s.effective_at)


def _evaluate(service: Service, now: datetime,
              raised: dict[str, datetime]) -> tuple[BudgetReport, list[BudgetAlert]]:
    assert service.budget is not None
    today = now.date()
    steps = cost_steps(service, now, day_start(first_day(today)))
    return evaluate_budget(service.service_id, service.budget, daily_costs(service, today), now, raised, steps)


def budget_report(service: Service, now: datetime | None = None) -> BudgetReport:
    if service.budget is None:
        raise NotFound(f"service {service.service_id!r} has no budget")
    now = clock.as_utc(now or clock.now())
    raised = deps.alerts().raised(service.service_id, month_key(now.date()))
    report, _ = _evaluate(service, now, raised)
    return report


def check_budget(service: Service, now: datetime | None = None) -> tuple[BudgetReport | None, int]:
    """Evaluate and alert; returns the report and how many alerts were published now."""
    from costopt.connectors.notify import publish_budget_alert

    if service.budget is None:
        return None, 0
    now = clock.as_utc(now or clock.now())
    alerts = deps.alerts()
    month = month_key(now.date())
    raised = alerts.raised(service.service_id, month)
    report, new = _evaluate(service, now, raised)
    for alert in new:
        notification = next(n for n in service.budget.notifications
                             if (n.type, n.kind, n.threshold) == (alert.type, alert.kind, alert.threshold))
        alerts.record(alert_key(month, notification), alert)
    published = 0
    for key, alert in alerts.pending(service.service_id, month):
        publish_budget_alert(alert)  # raises: the record stays PENDING and the next run retries
        alerts.mark_sent(service.service_id, key)
        published += 1
        logger.info("budget alert sent", extra={"service_id": service.service_id, "alert_key": key})
    return report, published
