"""End to end against the real DynamoDB Local and the moto-server AWS sandbox, through the real Lambda
handlers: HttpApi v2 events routed as template.yaml routes them, and the schedules' real events.

register a service whose Lambda lives in the sandbox (3008 MB, x86_64) -> pull_metrics (ScheduleV2)
-> POST /v1/recommend -> GET /v1/recommendations -> POST /v1/simulate -> POST /v1/config/apply
(dry run, then real, with an Idempotency-Key) -> the sandbox Lambda's memory changed -> history ->
a post-change SLA breach in the observations -> the hourly pull's verification rolls it back
(AUTO_ROLLBACK, ROLLED_BACK, memory restored); a manual rollback (200, then 409); the daily
recompute schedule regenerating recommendations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import demo, sandbox
from local.events import http_event
from local.functions import function_by_name
from local.routes import load_routes, select_route
from local.seed import scheduler_event
from local.template import ROOT

OPERATOR = "alice@example.com"
SERVICE_ID = "e2e-checkout"
FUNCTION_NAME = "e2e-checkout-handler"
LAMBDA_STEP_MB = 64


# --------------------------------------------------------------------------- calling the handlers


class Api:
    """Calls a route the way API Gateway would: template route selection, then the function's handler."""

    def __init__(self) -> None:
        self.routes = load_routes()

    def __call__(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                 query: dict[str, str] | None = None, sub: str = OPERATOR) -> tuple[int, Any, dict[str, str]]:
        found = select_route(self.routes, method, path)
        assert found is not None, f"no route for {method} {path} in template.yaml"
        route, params = found
        event = http_event(method, path, body=body, query=query, headers=headers, claims={"sub": sub},
                           route_key=route.route_key, path_parameters=params or None)
        resp = route.function.invoke(event)
        raw = resp.get("body")
        return int(resp["statusCode"]), (json.loads(raw) if raw else None), resp.get("headers") or {}


def run_schedule(function: str) -> dict[str, Any]:
    """The function's ScheduleV2 event (template Input / events/<function>-schedule.json), now."""
    event = scheduler_event(function)
    sample = json.loads((ROOT / "events" / f"{function}-schedule.json").read_text())
    assert set(event) == set(sample) and event["detail"] == sample["detail"]
    assert event["source"] == "aws.scheduler" and event["detail-type"] == "Scheduled Event"
    result: dict[str, Any] = function_by_name(function).invoke(event)
    return result


def lambda_config(endpoint: str, name: str = FUNCTION_NAME) -> dict[str, Any]:
    cfg: dict[str, Any] = sandbox.client("lambda", endpoint).get_function_configuration(FunctionName=name)
    return cfg


def service_spec(endpoint: str, service_id: str = SERVICE_ID, function_name: str = FUNCTION_NAME,
                 **policy: Any) -> dict[str, Any]:
    """The demo's over-provisioned checkout Lambda, under its own names, with its live Lambda in the sandbox."""
    spec = demo.demo_spec("checkout-api")
    spec["resources"][0]["function_name"] = function_name
    spec["resources"][0]["tags"] = {**demo.MANAGED_TAG, "costopt:service": service_id}
    spec["policy"] = {**spec.get("policy", {}), **policy}
    live = sandbox.create_service_resources(endpoint, service_id, spec)
    return demo.with_identities(spec, live)


@pytest.fixture
def api(aws: str, tables: Any) -> Api:
    return Api()


def register_and_pull(api: Api, aws: str, service_id: str = SERVICE_ID, function_name: str = FUNCTION_NAME,
                      **policy: Any) -> dict[str, Any]:
    status, body, _ = api("PUT", f"/v1/services/{service_id}", service_spec(aws, service_id, function_name,
                                                                            **policy))
    assert status == 201, body
    assert body["resources"][0]["config"]["memory_mb"] == 3008 and body["version"] == 1
    report = run_schedule("pull_metrics")
    return report


def recommend(api: Api, service_id: str = SERVICE_ID) -> dict[str, Any]:
    status, body, _ = api("POST", "/v1/recommend", {"service_id": service_id})
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def top_memory_recommendation(recs: list[dict[str, Any]]) -> dict[str, Any]:
    memory = [r for r in recs if r["action"] == "lambda_memory" and r["status"] == "ACTIVE"]
    assert memory, [(r["action"], r["status"]) for r in recs]
    return min(memory, key=lambda r: r["rank"])


def apply(api: Api, rec: dict[str, Any], key: str, *, dry_run: bool = False) -> tuple[int, Any]:
    status, body, _ = api("POST", "/v1/config/apply",
                          {"service_id": rec["service_id"], "recommendation_id": rec["recommendation_id"],
                           "etag": rec["etag"], "dry_run": dry_run, "reason": "e2e: rightsize the checkout Lambda"},
                          headers={"Idempotency-Key": key})
    return status, body


