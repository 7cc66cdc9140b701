"""Budgets: load the service's billed daily cost, evaluate thresholds, alert once per crossing.

``budget_report`` is read-only (the API); ``check_budget`` also records new crossings and
publishes them (the daily recompute), retrying any alert whose publish failed earlier.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from costopt import clock
from costopt.domain.budget import BudgetReport
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from costopt.engine.budget import alert_key, evaluate_budget, month_key
from costopt.errors import NotFound
from costopt.observability import logger

FORECAST_HISTORY_DAYS = 28
SERVICE_TOTAL = "_service"  # billing sources without per-resource cost report the service total here


def daily_costs(service: Service, today: date, repo: object | None = None) -> dict[date, float]:
    """Billed cost per UTC day from the observations, from 28 days back or the 1st of the month."""
    from costopt.store.observations import ObservationRepository

    store = repo if isinstance(repo, ObservationRepository) else ObservationRepository()
    start = min(today.replace(day=1), today - timedelta(days=FORECAST_HISTORY_DAYS))
    keys = [(r.resource_id, Metric.COST_USD) for r in service.resources] + [(SERVICE_TOTAL, Metric.COST_USD)]
    costs: dict[date, float] = {}
    for days in store.day_summaries(service.service_id, keys, start, today).values():
        for d in days:
            costs[d.day] = costs.get(d.day, 0.0) + d.summary.sum
    return costs


def budget_report(service: Service, now: datetime | None = None) -> BudgetReport:
    from costopt.store.alerts import AlertRepository

    if service.budget is None:
        raise NotFound(f"service {service.service_id!r} has no budget")
    now = now or clock.now()
    raised = AlertRepository().raised(service.service_id, month_key(now.date()))
    report, _ = evaluate_budget(service.service_id, service.budget, daily_costs(service, now.date()), now, raised)
    return report


def check_budget(service: Service, now: datetime | None = None) -> tuple[BudgetReport | None, int]:
    """Evaluate and alert; returns the report and how many alerts were published now."""
    from costopt.connectors.notify import publish_budget_alert
    from costopt.store.alerts import AlertRepository

    if service.budget is None:
        return None, 0
    now = now or clock.now()
    alerts = AlertRepository()
    month = month_key(now.date())
    raised = alerts.raised(service.service_id, month)
    report, new = evaluate_budget(service.service_id, service.budget, daily_costs(service, now.date()), now, raised)
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
