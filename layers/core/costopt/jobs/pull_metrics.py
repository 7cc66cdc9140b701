"""The hourly metrics pull: telemetry and billing for every service, folded into observations once.

``run(now: datetime, deadline_s: float, services: Iterable[str] | None = None, *, clock=time.monotonic,
history_only=False) -> PullReport`` (``history_only``: steps 1-3 only, for ``jobs.pull_now``)
``pull_billing(service: Service, now: datetime, obs=None) -> SourcePull`` (raises ConnectorError after
marking billing stale)

Per service (ids from ``ServiceRepository.iter_ids()``: a GSI Query, never a Scan):

1. Telemetry, per resource from its watermark up to ``as_of`` = ``now`` floored to the hour (the last
   full hour). First pull: ``policy.lookback_days`` back (at most 93) from ``as_of``'s day, for every source
   (each answers what it has); resumed uncapped if cut short. Later catch-up: at most ``MAX_CATCHUP`` (14 d).
   The window is fetched and folded one ``CHUNK`` (a day) at a time and the watermarks move after
   each chunk, so a run that stops half way resumes exactly there. ``ObservationRepository.fold`` is
   idempotent per (resource, metric, hour): a replayed hour changes nothing even if a run died between
   folding and moving the watermark.

   Watermarks are per resource (``Watermarks``: the service's ``at`` plus ``behind``, the resources
   that are earlier; a watermark item stored before this has no ``behind`` and so puts every resource
   at the service's watermark). A resource's watermark moves to the end of the last hour the source
   returned a point for it, never further: the hours after that (nothing came, e.g. the source is
   late, the resource is idle, or its name is wrong — GetMetricData and PromQL answer all three with
   an empty result) are fetched again on every pull, and folded when data arrives. Hours with nothing
   between hours with data are not retried (the source has delivered past them). Bounded: an hour
   older than ``MAX_CATCHUP`` (below every source's retention: CloudWatch 5-minute data 63 days,
   Prometheus' default 15 days) is given up; the pull reports it in ``gaps`` (and the log) and the
   watermark moves to the edge of the window. A resource whose kind the source does not serve
   (``TelemetrySource.serves``; refused at PUT, but a service stored before that may have one) is not
   asked for, and stays at its watermark the same way (``unserved``).

   Outcome: ``ok`` when every resource that was due returned data; ``partial`` when some did not (named
   in ``no_data``, with the time since which there is nothing) or the time budget ran out; ``stale``
   when none did (or the source failed), with the freshness marked stale; ``up_to_date`` when nothing
   was due.
2. Billing, daily: complete UTC days, each pulled once it has been over for ``BILLING_SETTLE`` (12 h,
   so Cost Explorer's estimate has mostly settled), from the ``billing`` watermark; first pull
   ``policy.lookback_days`` back, like telemetry. A day is folded once (later revisions
   of an already folded day are not applied).
3. Freshness: success (``ok``, ``partial``) → ``mark_success``; a ``ConnectorError``, or no data for
   any resource → ``mark_stale`` with the error, the watermark stays, nothing earlier is touched and
   nothing is invented. Telemetry and billing fail independently; one service failing never stops
   the others. A service whose pull stopped on a dependency failure (DynamoDB or an AWS API
   unreachable, timing out or throttling: ``costopt.dependency``) is listed in ``dependency_failed``
   and ``handle`` then fails the invocation (after the others ran), so the schedule's retry policy
   runs it again; the watermarks make the retry resume, not repeat.
4. The recovery sweep (``change_recovery.sweep_service``): a change interrupted half-way is settled
   from the live config before anything else looks at the service's changes.
5. ``verify_recent_changes(service, now)`` (``costopt.jobs.verify``): the verification windows of the
   service's recent changes (an SLA breach may roll a change back).

Time budget: ``deadline_s`` seconds from the call (the handler passes the Lambda's remaining time
minus a safety margin). No service or chunk starts when less than ``MIN_STEP_S`` or the slowest step
so far is left; the report lists the services not reached, and the next hourly run resumes from the
watermarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from costopt import clock, deps
from costopt.clock import floor_hour
from costopt.connectors.base import BILLING, TELEMETRY, billing_for, source_for
from costopt.dependency import dependency_failure
from costopt.domain.common import Model
from costopt.domain.service import Service
from costopt.errors import ConnectorError, DependencyUnavailable
from costopt.jobs.pull_windows import (
    BILLING_SETTLE,
    CHUNK,
    HOUR,
    MAX_CATCHUP,
    WatermarkState,
    backfilling,
    billing_window,
    fetch_groups,
    latest_points,
    telemetry_window,
)
from costopt.observability import logger

if TYPE_CHECKING:
    from costopt.ports import Observations

MIN_STEP_S = 2.0

Outcome = Literal["ok", "up_to_date", "stale", "partial", "not_reached", "failed"]


class NoData(Model):
    """A resource the pull got nothing for."""

    resource_id: str
    kind: str
    since: datetime | None = Field(default=None, description="Its watermark: nothing folded from here on")
    reason: Literal["empty", "unserved"] = Field(
        description="empty: the source returned no points; unserved: the source cannot serve this kind")


class DataGap(Model):
    """Hours given up for a resource: older than the backfill window (MAX_CATCHUP) and never delivered."""

    resource_id: str = Field(description="The resource whose hours were given up")
    start: datetime = Field(description="The first hour given up")
    end: datetime = Field(description="Where the hours given up end (exclusive)")


class SourcePull(Model):
    outcome: Outcome
    start: datetime | None = Field(default=None, description="Where this pull's window began")
    end: datetime | None = Field(default=None, description="Where it ended (exclusive)")
    watermark: datetime | None = Field(default=None, description="The source's watermark after the pull")
    points_folded: int = 0
    points_skipped: int = 0
    hours_folded: int = 0
    hours_skipped: int = 0
    error: str | None = None
    no_data: list[NoData] = Field(default_factory=list, description="Resources that got nothing this pull")
    behind: dict[str, datetime] = Field(default_factory=dict,
                                        description="Resources whose watermark is before the service's")
    gaps: list[DataGap] = Field(default_factory=list, description="Hours given up this pull")


class ServicePull(Model):
    service_id: str
    telemetry: SourcePull
    billing: SourcePull
    verify: str | None = Field(default=None, description="what the verification hook reported, if anything")
    change_lock_free: bool | None = Field(
        default=None, description="After the recovery sweep: no change of the service is in progress")


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

    @property
    def without_data(self) -> dict[str, list[str]]:
        """service_id -> the resources its telemetry pull got nothing for."""
        return {s.service_id: [n.resource_id for n in s.telemetry.no_data]
                for s in self.services if s.telemetry.no_data}


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


# --------------------------------------------------------------------------- the job


def verify_recent_changes(service: Service, now: datetime) -> str:
    """The verification windows of the service's recent changes (``costopt.jobs.verify``), summarized."""
    from costopt.jobs.verify import verify_recent_changes as verify

    return f"{len(verify(service, now))} change(s) checked"


