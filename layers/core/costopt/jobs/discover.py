"""Discovery: find live resources by a selector, register them as services, keep those in sync.

``discover(request: DiscoverRequest, now: datetime, *, deadline_s: float = 20.0) -> DiscoverReport``
``sync_discovered(now: datetime, *, deadline_s: float = 600.0) -> DiscoverReport`` (the daily schedule: every
distinct origin stored on services re-run over the accounts/regions of its services' resources)

Each (account, region) is read in parallel through the ``Inventory`` port (``deps.inventory()``). A
resource's ``group_by`` tag value names its service (lower-cased, other characters replaced by '-');
one ``ServicePlan`` per value: ``create`` (telemetry cloudwatch, billing cost_explorer by the cost
allocation tag {group_by: value}, ``billing.account_id`` when every resource is in one account, the
request's team and lookback), ``update`` (resources added; a live config that differs is taken and
a ``ConfigDrift`` appended, at most ``MAX_DRIFT_RECORDS`` kept; a resource of the same origin in an
account+region read OK but not found gets ``vanished_at``, found again it is cleared) or ``unchanged``
(nothing written: a second identical discover writes nothing). Registered resources are matched by
(kind, account, region, identity), so their resource ids stay. An account that fails is reported in
``accounts`` and nothing of it is added or marked vanished. A service created by hand (no discovery
origin) is never changed: its group value is reported in ``skipped``. Writes carry the version read
(a 409 re-reads and retries once). ``dry_run``: the same report, nothing written, no backfill. After
the writes, each created or updated service's history is pulled within the time left
(``pull_now.pull_service_now``) and its progress reported in ``backfill``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from costopt import deps
from costopt.config import settings
from costopt.domain.discovery import (
    MAX_DRIFT_RECORDS,
    AccountOutcome,
    ConfigDrift,
    DiscoverReport,
    DiscoverRequest,
    DiscoveryOrigin,
    ServicePlan,
)
from costopt.domain.resources import Resource
from costopt.domain.service import Service, ServicePut
from costopt.errors import Conflict, ConnectorError, Unprocessable
from costopt.observability import logger
from costopt.ports import Inventory

IDENTITY = {"lambda_function": ("function_name",), "ecs_service": ("cluster", "service_name"),
            "ec2_instance": ("instance_id",), "ebs_volume": ("volume_id",), "dynamodb_table": ("table_name",),
            "generic": ("workload",)}
SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
PARALLEL = 8
BACKFILL_MARGIN_S = 3.0

Key = tuple[str, str, str, tuple[str, ...]]


def service_id_for(value: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", value.lower())


def _key(r: Resource, home: str, default_region: str) -> Key:
    ident = tuple(str(getattr(r, f)) for f in IDENTITY.get(str(r.kind), ()))
    return str(r.kind), r.account_id or home, r.region or default_region, ident


def _read(inv: Inventory, request: DiscoverRequest, accounts: list[str], regions: list[str],
          ) -> tuple[list[AccountOutcome], dict[tuple[str, str], list[Resource]], list[str]]:
    pairs = [(a, r) for a in accounts for r in regions]

    def one(pair: tuple[str, str]) -> tuple[AccountOutcome, list[Resource], list[str]]:
        account, region = pair
        try:
            found, skipped = inv.find_resources(request.selector, account, region)
        except ConnectorError as exc:
            logger.warning("discovery could not read an account", extra={"account": account, "region": region})
            return AccountOutcome(account_id=account, region=region, status="failed", error=exc.detail), [], []
        found = [r if r.account_id and r.region else r.model_copy(
            update={"account_id": r.account_id or account, "region": r.region or region}) for r in found]
        return AccountOutcome(account_id=account, region=region, status="ok", resources=len(found)), found, skipped

    with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL, len(pairs)))) as pool:
        results = list(pool.map(one, pairs))
    outcomes = [o for o, _, _ in results]
    found = {(o.account_id, o.region): f for o, f, _ in results if o.status == "ok"}
    skipped = [s for _, _, ss in results for s in ss]
    return outcomes, found, skipped


def _common_tags(resources: list[Resource]) -> dict[str, str]:
    if not resources:
        return {}
    common = dict(resources[0].tags)
    for r in resources[1:]:
        common = {k: v for k, v in common.items() if r.tags.get(k) == v}
    return common


def _new_service(sid: str, value: str, found: list[Resource], request: DiscoverRequest, now: datetime) -> ServicePut:
    accounts = {r.account_id for r in found}
    regions = sorted({r.region for r in found if r.region})
    billing: dict[str, Any] = {"source": "cost_explorer",
                               "cost_allocation_tag": {"key": request.group_by, "value": value}}
    if len(accounts) == 1 and None not in accounts:
        billing["account_id"] = next(iter(accounts))
    return ServicePut.model_validate({
        "name": value[:64] or sid, "team": request.team, "region": regions[0] if regions else settings.aws_region,
        "resources": [r.model_dump() for r in _unique_ids(found, set())],
        "telemetry": {"source": "cloudwatch"}, "billing": billing,
        "policy": {"lookback_days": request.lookback_days}, "tags": _common_tags(found),
        "discovery": DiscoveryOrigin(selector=request.selector, group_by=request.group_by, group_value=value,
                                     last_run_at=now).model_dump()})


def _unique_ids(resources: list[Resource], taken: set[str]) -> list[Resource]:
    out: list[Resource] = []
    for r in resources:
        rid, n = r.resource_id, 2
        while rid in taken:
            rid, n = f"{r.resource_id[:60]}-{n}", n + 1
        taken.add(rid)
        out.append(r if rid == r.resource_id else r.model_copy(update={"resource_id": rid}))
    return out


def _merge(current: Service, found: list[Resource], request: DiscoverRequest, read_ok: set[tuple[str, str]],
           home: str, now: datetime) -> tuple[list[Resource], list[str], list[str], list[ConfigDrift]]:
    """(the resources after this run, added ids, newly vanished ids, drift) of an existing discovered service."""
    same_origin = current.discovery is not None and (
        current.discovery.selector == request.selector and current.discovery.group_by == request.group_by)
    live = {_key(r, home, current.region): r for r in found}
    out: list[Resource] = []
    vanished: list[str] = []
    drift: list[ConfigDrift] = []
    for r in current.resources:
        key = _key(r, home, current.region)
        seen = live.pop(key, None)
        if seen is not None:
            kept = seen.model_copy(update={"resource_id": r.resource_id, "vanished_at": None,  # same place:
                                           "account_id": r.account_id, "region": r.region})  # kept as written
            old, new = r.config.model_dump(mode="json"), seen.config.model_dump(mode="json")
            if old != new:
                drift.append(ConfigDrift(resource_id=r.resource_id, at=now, recorded=old, live=new))
            out.append(kept)
        elif same_origin and r.vanished_at is None and (key[1], key[2]) in read_ok:
            vanished.append(r.resource_id)
            out.append(r.model_copy(update={"vanished_at": now}))
        else:
            out.append(r)
    added = _unique_ids(list(live.values()), {r.resource_id for r in out})
    return out + added, [r.resource_id for r in added], vanished, drift


def _plan_group(value: str, found: list[Resource], request: DiscoverRequest, read_ok: set[tuple[str, str]],
                home: str, now: datetime, current: Service | None) -> tuple[ServicePlan, ServicePut | None]:
    sid = service_id_for(value)
    if current is None:
        spec = _new_service(sid, value, found, request, now)
        return ServicePlan(service_id=sid, action="create", group_value=value,
                           resources=[r.model_dump(mode="json") for r in spec.resources],
                           added=[r.resource_id for r in spec.resources]), spec
    resources, added, vanished, drift = _merge(current, found, request, read_ok, home, now)
    before = [r.model_dump(mode="json") for r in current.resources]
    after = [r.model_dump(mode="json") for r in resources]
    plan = ServicePlan(service_id=sid, action="unchanged" if before == after else "update", group_value=value,
                       resources=after, added=added, vanished=vanished, drift=drift, version=current.version)
    if plan.action == "unchanged":
        return plan, None
    body = current.model_dump(exclude={"service_id", "version", "created_at", "updated_at"})
    origin = current.discovery.model_copy(update={"last_run_at": now}) if current.discovery else None
    body.update(resources=after, version=current.version, drift=[
        d.model_dump() for d in [*current.drift, *drift][-MAX_DRIFT_RECORDS:]],
        discovery=origin.model_dump() if origin else None)
    return plan, ServicePut.model_validate(body)


def _write(sid: str, build: Callable[[Service | None], tuple[ServicePlan, ServicePut | None]],
           current: Service | None, now: datetime) -> ServicePlan:
    repo = deps.services()
    plan, spec = build(current)
    if spec is None:
        return plan
    try:
        saved, _ = repo.put(sid, spec, now)
    except Conflict:  # a race: someone wrote in between; re-read and plan again, once
        current = repo.find(sid)
        if current is not None and current.discovery is None:
            raise
        plan, spec = build(current)
        if spec is None:
            return plan
        saved, _ = repo.put(sid, spec, now)
    return plan.model_copy(update={"version": saved.version})


def _targets(inv: Inventory, request: DiscoverRequest) -> tuple[list[str], list[str]]:
    regions = list(request.regions) if request.regions else [settings.aws_region]
    unknown = [r for r in regions if r not in deps.aws_regions()]
    if unknown:
        raise Unprocessable(f"not AWS regions: {', '.join(unknown)}",
                            errors=[{"loc": ["body", "regions"], "msg": f"unknown region {r!r}"} for r in unknown])
    accounts = list(request.accounts) if request.accounts else inv.member_accounts()
    return accounts, regions


def discover(request: DiscoverRequest, now: datetime, *, deadline_s: float = 20.0,
             registered: dict[str, Service] | None = None) -> DiscoverReport:
    """Find, plan, write (unless dry_run) and backfill. See the module docstring. ``registered``: every
    service, when the caller has just read them (the daily sync), so they are not read again."""
    started = time.monotonic()
    inv = deps.inventory()
    accounts, regions = _targets(inv, request)
    outcomes, found, skipped = _read(inv, request, accounts, regions)
    home = inv.home_account_id()
    groups: dict[str, list[Resource]] = {}
    for resources in found.values():
        for r in resources:
            value = r.tags.get(request.group_by)
            if value is None:
                skipped.append(f"{r.arn or r.resource_id}: no {request.group_by} tag")
            elif not SERVICE_ID.match(service_id_for(value)):
                skipped.append(f"{r.arn or r.resource_id}: {request.group_by}={value!r} makes no valid service id")
            else:
                groups.setdefault(value, []).append(r)
    repo = deps.services()
    if registered is None:
        registered = repo.find_many(list(repo.iter_ids()))
    existing = {sid: registered[sid] for sid in {service_id_for(v) for v in groups} if sid in registered}
    # the services of this origin none of whose resources were found: planned too (their resources vanish)
    for sid, service in registered.items():
        origin = service.discovery
        if (origin is not None and sid not in existing and origin.selector == request.selector
                and origin.group_by == request.group_by):
            existing[sid] = service
            groups.setdefault(origin.group_value, [])
    plans: list[ServicePlan] = []
    read_ok = set(found)
    for value in sorted(groups):
        sid = service_id_for(value)
        current = existing.get(sid)
        if current is not None and current.discovery is None:
            skipped.append(f"{value}: service {sid!r} was registered by hand; discovery does not change it")
            continue

        def build(cur: Service | None, value: str = value) -> tuple[ServicePlan, ServicePut | None]:
            return _plan_group(value, groups[value], request, read_ok, home, now, cur)

        plans.append(build(current)[0] if request.dry_run else _write(sid, build, current, now))
    report = DiscoverReport(dry_run=request.dry_run, at=now, services=plans, accounts=outcomes, skipped=skipped)
    if not request.dry_run:
        report.backfill = _backfill([p.service_id for p in plans if p.action != "unchanged"], now,
                                    deadline_s - (time.monotonic() - started))
    return report


def _backfill(service_ids: list[str], now: datetime, budget_s: float) -> list[Any]:
    from costopt.jobs.pull_now import pull_progress, pull_service_now

    out = []
    ends = time.monotonic() + budget_s
    for sid in service_ids:
        left = ends - time.monotonic() - BACKFILL_MARGIN_S
        out.append(pull_service_now(sid, now, left) if left > 1.0 else pull_progress(sid, now))
    return out


def sync_discovered(now: datetime, *, deadline_s: float = 600.0) -> DiscoverReport:
    """Re-run every distinct discovery origin stored on services, over the accounts/regions they live in
    (none recorded: ``member_accounts()``), and merge the reports."""
    started = time.monotonic()
    repo, inv = deps.services(), deps.inventory()
    origins: dict[str, list[Service]] = {}
    registered = repo.find_many(list(repo.iter_ids()))
    for service in registered.values():
        if service.discovery is not None:
            key = f"{service.discovery.group_by}|{service.discovery.selector.model_dump_json()}"
            origins.setdefault(key, []).append(service)
    merged = DiscoverReport(dry_run=False, at=now, services=[], accounts=[])
    home: str | None = None
    for services in origins.values():
        first = services[0]
        assert first.discovery is not None
        accounts = sorted({r.account_id for s in services for r in s.resources if r.account_id})
        if any(r.account_id is None for s in services for r in s.resources):
            home = home or inv.home_account_id()
            accounts = sorted({*accounts, home})
        regions = sorted({r.region or s.region for s in services for r in s.resources} or {first.region})
        request = DiscoverRequest.model_validate({
            "accounts": accounts or None, "regions": regions, "selector": first.discovery.selector.model_dump(),
            "group_by": first.discovery.group_by, "team": first.team,
            "lookback_days": first.policy.lookback_days})
        left = deadline_s - (time.monotonic() - started)
        try:
            report = discover(request, now, deadline_s=left, registered=registered)
        except Exception:  # one origin failing never stops the others
            logger.exception("discovery sync failed", extra={"service_id": first.service_id})
            merged.skipped.append(f"{first.discovery.group_by}: sync of {first.service_id}'s origin failed (logged)")
            continue
        merged.services += report.services
        merged.accounts += report.accounts
        merged.skipped += report.skipped
        merged.backfill += report.backfill
    return merged




# --------------------------------------------------------------------------- the scheduled entry point

SAFETY_MARGIN_S = 5.0  # the function has 28 s: discovery first, what is left backfills


def is_schedule(event: Any) -> bool:
    """The daily schedule's event (EventBridge Scheduler, ``detail.job`` = "discover"), not an API request."""
    if not isinstance(event, dict):
        return False
    detail = event.get("detail")
    return event.get("source") == "aws.scheduler" or (isinstance(detail, dict) and detail.get("job") == "discover")


def handle_schedule(event: Any, remaining_ms: int) -> dict[str, Any]:
    """The daily re-discovery within the Lambda's remaining time; a summary of the report."""
    from costopt import clock

    report = sync_discovered(clock.event_time(event), deadline_s=remaining_ms / 1000.0 - SAFETY_MARGIN_S)
    summary = {"services": {a: sum(p.action == a for p in report.services) for a in ("create", "update", "unchanged")},
               "accounts_failed": [o.model_dump(mode="json") for o in report.accounts if o.status == "failed"],
               "skipped": len(report.skipped)}
    logger.info("discovery sync finished", extra=summary)
    return summary


__all__ = ["discover", "handle_schedule", "is_schedule", "service_id_for", "sync_discovered"]
