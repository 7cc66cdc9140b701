"""The hourly metrics pull: telemetry and billing for every service, folded into observations once.

``run(now: datetime, deadline_s: float, services: Iterable[str] | None = None, *, clock=time.monotonic)
-> PullReport``
``pull_billing(service: Service, now: datetime, obs=None) -> SourcePull`` (raises ConnectorError after
marking billing stale)

Per service (ids from ``ServiceRepository.iter_ids()``: a GSI Query, never a Scan):

1. Telemetry, from the ``telemetry`` watermark up to ``as_of`` = ``now`` floored to the hour (the last
   full hour). First pull: ``telemetry.synthetic.history_days`` back for the synthetic source, one day
   for real sources. Catch-up is capped: never more than ``MAX_CATCHUP`` (14 days) behind ``as_of``
   (older gaps stay gaps; CloudWatch keeps 5-minute data 63 days but a months-old backlog is not
   worth a pull). The window is fetched and folded one ``CHUNK`` (a day) at a time and the watermark
   moves after each chunk, so a run that stops half way resumes exactly there.
   ``ObservationRepository.fold`` is idempotent per (resource, metric, hour): a replayed hour changes
   nothing even if a run died between folding and moving the watermark.
2. Billing, daily: complete UTC days, each pulled once it has been over for ``BILLING_SETTLE`` (12 h,
   so Cost Explorer's estimate has mostly settled), from the ``billing`` watermark; first pull
   ``history_days`` (synthetic) or ``BILLING_FIRST_DAYS`` back. A day is folded once (later revisions
   of an already folded day are not applied).
3. Freshness: success → ``mark_success``; a ``ConnectorError`` → ``mark_stale`` with the error, the
   watermark stays, nothing earlier is touched and nothing is invented. Telemetry and billing fail
   independently; one service failing never stops the others. A service whose pull stopped on a
   dependency failure (DynamoDB or an AWS API unreachable, timing out or throttling: ``costopt.dependency``)
   is listed in ``dependency_failed`` and ``handle`` then fails the invocation (after the others ran),
   so the schedule's retry policy runs it again; the watermarks make the retry resume, not repeat.
4. ``verify_recent_changes(service, now)`` from ``costopt.jobs.verify`` when that module exists (the
   apply workstream's verification windows); a no-op otherwise.

Time budget: ``deadline_s`` seconds from the call (the handler passes the Lambda's remaining time
minus a safety margin). No service or chunk starts when less than ``MIN_STEP_S`` or the slowest step
so far is left; the report lists the services not reached, and the next hourly run resumes from the
watermarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from costopt import clock
from costopt.connectors.base import BILLING, TELEMETRY, billing_for, source_for
from costopt.dependency import dependency_failure
from costopt.domain.common import Model
from costopt.domain.service import Service
from costopt.errors import ConnectorError, DependencyUnavailable
from costopt.observability import logger

CHUNK = timedelta(days=1)
MAX_CATCHUP = timedelta(days=14)
REAL_FIRST_PULL = timedelta(days=1)
BILLING_FIRST_DAYS = 14
BILLING_SETTLE = timedelta(hours=12)
MIN_STEP_S = 2.0

Outcome = Literal["ok", "up_to_date", "stale", "partial", "not_reached", "failed"]


class SourcePull(Model):
    outcome: Outcome
    start: datetime | None = None
    end: datetime | None = None
    watermark: datetime | None = None
    points_folded: int = 0
    points_skipped: int = 0
    hours_folded: int = 0
    hours_skipped: int = 0
    error: str | None = None


class ServicePull(Model):
    service_id: str
    telemetry: SourcePull
    billing: SourcePull
    verify: str | None = Field(default=None, description="what the verification hook reported, if anything")


class PullReport(Model):
    as_of: datetime
    services: list[ServicePull] = Field(default_factory=list)
    not_reached: list[str] = Field(default_factory=list)
    dependency_failed: list[str] = Field(default_factory=list, description="services whose pull stopped because "
                                         "DynamoDB or an AWS API failed (handle then fails the run)")
    out_of_time: bool = False
    elapsed_s: float = 0.0

    @property
    def stale(self) -> list[str]:
        return [s.service_id for s in self.services if "stale" in (s.telemetry.outcome, s.billing.outcome)]


def floor_hour(t: datetime) -> datetime:
    t = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def floor_day(t: datetime) -> datetime:
    return floor_hour(t).replace(hour=0)


class _Budget:
    """Wall-clock budget: may another step of roughly the slowest size so far still start?"""

    def __init__(self, deadline_s: float, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + max(0.0, deadline_s)
        self.slowest = MIN_STEP_S

    def allows(self) -> bool:
        return self.deadline - self.clock() >= self.slowest

    def timed(self, began: float) -> None:
        self.slowest = max(self.slowest, self.clock() - began)

    def elapsed(self) -> float:
        return self.clock() - self.started


# --------------------------------------------------------------------------- windows


def telemetry_window(service: Service, watermark: datetime | None, as_of: datetime) -> tuple[datetime, datetime]:
    if watermark is None:
        if service.telemetry.source == "synthetic":
            start = floor_day(as_of) - timedelta(days=service.telemetry.synthetic.history_days)
        else:
            start = as_of - REAL_FIRST_PULL
    else:
        start = floor_hour(watermark)
    return max(start, as_of - MAX_CATCHUP), as_of


def billing_window(service: Service, watermark: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = floor_day(now - BILLING_SETTLE)
    if watermark is None:
        days = service.telemetry.synthetic.history_days if service.billing.source == "synthetic" else BILLING_FIRST_DAYS
        start = end - timedelta(days=max(1, days))
    else:
        start = floor_day(watermark)
    return start, end


# --------------------------------------------------------------------------- the job


def _repos() -> tuple[Any, Any]:
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository

    return ServiceRepository(), ObservationRepository()


def verify_recent_changes(service: Service, now: datetime) -> str | None:
    """The apply workstream's verification-window check (``costopt.jobs.verify``), a no-op until it exists."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("costopt.jobs.verify") is None:
        return None
    verify = importlib.import_module("costopt.jobs.verify")
    hook = getattr(verify, "verify_recent_changes", None)
    if hook is None:
        return None
    result = hook(service, now)
    if result is None:
        return None
    if isinstance(result, list | tuple):
        return f"{len(result)} change(s) checked"
    return str(result)


