"""The discover function through its real handler with HttpApi v2 events (moto DynamoDB, CloudWatch, Cost
Explorer), the inventory faked through ``deps.inventory`` (the end-to-end on moto's resources comes with the
inventory connector).

POST /v1/discover answers the report (a dry run writes nothing, a real one registers, a second one changes
nothing); POST /v1/services/{id}/pull answers 200 when the history is complete and 202 with the status's
Location when not; GET reads the status; an unknown service is 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from costopt import deps
from costopt.domain.service import ServicePut
from costopt.store.services import ServiceRepository
from local.events import http_event
from tests.unit.jobs.test_discover import NOW, FakeInventory, fn

A = "111111111111"
BODY = {"selector": {"type": "tag", "tag_key": "costopt:service"}, "team": "payments", "regions": ["us-east-1"],
        "accounts": [A]}


@pytest.fixture
def inventory(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeInventory]:
    # account A's member role, as member-role.yaml makes it: the pulls of A's resources assume it (and
    # local.moto_ext.sts, once another test has installed it, checks it as AWS does)
    from moto.iam.models import iam_backends

    from costopt import accounts
    from costopt.config import settings
    from tests.integration.aws.test_accounts_on_moto import EXTERNAL_ID, member_role

    if not any(r.name == "costopt-member" for r in iam_backends[A]["aws"].roles.values()):
        member_role(A)
    monkeypatch.setattr(settings, "member_external_id", EXTERNAL_ID)
    accounts.reset()
    inv = FakeInventory()
    inv.live[(A, "us-east-1")] = [fn("checkout-api", A), fn("checkout-worker", A, memory=1024)]
    with deps.override(inventory=inv):
        yield inv


@pytest.fixture
def call(tables: Any, lambda_context: Any, pin_clock: Callable[..., Any],
         inventory: FakeInventory) -> Callable[..., tuple[int, Any, dict[str, str]]]:
    from functions.discover.app import lambda_handler

    pin_clock(NOW)

    def _call(method: str, path: str, **kw: Any) -> tuple[int, Any, dict[str, str]]:
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        body = resp.get("body")
        return resp["statusCode"], (json.loads(body) if body else None), resp.get("headers") or {}

    return _call


def test_discover_dry_run_then_register_then_nothing_to_do(call: Callable[..., Any]) -> None:
    status, body, _ = call("POST", "/v1/discover", body={**BODY, "dry_run": True})
    assert status == 200 and body["dry_run"] is True
    assert [(p["service_id"], p["action"]) for p in body["services"]] == [("checkout", "create")]
    assert ServiceRepository().find("checkout") is None and body["backfill"] == []
    status, body, _ = call("POST", "/v1/discover", body=BODY)
    assert status == 200 and [p["version"] for p in body["services"]] == [1]
    stored = ServiceRepository().get("checkout")
    assert stored.billing.account_id == A and sorted(r.resource_id for r in stored.resources) == [
        "checkout-api", "checkout-worker"]
    assert [b["service_id"] for b in body["backfill"]] == ["checkout"]
    status, body, _ = call("POST", "/v1/discover", body=BODY)
    assert status == 200 and [p["action"] for p in body["services"]] == ["unchanged"]
    assert ServiceRepository().get("checkout").version == 1


def test_discover_refuses_a_bad_selector(call: Callable[..., Any]) -> None:
    status, _, _ = call("POST", "/v1/discover", body={"selector": {"type": "nope"}})
    assert status == 422


def test_pull_unknown_service_is_404(call: Callable[..., Any]) -> None:
    assert call("POST", "/v1/services/nobody/pull")[0] == 404
    assert call("GET", "/v1/services/nobody/pull")[0] == 404


def test_pull_of_an_empty_service_is_done(call: Callable[..., Any]) -> None:
    ServiceRepository().put("empty", ServicePut.model_validate({
        "name": "e", "team": "t", "telemetry": {"source": "cloudwatch"}, "billing": {"source": "cost_explorer"}}),
        now=NOW)
    status, body, headers = call("POST", "/v1/services/empty/pull")
    assert status == 200 and body["state"] == "done" and body["percent"] == 100 and "Location" not in headers


def test_pull_not_complete_answers_202_with_the_status(call: Callable[..., Any],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.api import discover as routes

    monkeypatch.setattr(routes, "_budget", lambda: 0.0)  # no time to pull: the history stays to do
    status, body, _ = call("POST", "/v1/discover", body=BODY)
    assert status == 200 and [(b["state"], b["percent"]) for b in body["backfill"]] == [("in_progress", 0)]
    status, body, headers = call("POST", "/v1/services/checkout/pull")
    assert status == 202 and body["state"] == "in_progress" and body["telemetry_reached"] is None
    assert headers["Location"] == "/v1/services/checkout/pull"
    status, again, _ = call("GET", "/v1/services/checkout/pull")
    assert status == 200 and again["window_start"] == "2026-11-02T00:00:00Z" and again["window_end"] == (
        "2026-11-16T05:00:00Z")
    monkeypatch.setattr(routes, "_budget", lambda: 20.0)
    status, done, headers = call("POST", "/v1/services/checkout/pull")  # the whole window asked for
    assert status == 200 and done["state"] == "done" and done["telemetry_reached"] == "2026-11-16T05:00:00Z"


def test_the_daily_schedule_resyncs_discovered_services(call: Callable[..., Any], lambda_context: Any,
                                                        inventory: FakeInventory) -> None:
    from functions.discover.app import lambda_handler

    call("POST", "/v1/discover", body=BODY)
    inventory.live[(A, "us-east-1")].pop()  # checkout-worker is gone
    event = json.loads((Path(__file__).parents[4] / "events" / "pull_metrics-schedule.json").read_text())
    event["detail"] = {"job": "discover"}
    summary = lambda_handler(event, lambda_context)
    assert summary["services"] == {"create": 0, "update": 1, "unchanged": 0} and summary["accounts_failed"] == []
    worker = ServiceRepository().get("checkout").resource("checkout-worker")
    assert worker is not None and worker.vanished_at is not None
