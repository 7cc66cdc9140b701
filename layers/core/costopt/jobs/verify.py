"""After a change: the verification window and the realised savings (DESIGN §4).

``verify_recent_changes(service, now) -> list[Verification]``
    For every SUCCEEDED apply still in its verification window (``policy.verify_hours`` after it
    completed, plus the hour that closes it, and never past the start of the next change of the
    same resource: a breach is blamed on the change whose window it falls in), check the SLA
    clauses on the complete hours observed since the change: latency p99 (``latency_ms``; Lambda
    ``duration_ms``), error rate (errors / requests), CPU and memory utilization against
    ``service.sla``. A clause counts as breached by the change when it fails after the change and
    was not already failing before it (the same number of hours before the change, at most 24, is
    the baseline; a pre-existing breach counts only if the change made it more than 10 % worse).
    A breach with ``policy.auto_rollback`` rolls the change back (AUTO_ROLLBACK change;
    recommendation ROLLED_BACK, its status_reason naming the breached clause) — never a change
    with a later one on top of it (rolling it back would undo that one too).

``open_verification(service, resource_id, now)``: the resource's applied change still in its
    window; apply refuses a second change of the resource meanwhile (409).

``record_realised_savings(service, now) -> list[RealisedSavings]``
    Seven days after an apply, the billed daily cost (observations ``cost_usd``) of the resource in
    the 7 days before the change day and the 7 days after it; stored with the projection on the
    recommendation (``Recommendation.realised``). Needs at least 3 billed days on each side.

Hourly statistics: latency = worst hourly mean of the per-period p99s; CPU = worst hourly mean;
memory = highest value seen (peak working set); error rate over the whole window.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from costopt import deps
from costopt.clock import ceil_hour, floor_hour
from costopt.domain.change import Change
from costopt.domain.common import HOURS_PER_MONTH, Model
from costopt.domain.money import round_usd
from costopt.domain.observation import HourlyAggregate, Metric
from costopt.domain.recommendation import RealisedSavings, Recommendation, SlaVerdict
from costopt.domain.resources import ResourceKind
from costopt.domain.service import Service
from costopt.engine.sla import Prediction, evaluate
from costopt.errors import CostoptError
from costopt.observability import logger
from costopt.ports import Observations, Recommendations

VERIFY_ACTOR = "costopt/verify"
BASELINE_MAX_HOURS = 24
WORSE_FACTOR = 1.10
REALISED_AFTER_DAYS = 7
REALISED_MIN_DAYS = 3


class Observed(Model):
    hours: int = Field(default=0, description="complete hours with any data in the window")
    latency_p99_ms: float | None = Field(default=None, description="worst hourly mean of the per-period p99s")
    error_rate_pct: float | None = Field(default=None, description="errors / requests over the whole window")
    cpu_utilization_pct: float | None = Field(default=None, description="worst hourly mean")
    memory_utilization_pct: float | None = Field(default=None, description="highest value seen (peak working set)")


class Verification(Model):
    change_id: str
    recommendation_id: str
    resource_id: str
    status: Literal["no_data", "ok", "breached", "rolled_back", "rollback_failed"]
    window_start: datetime
    window_end: datetime
    after: Observed
    baseline: Observed
    verdict: SlaVerdict | None = None
    breached: list[str] = Field(default_factory=list)
    rollback_change_id: str | None = None
    detail: str | None = None

    @property
    def rolled_back(self) -> bool:
        return self.status == "rolled_back"


def _latency_metric(kind: str) -> Metric:
    return Metric.DURATION_MS if kind == ResourceKind.LAMBDA_FUNCTION else Metric.LATENCY_MS


def observe(obs: Observations, service_id: str, resource_id: str, kind: str, start: datetime,
            end: datetime) -> Observed:
    """The SLA-relevant statistics of one resource over the complete hours in [start, end)."""
    def hourly(metric: Metric) -> list[HourlyAggregate]:
        return obs.hourly(service_id, resource_id, metric, start, end) if end > start else []

    latency, cpu, memory = hourly(_latency_metric(kind)), hourly(Metric.CPU_PCT), hourly(Metric.MEMORY_PCT)
    errors, requests = hourly(Metric.ERRORS), hourly(Metric.REQUESTS)
    total_requests = sum(a.sum for a in requests)
    hours = {a.hour for series in (latency, cpu, memory, errors, requests) for a in series}
    return Observed(
        hours=len(hours),
        latency_p99_ms=max((a.mean for a in latency if a.count), default=None),
        cpu_utilization_pct=max((a.mean for a in cpu if a.count), default=None),
        memory_utilization_pct=max((a.max for a in memory if a.count), default=None),
        error_rate_pct=(100.0 * sum(a.sum for a in errors) / total_requests) if total_requests > 0 else None,
    )


def _prediction(o: Observed) -> Prediction:
    return Prediction(latency_p99_ms=o.latency_p99_ms, cpu_utilization_pct=o.cpu_utilization_pct,
                      memory_utilization_pct=o.memory_utilization_pct, error_rate_pct=o.error_rate_pct,
                      reduces_capacity=False)  # observed, not predicted: an absent metric is not a failure


_CLAUSE_FIELD = {"latency_p99_ms": "latency_p99_ms", "max_error_rate_pct": "error_rate_pct",
                 "max_cpu_utilization_pct": "cpu_utilization_pct",
                 "max_memory_utilization_pct": "memory_utilization_pct"}


def breached_by_change(service: Service, after: Observed, baseline: Observed) -> tuple[SlaVerdict, list[str]]:
    verdict = evaluate(service.sla, _prediction(after), allow_spot=service.policy.allow_spot)
    before = evaluate(service.sla, _prediction(baseline), allow_spot=service.policy.allow_spot)
    failing_before = {c.clause for c in before.clauses if not c.ok}
    breached = []
    for clause in verdict.failing:
        name = _CLAUSE_FIELD.get(clause.clause)
        if name is None:
            continue
        if clause.clause in failing_before:
            was, now = getattr(baseline, name), getattr(after, name)
            if was is None or now is None or now <= was * WORSE_FACTOR:
                continue  # already breaching before the change, and not made materially worse by it
        breached.append(clause.clause)
    return verdict, breached


def _describe(verdict: SlaVerdict, breached: list[str]) -> str:
    parts = []
    for c in verdict.clauses:
        if c.clause in breached:
            parts.append(f"{c.clause} observed {c.predicted:g} > limit {c.limit:g}")
    return "; ".join(parts)


# changes on a resource that may have touched it: they end the verification window of the one before
TOUCHED = frozenset({"IN_PROGRESS", "SUCCEEDED", "NEEDS_ATTENTION"})
MAX_VERIFY_HOURS = 336  # Policy.verify_hours' upper bound


def _changes_since(service_id: str, horizon: datetime) -> list[Change]:
    return list(deps.changes().since(service_id, horizon))  # oldest first


def _window_cut(change: Change, later: list[Change]) -> datetime | None:
    """When the next change that touched the same resource began (it owns the hours after it)."""
    for other in later:
        if other.resource_id == change.resource_id and other.change_id > change.change_id \
                and other.status in TOUCHED:
            return other.created_at
    return None


def _current(rec_repo: Recommendations, change: Change) -> Recommendation | None:
    rec = rec_repo.find(change.service_id, change.recommendation_id)
    if rec is None or rec.status != "SUCCEEDED" or rec.applied_change_id != change.change_id:
        return None  # rolled back, superseded or replaced meanwhile: nothing left to verify
    return rec


def open_verification(service: Service, resource_id: str, now: datetime) -> Change | None:
    """The applied change of ``resource_id`` still in its verification window (and not rolled back), if any."""
    now = now.astimezone(UTC)
    recs = deps.recommendations()
    for change in reversed(_changes_since(service.service_id, now - timedelta(hours=MAX_VERIFY_HOURS + 2))):
        if change.resource_id != resource_id or change.type != "APPLY" or change.status != "SUCCEEDED":
            continue
        if change.verify_until is None or change.verify_until <= now:
            return None  # the newest applied change of the resource is settled
        return change if _current(recs, change) is not None else None
    return None


def verify_recent_changes(service: Service, now: datetime) -> list[Verification]:
    """Each change is judged on its own hours only: its window ends where the next change of the same
    resource began, so a breach after a later change is never blamed on (or rolled back from) an
    earlier, settled one."""
    now = now.astimezone(UTC)
    obs, recs = deps.observations(), deps.recommendations()
    results: list[Verification] = []
    recent = _changes_since(service.service_id, now - timedelta(hours=service.policy.verify_hours + 2))
    for change in recent:
        if change.type != "APPLY" or change.status != "SUCCEEDED" or change.completed_at is None:
            continue
        verify_until = change.verify_until or change.completed_at + timedelta(hours=service.policy.verify_hours)
        start = ceil_hour(change.completed_at)
        end = min(floor_hour(now), ceil_hour(verify_until))
        cut = _window_cut(change, recent)
        if cut is not None:
            end = min(end, floor_hour(cut))
        if now >= ceil_hour(verify_until) + timedelta(hours=1):
            continue  # the window closed (and its last hour was checked) earlier
        if _current(recs, change) is None:
            continue
        span = min(BASELINE_MAX_HOURS, max(1, int((end - start).total_seconds() // 3600)))
        base_end = floor_hour(change.created_at)
        after = observe(obs, service.service_id, change.resource_id, change.kind, start, end)
        baseline = observe(obs, service.service_id, change.resource_id, change.kind,
                           base_end - timedelta(hours=span), base_end)
        common = {"change_id": change.change_id, "recommendation_id": change.recommendation_id,
                  "resource_id": change.resource_id, "window_start": start, "window_end": max(start, end),
                  "after": after, "baseline": baseline}
        if after.hours == 0:
            detail = ("its window ended when a later change of the resource began" if cut is not None
                      else "no complete hour of data since the change")
            results.append(Verification(status="no_data", detail=detail, **common))
            continue
        verdict, breached = breached_by_change(service, after, baseline)
        if not breached:
            results.append(Verification(status="ok", verdict=verdict, **common))
            continue
        what = _describe(verdict, breached)
        if not service.policy.auto_rollback:
            logger.warning("SLA breached after a change; auto_rollback is off",
                           extra={"change_id": change.change_id, "breach": what})
            results.append(Verification(status="breached", verdict=verdict, breached=breached,
                                        detail=f"SLA breached after change {change.change_id}: {what} "
                                               "(policy.auto_rollback is off)", **common))
            continue
        if cut is not None:  # a later change sits on top: rolling this one back would undo that one too
            results.append(Verification(status="breached", verdict=verdict, breached=breached,
                                        detail=f"SLA breached after change {change.change_id}: {what}; not rolled "
                                               "back automatically because a later change of the resource "
                                               "followed it", **common))
            continue
        results.append(_auto_rollback(service, change, verdict, breached, what, now, common))
    return results


def _auto_rollback(service: Service, change: Change, verdict: SlaVerdict, breached: list[str], what: str,
                   now: datetime, common: dict[str, Any]) -> Verification:
    from costopt.jobs.apply import rollback_recommendation

    reason = f"SLA breached after change {change.change_id}: {what}"
    try:
        result = rollback_recommendation(service.service_id, change.recommendation_id, actor=VERIFY_ACTOR,
                                         reason=reason, change_type="AUTO_ROLLBACK", now=now)
    except CostoptError as exc:
        logger.error("auto-rollback failed", extra={"change_id": change.change_id, "error": exc.detail})
        return Verification(status="rollback_failed", verdict=verdict, breached=breached,
                            detail=f"{reason}; auto-rollback failed: {exc.detail}", **common)
    logger.warning("auto-rolled back a change after an SLA breach",
                   extra={"change_id": change.change_id, "rollback_change_id": result.change_id, "breach": what})
    return Verification(status="rolled_back", verdict=verdict, breached=breached,
                        rollback_change_id=result.change_id, detail=reason, **common)


# --------------------------------------------------------------------------- realised savings


def daily_costs(obs: Observations, service_id: str, resource_id: str, first: date, last: date) -> dict[date, float]:
    """Billed cost per UTC day (days with billing data only), inclusive range."""
    out: dict[date, float] = {}
    for day in obs.summaries(service_id, resource_id, Metric.COST_USD, first, last):
        hours = day.hourly_list()
        if hours:
            out[day.day] = sum(a.sum for a in hours)
    return out


def measure_realised(obs: Observations, rec: Recommendation, change: Change, now: datetime) -> RealisedSavings | None:
    assert change.completed_at is not None
    change_day = change.completed_at.astimezone(UTC).date()
    before = daily_costs(obs, rec.service_id, rec.resource_id, change_day - timedelta(days=REALISED_AFTER_DAYS),
                         change_day - timedelta(days=1))
    after = daily_costs(obs, rec.service_id, rec.resource_id, change_day + timedelta(days=1),
                        change_day + timedelta(days=REALISED_AFTER_DAYS))
    if len(before) < REALISED_MIN_DAYS or len(after) < REALISED_MIN_DAYS:
        return None
    daily_before = sum(before.values()) / len(before)
    daily_after = sum(after.values()) / len(after)
    days_per_month = HOURS_PER_MONTH / 24.0
    return RealisedSavings(
        measured_at=now, days_before=len(before), days_after=len(after),
        daily_cost_before_usd=round_usd(daily_before), daily_cost_after_usd=round_usd(daily_after),
        projected_monthly_savings_usd=rec.monthly_savings_usd,
        realised_monthly_savings_usd=round_usd((daily_before - daily_after) * days_per_month),
    )


def record_realised_savings(service: Service, now: datetime) -> list[RealisedSavings]:
    """Store the realised savings of every applied recommendation whose 7 days after have been billed."""
    now = now.astimezone(UTC)
    recs, obs, changes = deps.recommendations(), deps.observations(), deps.changes()
    out: list[RealisedSavings] = []
    for rec in recs.list_all(service.service_id, "SUCCEEDED"):  # by_status GSI, newest first
        if rec.realised is not None or not rec.applied_change_id:
            continue
        change = changes.find(service.service_id, rec.applied_change_id)
        if change is None or change.completed_at is None:
            continue
        ready = change.completed_at.astimezone(UTC).date() + timedelta(days=REALISED_AFTER_DAYS + 1)
        if now.date() < ready:
            continue  # the 7th day after the change is not billed yet
        realised = measure_realised(obs, rec, change, now)
        if realised is None:
            continue
        if recs.set_realised(rec, realised, now):  # False: moved on meanwhile, the next run decides again
            out.append(realised)
    return out