def run(now: datetime, deadline_s: float, services: Iterable[str] | None = None, *,
        clock: Callable[[], float] = time.monotonic) -> PullReport:
    """Pull every service (or the given ids) until done or out of time. See the module docstring."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    budget = _Budget(deadline_s, clock)
    service_repo, obs = _repos()
    report = PullReport(as_of=floor_hour(now))
    ids = iter(services) if services is not None else service_repo.iter_ids()
    for service_id in ids:
        if not budget.allows():
            report.out_of_time = True
            report.not_reached.append(service_id)
            continue
        began = budget.clock()
        service = service_repo.find(service_id)
        if service is None:
            continue
        try:
            report.services.append(pull_service(service, now, obs, budget))
        except Exception as exc:  # one service's bug or a DynamoDB outage never stops the others
            logger.exception("pull failed", extra={"service_id": service_id})
            failure = dependency_failure(exc)
            if failure is not None:
                report.dependency_failed.append(service_id)
            error = f"{failure.dependency} {failure.kind} (logged)" if failure else "internal error (logged)"
            failed = SourcePull(outcome="failed", error=error)
            report.services.append(ServicePull(service_id=service_id, telemetry=failed, billing=failed))
        budget.timed(began)
    if report.not_reached:
        logger.warning("pull stopped before the time budget ran out",
                       extra={"not_reached": len(report.not_reached)})
    report.elapsed_s = round(budget.elapsed(), 3)
    return report


def pull_service(service: Service, now: datetime, obs: Any, budget: _Budget) -> ServicePull:
    sid = service.service_id
    as_of = floor_hour(now)
    telemetry = _pull_telemetry(service, as_of, now, obs, budget)
    billing = _pull_billing(service, now, obs, budget)
    verify: str | None = None
    try:
        verify = verify_recent_changes(service, now)
    except Exception as exc:  # the hook must not break the pull
        logger.exception("verify_recent_changes failed", extra={"service_id": sid})
        verify = f"failed: {type(exc).__name__}"
    return ServicePull(service_id=sid, telemetry=telemetry, billing=billing, verify=verify)


def _pull_telemetry(service: Service, as_of: datetime, now: datetime, obs: Any, budget: _Budget) -> SourcePull:
    sid = service.service_id
    watermark = obs.get_watermark(sid, TELEMETRY)
    start, end = telemetry_window(service, watermark, as_of)
    out = SourcePull(outcome="up_to_date", start=start, end=end, watermark=watermark)
    if start >= end:
        obs.mark_success(sid, TELEMETRY, now)
        return out
    try:
        source = source_for(service)
        cursor = start
        while cursor < end:
            if cursor > start and not budget.allows():
                out.outcome = "partial"
                return out
            began = budget.clock()
            chunk_end = min(end, cursor + CHUNK)
            series = source.fetch(service, cursor, chunk_end)
            folded = obs.fold(sid, series, now)
            out.points_folded += folded.points_folded
            out.points_skipped += folded.points_skipped
            out.hours_folded += folded.hours_folded
            out.hours_skipped += folded.hours_skipped
            obs.set_watermark(sid, TELEMETRY, chunk_end)
            out.watermark = chunk_end
            cursor = chunk_end
            budget.timed(began)
    except ConnectorError as exc:
        logger.warning("telemetry source failed; data marked stale",
                       extra={"service_id": sid, "source": exc.source, "error": exc.detail})
        obs.mark_stale(sid, TELEMETRY, exc.detail, now)
        out.outcome, out.error = "stale", exc.detail
        return out
    obs.mark_success(sid, TELEMETRY, now)
    out.outcome = "ok"
    return out


def pull_billing(service: Service, now: datetime, obs: Any = None, budget: _Budget | None = None) -> SourcePull:
    """Pull the billing days due (see ``billing_window``) and fold them; idempotent.

    On a ConnectorError the service's billing data is marked stale (nothing is removed) and the
    error is raised again, so callers (recompute) can say why costs are old.
    """
    sid = service.service_id
    obs = obs or _repos()[1]
    watermark = obs.get_watermark(sid, BILLING)
    start, end = billing_window(service, watermark, now)
    out = SourcePull(outcome="up_to_date", start=start, end=end, watermark=watermark)
    if start >= end:
        return out
    if budget is not None and not budget.allows():
        out.outcome = "not_reached"
        return out
    try:
        series = billing_for(service).fetch_costs(service, start, end)
    except ConnectorError as exc:
        logger.warning("billing source failed; data marked stale",
                       extra={"service_id": sid, "source": exc.source, "error": exc.detail})
        obs.mark_stale(sid, BILLING, exc.detail, now)
        raise
    folded = obs.fold(sid, series, now)
    out.points_folded, out.points_skipped = folded.points_folded, folded.points_skipped
    out.hours_folded, out.hours_skipped = folded.hours_folded, folded.hours_skipped
    obs.set_watermark(sid, BILLING, end)
    obs.mark_success(sid, BILLING, now)
    out.outcome, out.watermark = "ok", end
    return out


def _pull_billing(service: Service, now: datetime, obs: Any, budget: _Budget) -> SourcePull:
    try:
        return pull_billing(service, now, obs, budget)
    except ConnectorError as exc:
        return SourcePull(outcome="stale", error=exc.detail)


# --------------------------------------------------------------------------- the scheduled entry point

SAFETY_MARGIN_S = 15.0  # left for the last fold to finish and the report to be logged


def handle(event: Any, remaining_ms: int) -> dict[str, Any]:
    """The pull_metrics function: pull up to the schedule's hour within the Lambda's remaining time."""
    from aws_lambda_powertools.metrics import MetricUnit

    from costopt.observability import metrics

    report = run(clock.event_time(event), remaining_ms / 1000.0 - SAFETY_MARGIN_S)
    metrics.add_metric(name="ServicesPulled", unit=MetricUnit.Count, value=len(report.services))
    metrics.add_metric(name="ServicesStale", unit=MetricUnit.Count, value=len(report.stale))
    metrics.add_metric(name="ServicesNotReached", unit=MetricUnit.Count, value=len(report.not_reached))
    logger.info("pull finished", extra={"services": len(report.services), "stale": report.stale,
                                        "not_reached": len(report.not_reached), "elapsed_s": report.elapsed_s,
                                        "dependency_failed": report.dependency_failed})
    if report.dependency_failed:  # a failed invocation: the schedule retries, the watermarks resume
        raise DependencyUnavailable(f"{len(report.dependency_failed)} service(s) not pulled: a dependency failed",
                                    extra={"services": report.dependency_failed})
    return report.model_dump(mode="json", exclude={"services"}) | {
        "services": len(report.services), "stale": report.stale}