def run(now: datetime, deadline_s: float, services: Iterable[str] | None = None, *,
        clock: Callable[[], float] = time.monotonic, history_only: bool = False) -> PullReport:
    """Pull every service (or the given ids) until done or out of time. See the module docstring."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    budget = _Budget(deadline_s, clock)
    service_repo, obs = deps.services(), deps.observations()
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
            report.services.append(pull_service(service, now, obs, budget, history_only=history_only))
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


def pull_service(service: Service, now: datetime, obs: Observations, budget: _Budget, *,
                 history_only: bool = False) -> ServicePull:
    sid = service.service_id
    as_of = floor_hour(now)
    telemetry = _pull_telemetry(service, as_of, now, obs, budget)
    billing = _pull_billing(service, now, obs, budget)
    if history_only:  # the pull-now of discovery: no change recovery or verification (the hourly pull does them)
        return ServicePull(service_id=sid, telemetry=telemetry, billing=billing)
    verify: str | None = None
    from costopt.jobs.change_recovery import sweep_service

    recovered = sweep_service(sid, now)  # the recovery sweep: an interrupted change settled first
    try:
        verify = verify_recent_changes(service, now)
    except Exception as exc:  # the hook must not break the pull
        logger.exception("verify_recent_changes failed", extra={"service_id": sid})
        verify = f"failed: {type(exc).__name__}"
    return ServicePull(service_id=sid, telemetry=telemetry, billing=billing, verify=verify,
                       change_lock_free=recovered)


def _pull_telemetry(service: Service, as_of: datetime, now: datetime, obs: Observations, budget: _Budget) -> SourcePull:
    sid = service.service_id
    marks = obs.get_watermarks(sid, TELEMETRY)
    # each resource's own start; an hour older than the backfill window is given up (recorded)
    own: dict[str, datetime] = {}
    gaps: list[DataGap] = []
    resuming = backfilling(service, marks.at)
    for resource in service.resources:
        rid = resource.resource_id
        watermark = marks.of(rid)
        own[rid], _ = telemetry_window(service, watermark, as_of, backfilling=resuming)
        if watermark is not None and floor_hour(watermark) < own[rid]:
            gaps.append(DataGap(resource_id=rid, start=floor_hour(watermark), end=own[rid]))
    out = SourcePull(outcome="up_to_date", start=min(own.values(), default=None), end=as_of,
                     watermark=marks.at, gaps=gaps)
    if gaps:
        logger.warning("telemetry hours older than the backfill window given up",
                       extra={"service_id": sid, "gaps": [g.model_dump(mode="json") for g in gaps]})
    try:
        source = source_for(service)
        declared = source.serves
        unserved = {r.resource_id for r in service.resources if declared is not None and not declared.get(r.kind)}
        served = [r for r in service.resources if r.resource_id not in unserved]
        start = min((own[r.resource_id] for r in served),
                    default=telemetry_window(service, marks.at, as_of)[0])
        end = as_of
        if not served:  # nothing to ask the source for
            start = end
        out.start = start
        due = {r.resource_id for r in served if own[r.resource_id] < end}
        got: set[str] = set()
        state = WatermarkState(obs, sid, marks, own)
        cursor = start
        while cursor < end:
            if cursor > start and not budget.allows():
                out.outcome = "partial"
                break
            began = budget.clock()
            chunk_end = min(end, cursor + CHUNK)
            for group_start, members in fetch_groups(served, own, cursor, chunk_end):
                subset = service if len(members) == len(service.resources) else \
                    service.model_copy(update={"resources": members})
                series = source.fetch(subset, group_start, chunk_end)
                folded = obs.fold(sid, series, now)
                out.points_folded += folded.points_folded
                out.points_skipped += folded.points_skipped
                out.hours_folded += folded.hours_folded
                out.hours_skipped += folded.hours_skipped
                for rid, latest in latest_points(series, members, group_start, chunk_end).items():
                    own[rid] = max(own[rid], floor_hour(latest) + HOUR)  # its hours up to the latest point
                    got.add(rid)
            state.save(chunk_end)
            cursor = chunk_end
            budget.timed(began)
        else:
            state.save(None if served else end)
        out.watermark, out.behind = state.at, dict(state.behind)
    except ConnectorError as exc:
        logger.warning("telemetry source failed; data marked stale",
                       extra={"service_id": sid, "source": exc.source, "error": exc.detail})
        obs.mark_stale(sid, TELEMETRY, exc.detail, now)
        out.outcome, out.error = "stale", exc.detail
        return out
    kinds = {r.resource_id: r.kind for r in service.resources}
    out.no_data = [NoData(resource_id=rid, kind=kinds[rid], since=own[rid],
                          reason="unserved" if rid in unserved else "empty")
                   for rid in kinds if rid in unserved or (rid in due and rid not in got)]
    if out.no_data:
        logger.warning("telemetry source returned no data for some resources",
                       extra={"service_id": sid, "source": service.telemetry.source,
                              "no_data": [n.model_dump(mode="json") for n in out.no_data]})
    if out.outcome == "partial":  # out of time: the next run resumes from the watermarks
        return out
    if out.no_data and len(out.no_data) == len(service.resources):
        out.outcome = "stale"
        out.error = _no_data_error(service.telemetry.source, out.no_data)
        obs.mark_stale(sid, TELEMETRY, out.error, now)
        return out
    obs.mark_success(sid, TELEMETRY, now)
    out.outcome = "partial" if out.no_data else ("ok" if due else "up_to_date")
    return out


def _no_data_error(source: str, no_data: list[NoData]) -> str:
    parts = [f"{n.resource_id} ({n.kind}{', not served' if n.reason == 'unserved' else ''})" for n in no_data]
    return f"{source}: no data for any resource: {', '.join(parts)}"


def pull_billing(service: Service, now: datetime, obs: Observations | None = None,
                 budget: _Budget | None = None) -> SourcePull:
    """Pull the billing days due (see ``billing_window``) and fold them; idempotent.

    On a ConnectorError the service's billing data is marked stale (nothing is removed) and the
    error is raised again, so callers (recompute) can say why costs are old.
    """
    sid = service.service_id
    obs = obs or deps.observations()
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


def _pull_billing(service: Service, now: datetime, obs: Observations, budget: _Budget) -> SourcePull:
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
    without = report.without_data
    metrics.add_metric(name="ResourcesWithoutData", unit=MetricUnit.Count,
                       value=sum(len(rids) for rids in without.values()))
    logger.info("pull finished", extra={"services": len(report.services), "stale": report.stale,
                                        "without_data": without, "not_reached": len(report.not_reached),
                                        "elapsed_s": report.elapsed_s, "dependency_failed": report.dependency_failed})
    if report.dependency_failed:  # a failed invocation: the schedule retries, the watermarks resume
        raise DependencyUnavailable(f"{len(report.dependency_failed)} service(s) not pulled: a dependency failed",
                                    extra={"services": report.dependency_failed})
    return report.model_dump(mode="json", exclude={"services"}) | {
        "services": len(report.services), "stale": report.stale, "without_data": without}


__all__ = ["BILLING_SETTLE", "MAX_CATCHUP", "DataGap", "NoData", "PullReport", "ServicePull", "SourcePull", "handle",
           "pull_billing", "pull_service", "run"]
