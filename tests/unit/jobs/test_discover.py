"""Discovery on fakes (an in-memory inventory through ``deps.inventory`` and the services fake).

A dry run plans and writes nothing; a discover creates one service per group value with CloudWatch
telemetry and Cost Explorer billing by the tag; a second identical one writes nothing; a missed
resource is marked vanished and cleared when found again; a changed live config is taken and the
drift recorded; an account that fails changes nothing of its own; a hand-made service is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt import deps
from costopt.domain.discovery import DiscoverRequest
from costopt.domain.resources import LambdaFunction
from costopt.domain.service import Service, ServicePut
from costopt.errors import ConnectorError, Unprocessable
from costopt.jobs.discover import discover, sync_discovered
from costopt.jobs.pull_windows import backfilling, billing_window, telemetry_window
from tests.fakes import FakeObservations, FakeServices

NOW = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
A, B = "111111111111", "222222222222"
REGION = "us-east-1"


def fn(name: str, account: str, memory: int = 512, service: str | None = "Checkout") -> LambdaFunction:
    tags = {"costopt:service": service, "env": "prod"} if service else {"env": "prod"}
    return LambdaFunction(resource_id=name, function_name=name, account_id=account, region=REGION,
                          arn=f"arn:aws:lambda:{REGION}:{account}:function:{name}", tags=tags,
                          config={"memory_mb": memory})


class FakeInventory:
    def __init__(self) -> None:
        self.live: dict[tuple[str, str], list[Any]] = {}
        self.failing: set[str] = set()

    def find_resources(self, selector: Any, account_id: str, region: str) -> tuple[list[Any], list[str]]:
        if account_id in self.failing:
            raise ConnectorError("sts", f"cannot assume the member role in {account_id}: AccessDenied")
        return list(self.live.get((account_id, region), [])), []

    def member_accounts(self) -> list[str]:
        return [A, B]

    def home_account_id(self) -> str:
        return A


class CountingServices(FakeServices):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def put(self, service_id: str, spec: ServicePut, now: datetime | None = None) -> Any:
        self.writes += 1
        return super().put(service_id, spec, now)


@pytest.fixture
def world() -> Iterator[tuple[FakeInventory, CountingServices]]:
    inv, services = FakeInventory(), CountingServices()
    inv.live[(A, REGION)] = [fn("checkout-api", A), fn("untagged", A, service=None)]
    inv.live[(B, REGION)] = [fn("checkout-worker", B, memory=1024)]
    with deps.override(inventory=inv, services=services, observations=FakeObservations()):
        yield inv, services


def request(**kw: Any) -> DiscoverRequest:
    return DiscoverRequest.model_validate({"selector": {"type": "tag", "tag_key": "costopt:service"},
                                           "team": "payments", "lookback_days": 30, **kw})


def run(req: DiscoverRequest, at: datetime = NOW) -> Any:
    return discover(req, at, deadline_s=0)  # no time for a backfill: its progress is reported from watermarks


def test_dry_run_plans_and_writes_nothing(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    report = run(request(dry_run=True))
    assert report.dry_run and services.writes == 0 and services.items == {} and report.backfill == []
    [plan] = report.services
    assert (plan.service_id, plan.action, plan.group_value) == ("checkout", "create", "Checkout")
    assert sorted(plan.added) == ["checkout-api", "checkout-worker"]
    assert report.skipped == [f"arn:aws:lambda:{REGION}:{A}:function:untagged: no costopt:service tag"]
    assert [(o.account_id, o.status, o.resources) for o in report.accounts] == [(A, "ok", 2), (B, "ok", 1)]


def test_create_then_rediscover_writes_nothing(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    report = run(request())
    assert services.writes == 1 and [p.action for p in report.services] == ["create"]
    svc = services.get("checkout")
    assert svc.team == "payments" and svc.policy.lookback_days == 30 and svc.telemetry.source == "cloudwatch"
    assert svc.billing.source == "cost_explorer" and svc.billing.account_id is None  # two accounts
    assert svc.billing.cost_allocation_tag is not None
    assert (svc.billing.cost_allocation_tag.key, svc.billing.cost_allocation_tag.value) == (
        "costopt:service", "Checkout")
    assert svc.tags == {"costopt:service": "Checkout", "env": "prod"}
    assert svc.discovery is not None and svc.discovery.group_value == "Checkout"
    assert [b.service_id for b in report.backfill] == ["checkout"] and report.backfill[0].state == "in_progress"
    again = run(request(), NOW + timedelta(days=1))
    assert services.writes == 1 and services.get("checkout").version == 1
    assert [p.action for p in again.services] == ["unchanged"] and again.backfill == []


def test_one_account_sets_billing_account(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    run(request(accounts=[B]))
    assert services.get("checkout").billing.account_id == B


def test_vanished_marked_then_cleared(world: tuple[FakeInventory, CountingServices]) -> None:
    inv, services = world
    run(request())
    worker = inv.live.pop((B, REGION))
    later = NOW + timedelta(days=1)
    report = run(request(), later)
    [plan] = report.services
    assert plan.action == "update" and plan.vanished == ["checkout-worker"] and services.writes == 2
    gone = services.get("checkout").resource("checkout-worker")
    assert gone is not None and gone.vanished_at == later  # kept, marked
    run(request(), later + timedelta(days=1))
    assert services.writes == 2  # still missing: already marked, nothing written
    inv.live[(B, REGION)] = worker
    back = run(request(), later + timedelta(days=2))
    assert back.services[0].action == "update" and services.writes == 3
    found = services.get("checkout").resource("checkout-worker")
    assert found is not None and found.vanished_at is None


def test_drift_takes_the_live_config(world: tuple[FakeInventory, CountingServices]) -> None:
    inv, services = world
    run(request())
    inv.live[(A, REGION)] = [fn("checkout-api", A, memory=2048)]
    report = run(request(), NOW + timedelta(hours=1))
    [plan] = report.services
    assert plan.action == "update" and plan.added == [] and plan.vanished == []
    assert [(d.resource_id, d.recorded["memory_mb"], d.live["memory_mb"]) for d in plan.drift] == [
        ("checkout-api", 512, 2048)]
    svc = services.get("checkout")
    api = svc.resource("checkout-api")
    assert api is not None and api.config.model_dump()["memory_mb"] == 2048
    assert len(svc.drift) == 1 and svc.version == 2


def test_failed_account_changes_nothing_of_it(world: tuple[FakeInventory, CountingServices]) -> None:
    inv, services = world
    run(request())
    inv.failing.add(B)
    inv.live[(A, REGION)].append(fn("checkout-new", A))
    report = run(request(), NOW + timedelta(hours=1))
    failed = [o for o in report.accounts if o.status == "failed"]
    error = f"sts: cannot assume the member role in {B}: AccessDenied"
    assert [(o.account_id, o.error) for o in failed] == [(B, error)]
    [plan] = report.services
    assert plan.added == ["checkout-new"] and plan.vanished == []
    worker = services.get("checkout").resource("checkout-worker")
    assert worker is not None and worker.vanished_at is None


def test_hand_made_service_untouched(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    services.put("checkout", ServicePut.model_validate({
        "name": "Checkout", "team": "payments", "telemetry": {"source": "cloudwatch"},
        "billing": {"source": "cost_explorer"}}), NOW)
    report = run(request())
    assert report.services == [] and services.writes == 1 and services.get("checkout").resources == []
    assert "Checkout: service 'checkout' was registered by hand; discovery does not change it" in report.skipped


def test_sync_reruns_stored_origins(world: tuple[FakeInventory, CountingServices]) -> None:
    inv, services = world
    run(request())
    inv.live[(A, REGION)].append(fn("checkout-new", A))
    report = sync_discovered(NOW + timedelta(days=1), deadline_s=0)
    assert [(p.service_id, p.action, p.added) for p in report.services] == [("checkout", "update", ["checkout-new"])]
    assert sorted(o.account_id for o in report.accounts) == [A, B] and services.writes == 2


def test_first_pull_windows_are_the_lookback() -> None:
    as_of = datetime(2026, 11, 16, 5, tzinfo=UTC)
    svc = Service.model_validate({"service_id": "x-1", "version": 1, "created_at": as_of, "updated_at": as_of,
                                  "name": "x", "team": "t", "telemetry": {"source": "cloudwatch"},
                                  "billing": {"source": "cost_explorer"}})
    start, end = telemetry_window(svc, None, as_of)
    assert (start, end) == (datetime(2026, 11, 2, tzinfo=UTC), as_of)  # 14 days by default, from the day
    long = svc.model_copy(update={"policy": svc.policy.model_copy(update={"lookback_days": 93})})
    assert telemetry_window(long, None, as_of)[0] == datetime(2026, 8, 15, tzinfo=UTC)
    assert billing_window(long, None, as_of) == (datetime(2026, 8, 14, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC))
    # a first pull cut short (the service's watermark before its creation) resumes uncapped where it stopped
    stopped, resumed = datetime(2026, 9, 1, tzinfo=UTC), as_of + timedelta(days=2)
    assert backfilling(long, stopped) and not backfilling(long, as_of) and not backfilling(long, None)
    assert telemetry_window(long, stopped, resumed, backfilling=True)[0] == stopped
    assert telemetry_window(long, stopped, resumed)[0] == resumed - timedelta(days=14)
    # a later catch-up (beyond the first window) stays capped at 14 days
    later = as_of + timedelta(days=200)
    assert telemetry_window(long, later - timedelta(days=40), later)[0] == later - timedelta(days=14)


def test_a_race_rereads_and_retries_once(world: tuple[FakeInventory, CountingServices]) -> None:
    inv, services = world
    run(request())
    inv.live[(A, REGION)].append(fn("checkout-new", A))
    real_put = services.put
    raced = []

    def put(service_id: str, spec: ServicePut, now: datetime | None = None) -> Any:
        if not raced:  # someone else writes first: our version is stale
            raced.append(1)
            current = services.get(service_id)
            other = ServicePut.model_validate({**current.model_dump(
                exclude={"service_id", "version", "created_at", "updated_at"}), "version": current.version,
                "description": "edited meanwhile"})
            real_put(service_id, other, now)
        return real_put(service_id, spec, now)

    services.put = put  # type: ignore[method-assign]
    report = run(request(), NOW + timedelta(hours=1))
    svc = services.get("checkout")
    assert report.services[0].version == 3 == svc.version and svc.description == "edited meanwhile"
    assert svc.resource("checkout-new") is not None


def test_a_home_resource_registered_without_account_is_matched(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    run(request())
    current = services.get("checkout")
    home = [r.model_copy(update={"account_id": None, "region": None}) if r.account_id == A else r
            for r in current.resources]
    services.items["checkout"] = current.model_copy(update={"resources": home})
    report = run(request(), NOW + timedelta(hours=1))
    assert [p.action for p in report.services] == ["unchanged"]


def test_a_region_aws_does_not_have_is_refused_before_any_read(world: tuple[FakeInventory, CountingServices]) -> None:
    _, services = world
    with pytest.raises(Unprocessable) as refused:
        run(request(regions=[REGION, "aa-west-9"]))
    assert refused.value.errors == [{"loc": ["body", "regions"], "msg": "unknown region 'aa-west-9'"}]
    assert services.writes == 0