# --------------------------------------------------------------------------- a post-change SLA breach


def fold_breach(service_id: str, resource_id: str, start: datetime, hours: int, *, p99_ms: float,
                rps: float) -> None:
    """Hand-made 5-minute series for ``hours`` hours from ``start``: Lambda p99 duration ``p99_ms``, ``rps``
    requests per second, no errors. Folded before any pull reaches those hours, so they are what the
    verification sees (a fold never counts an hour twice: the pull's synthetic hours are skipped)."""
    from costopt.domain.observation import Datapoint, Metric, Series
    from costopt.store.observations import ObservationRepository

    times = [start + timedelta(minutes=5 * i) for i in range(12 * hours)]
    series = [
        Series(resource_id=resource_id, metric=Metric.DURATION_MS, stat="p99", period_s=300,
               points=[Datapoint(t=t, v=p99_ms) for t in times]),
        Series(resource_id=resource_id, metric=Metric.REQUESTS, stat="sum", period_s=300,
               points=[Datapoint(t=t, v=rps * 300) for t in times]),
        Series(resource_id=resource_id, metric=Metric.ERRORS, stat="sum", period_s=300,
               points=[Datapoint(t=t, v=0.0) for t in times]),
    ]
    result = ObservationRepository().fold(service_id, series)
    assert result.hours_folded == 3 * hours and result.hours_skipped == 0, result


def ceil_hour(t: datetime) -> datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(hours=1)


# --------------------------------------------------------------------------- the flow

OTHER_ID = "e2e-search"
OTHER_FUNCTION = "e2e-search-handler"
BREACH_HOURS = 3
BREACH_P99_MS = 4500.0  # five times the 900 ms p99 SLA; the 3008 MB baseline is ~430 ms


def test_register_pull_recommend_simulate_apply_verify_and_roll_back(api: Api, aws: str) -> None:
    for sid, fn in ((SERVICE_ID, FUNCTION_NAME), (OTHER_ID, OTHER_FUNCTION)):
        status, body, _ = api("PUT", f"/v1/services/{sid}", service_spec(aws, sid, fn, verify_hours=6,
                                                                         auto_rollback=True))
        assert status == 201, body
        assert body["resources"][0]["config"]["memory_mb"] == 3008 and body["version"] == 1
        assert body["policy"]["verify_hours"] == 6
    assert lambda_config(aws)["MemorySize"] == 3008 and lambda_config(aws, OTHER_FUNCTION)["MemorySize"] == 3008

    report = run_schedule("pull_metrics")
    assert report["services"] == 2 and report["stale"] == [] and report["not_reached"] == [], report

    # the pull folded the synthetic history: enough for the 14-day lookback
    rec_body = recommend(api)
    assert rec_body["insufficient_data"] == [], rec_body["insufficient_data"]
    assert rec_body["lookback_days"] == 14 and rec_body["data_coverage_pct"] > 90
    top = top_memory_recommendation(rec_body["recommendations"])
    proposed_mb = top["proposed"]["memory_mb"]
    assert top["current"]["memory_mb"] == 3008
    assert 128 <= proposed_mb < 3008 and proposed_mb % LAMBDA_STEP_MB == 0
    assert top["sla"]["compliant"] is True and top["monthly_savings_usd"] > 0
    from costopt.domain.money import round_usd

    for rec in [*rec_body["recommendations"], *rec_body["rejected"]]:  # money adds up to the cent as shown
        assert round_usd(rec["monthly_cost_current_usd"] - rec["monthly_savings_usd"]) == \
            rec["monthly_cost_proposed_usd"], rec

    status, listed, _ = api("GET", f"/v1/recommendations/{SERVICE_ID}", query={"status": "ACTIVE"})
    assert status == 200
    assert {r["recommendation_id"] for r in listed["items"]} == {
        r["recommendation_id"] for r in rec_body["recommendations"]}
    assert all(r["status"] == "ACTIVE" for r in listed["items"])

    # simulate the top recommendation before touching anything
    status, sim, headers = api("POST", "/v1/simulate", {
        "service_id": SERVICE_ID, "recommendation_ids": [top["recommendation_id"]], "horizon_days": 30,
        "samples": 200, "seed": 7})
    assert status == 201, sim
    assert headers["Location"] == f"/v1/simulate/{sim['simulation_id']}"
    assert sim["recommendation_ids"] == [top["recommendation_id"]] and sim["seed"] == 7
    (line,) = [r for r in sim["per_resource"] if r["resource_id"] == "handler"]
    assert line["changed"] is True
    assert line["baseline_config"]["memory_mb"] == 3008 and line["scenario_config"]["memory_mb"] == proposed_mb
    assert sim["scenario"]["monthly_cost_usd"]["p50"] < sim["baseline"]["monthly_cost_usd"]["p50"]
    assert sim["savings_usd"]["p50"] > 0
    status, stored, _ = api("GET", f"/v1/simulate/{sim['simulation_id']}")
    assert status == 200 and stored["savings_usd"] == sim["savings_usd"]

    # dry run: the plan, nothing changed
    status, plan = apply(api, top, "e2e-apply-dry-1", dry_run=True)
    assert status == 200, plan
    assert plan["status"] == "PLANNED" and plan["change_id"] is None and plan["dry_run"] is True
    assert plan["before"]["memory_mb"] == 3008 and plan["after"]["memory_mb"] == proposed_mb
    assert lambda_config(aws)["MemorySize"] == 3008
    status, history, _ = api("GET", f"/v1/config/history/{SERVICE_ID}")
    assert status == 200 and history["items"] == []

    # the real apply, then the same Idempotency-Key again: one change, the same answer
    status, applied = apply(api, top, "e2e-apply-1")
    assert status == 200, applied
    assert applied["status"] == "SUCCEEDED" and applied["type"] == "APPLY"
    assert applied["recommendation_status"] == "SUCCEEDED"
    assert applied["before"]["memory_mb"] == 3008 and applied["after"]["memory_mb"] == proposed_mb
    live = lambda_config(aws)
    assert live["MemorySize"] == proposed_mb and live["Architectures"] == ["x86_64"]
    status, again = apply(api, top, "e2e-apply-1")
    assert status == 200 and again == applied
    assert lambda_config(aws)["MemorySize"] == proposed_mb

    status, history, _ = api("GET", f"/v1/config/history/{SERVICE_ID}")
    assert status == 200
    (change,) = history["items"]
    assert change["change_id"] == applied["change_id"] and change["type"] == "APPLY"
    assert change["status"] == "SUCCEEDED" and change["actor"] == OPERATOR
    assert change["idempotency_key"] == "e2e-apply-1"
    assert change["before"]["memory_mb"] == 3008 and change["after"]["memory_mb"] == proposed_mb
    status, svc, _ = api("GET", f"/v1/services/{SERVICE_ID}")
    assert svc["resources"][0]["config"]["memory_mb"] == proposed_mb  # the registered config follows the live one

    # the other service's top recommendation is applied too; its hours after the change stay synthetic
    other = top_memory_recommendation(recommend(api, OTHER_ID)["recommendations"])
    status, other_applied = apply(api, other, "e2e-apply-other-1")
    assert status == 200 and other_applied["status"] == "SUCCEEDED", other_applied
    other_mb = other["proposed"]["memory_mb"]
    assert lambda_config(aws, OTHER_FUNCTION)["MemorySize"] == other_mb < 3008

    # after the change, checkout's p99 duration is five times its SLA for three complete hours
    completed_at = datetime.fromisoformat(change["completed_at"])
    breach_start = ceil_hour(completed_at.astimezone(UTC))
    fold_breach(SERVICE_ID, "handler", breach_start, BREACH_HOURS, p99_ms=BREACH_P99_MS, rps=6)
    # the next hourly pull, once those hours are over, runs the verification windows
    from costopt.jobs.pull_metrics import run as pull

    later = breach_start + timedelta(hours=BREACH_HOURS, minutes=5)
    pulled = {p.service_id: p for p in pull(later, deadline_s=120).services}
    assert set(pulled) == {SERVICE_ID, OTHER_ID}
    assert pulled[SERVICE_ID].verify == "1 change(s) checked" == pulled[OTHER_ID].verify

    # checkout: AUTO_ROLLBACK, ROLLED_BACK naming the breached clause, 3008 MB again
    status, after, _ = api("GET", f"/v1/recommendations/{SERVICE_ID}", query={"status": "ROLLED_BACK"})
    (rolled,) = after["items"]
    assert rolled["recommendation_id"] == top["recommendation_id"]
    assert f"latency_p99_ms observed {BREACH_P99_MS:g} > limit 900" in rolled["status_reason"]
    assert lambda_config(aws)["MemorySize"] == 3008
    status, history, _ = api("GET", f"/v1/config/history/{SERVICE_ID}")
    newest, first = history["items"]
    assert newest["type"] == "AUTO_ROLLBACK" and newest["status"] == "SUCCEEDED"
    assert newest["actor"] == "costopt/verify" and newest["recommendation_id"] == top["recommendation_id"]
    assert newest["before"]["memory_mb"] == proposed_mb and newest["after"]["memory_mb"] == 3008
    assert first["change_id"] == applied["change_id"] and first["type"] == "APPLY"
    status, svc, _ = api("GET", f"/v1/services/{SERVICE_ID}")
    assert svc["resources"][0]["config"]["memory_mb"] == 3008
    # ... and an auto-rolled-back recommendation cannot be rolled back by hand
    status, problem, _ = api("POST", f"/v1/config/rollback/{SERVICE_ID}/{top['recommendation_id']}",
                             {"reason": "again"}, headers={"Idempotency-Key": "e2e-rb-checkout"})
    assert status == 409 and problem["status"] == 409 and "rolled back already" in problem["detail"]

    # search: its post-change hours held the SLA, so it stays applied ...
    status, listed, _ = api("GET", f"/v1/recommendations/{OTHER_ID}", query={"status": "SUCCEEDED"})
    assert [r["recommendation_id"] for r in listed["items"]] == [other["recommendation_id"]]
    assert lambda_config(aws, OTHER_FUNCTION)["MemorySize"] == other_mb
    # ... until its owner rolls it back by hand: 200, memory restored; the same key replays, a new one is 409
    path = f"/v1/config/rollback/{OTHER_ID}/{other['recommendation_id']}"
    status, manual, _ = api("POST", path, {"reason": "latency regression seen by the team"},
                            headers={"Idempotency-Key": "e2e-rb-1"})
    assert status == 200, manual
    assert manual["type"] == "ROLLBACK" and manual["status"] == "SUCCEEDED"
    assert manual["recommendation_status"] == "ROLLED_BACK"
    assert manual["before"]["memory_mb"] == other_mb and manual["after"]["memory_mb"] == 3008
    assert lambda_config(aws, OTHER_FUNCTION)["MemorySize"] == 3008
    status, replay, _ = api("POST", path, {"reason": "latency regression seen by the team"},
                            headers={"Idempotency-Key": "e2e-rb-1"})
    assert status == 200 and replay == manual
    status, problem, _ = api("POST", path, {"reason": "latency regression seen by the team"},
                             headers={"Idempotency-Key": "e2e-rb-2"})
    assert status == 409 and "rolled back already" in problem["detail"]
    status, history, _ = api("GET", f"/v1/config/history/{OTHER_ID}")
    assert [(c["type"], c["status"], c["actor"]) for c in history["items"]] == [
        ("ROLLBACK", "SUCCEEDED", OPERATOR), ("APPLY", "SUCCEEDED", OPERATOR)]
    assert history["items"][0]["reason"] == "latency regression seen by the team"
    assert lambda_config(aws, OTHER_FUNCTION)["MemorySize"] == 3008


# --------------------------------------------------------------------------- the daily recompute


def test_recompute_schedule_regenerates_recommendations(api: Api, aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.config import settings

    register_and_pull(api, aws)
    first = {r["recommendation_id"] for r in recommend(api)["recommendations"]}
    assert first

    # no queue configured (tests, benchmarks): local's fan-out processes the schedule's batches in process
    from costopt import clock
    from local.fanout import fan_out_in_process

    monkeypatch.setattr(settings, "recompute_queue_url", None)
    out = fan_out_in_process(clock.event_time(scheduler_event("recompute"))).model_dump(mode="json")
    assert out["mode"] == "in_process" and out["services"] == 1 and out["messages"] == 1, out
    assert out["failed"] == []
    status, page, _ = api("GET", f"/v1/recommendations/{SERVICE_ID}")
    by_status: dict[str, set[str]] = {}
    for r in page["items"]:
        by_status.setdefault(r["status"], set()).add(r["recommendation_id"])
    assert by_status["SUPERSEDED"] == first
    second = by_status["ACTIVE"]
    assert second and not second & first
    (memory,) = [r for r in page["items"] if r["status"] == "ACTIVE" and r["action"] == "lambda_memory"
                 and r["rank"] == 1]
    assert memory["current"]["memory_mb"] == 3008 and memory["proposed"]["memory_mb"] < 3008

    # with the queue: one message per service, consumed by the same function as the SQS event source would
    monkeypatch.undo()
    assert settings.recompute_queue_url
    out = run_schedule("recompute")
    assert out["mode"] == "sqs" and out["messages"] == 1 and out["send_calls"] == 1, out
    from local.seed import drain_queue

    assert drain_queue("recompute", settings.recompute_queue_url, aws, say=lambda _: None) == 1
    status, page, _ = api("GET", f"/v1/recommendations/{SERVICE_ID}", query={"status": "ACTIVE"})
    assert status == 200
    third = {r["recommendation_id"] for r in page["items"]}
    assert third and not third & (first | second)
