"""Crash-safe changes against DynamoDB Local and the moto server: a crash at each step of the change
flow, DynamoDB lost right after the actuator changed the resource, and an EC2 resize carried out by the
actuation worker. After the recovery sweep (run by the hourly pull) the history, the recommendation,
the registered config and the live resource agree, and nothing is left locked or in progress.

A crash is ``Killed``, a BaseException: like a Lambda killed at its timeout it runs no clean-up
(the flow cleans up on ``Exception`` only)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from local import sandbox

BEFORE_MB, TARGET_MB = 3008, 576  # the case


class Killed(BaseException):
    """The process died here."""


def _setup(endpoint):
    from costopt.domain.service import ServicePut
    from costopt.store.services import ServiceRepository
    from tests.support.aws_fixtures import recommendation

    resource = {"resource_id": "api", "kind": "lambda_function", "function_name": "crash-fn",
                "config": {"memory_mb": BEFORE_MB}}
    sandbox.create_lambda(endpoint, resource, resource["config"])
    ServiceRepository().put("crashy", ServicePut.model_validate(
        {"name": "Crashy", "team": "payments", "resources": [resource], "sla": {"latency_p99_ms": 300},
         "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}))
    return recommendation("crashy", "api", "lambda_function", "lambda_memory", {"memory_mb": BEFORE_MB},
                          {"memory_mb": TARGET_MB}, cost_now=120.0, cost_proposed=23.0)


def _apply(rec):
    from costopt.domain.change import ApplyRequest
    from costopt.jobs.apply import apply_recommendation

    return apply_recommendation(ApplyRequest(service_id="crashy", recommendation_id=rec.recommendation_id,
                                             etag=rec.etag), actor="alice")


def _live_mb(endpoint):
    return sandbox.client("lambda", endpoint).get_function_configuration(FunctionName="crash-fn")["MemorySize"]


def _pull_after_the_lock_timeout():
    """The hourly pull, once the interrupted change has been idle longer than change_lock_stale_s."""
    from costopt import clock
    from costopt.config import settings
    from costopt.jobs.pull_metrics import run

    later = clock.now() + timedelta(seconds=settings.change_lock_stale_s + 60)
    report = run(later, deadline_s=120, services=["crashy"])
    [pulled] = report.services
    return pulled


def _assert_consistent(endpoint, rec, *, applied: bool):
    """History, recommendation, registered config and live config agree; nothing stuck."""
    from costopt.store.changes import ChangeRepository, lock_holder
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository

    live = _live_mb(endpoint)
    assert live == (TARGET_MB if applied else BEFORE_MB)
    changes, _ = ChangeRepository().history("crashy")
    assert changes and all(c.status in ("SUCCEEDED", "FAILED") for c in changes), [(c.status, c.error) for c in changes]
    assert lock_holder("crashy") is None
    assert ServiceRepository().get("crashy").resources[0].config.memory_mb == live  # no false drift
    stored = RecommendationRepository().get("crashy", rec.recommendation_id)
    [change] = [c for c in changes if c.type == "APPLY"]
    if applied:
        assert change.status == "SUCCEEDED" and change.after["memory_mb"] == live
        assert stored.status == "SUCCEEDED" and stored.applied_change_id == change.change_id
    else:
        assert change.status == "FAILED" and change.before["memory_mb"] == live
        assert stored.status == "ACTIVE"
    return stored


def _follow_up(endpoint, stored, *, applied: bool):
    """What the issue found impossible after a lost record: the next rollback or apply works."""
    from costopt.jobs.apply import rollback_recommendation

    if applied:
        result = rollback_recommendation("crashy", stored.recommendation_id, actor="bob", reason="after the crash")
        assert result.status == "SUCCEEDED" and _live_mb(endpoint) == BEFORE_MB
    else:
        result = _apply(stored)
        assert result.status == "SUCCEEDED" and _live_mb(endpoint) == TARGET_MB


def _crash_before_the_actuator(monkeypatch):
    from costopt.actuators.lambda_function import LambdaActuator

    def killed(self, *args, **kwargs):
        raise Killed

    monkeypatch.setattr(LambdaActuator, "apply", killed)


def _crash_after_the_actuator(monkeypatch):
    from costopt.actuators.lambda_function import LambdaActuator

    real = LambdaActuator.apply

    def killed(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise Killed

    monkeypatch.setattr(LambdaActuator, "apply", killed)


def _crash_after_the_change_record(monkeypatch):
    from costopt.store.changes import ChangeRepository

    real = ChangeRepository.transition

    def killed(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        if kwargs.get("to_status") == "SUCCEEDED":
            raise Killed
        return out

    monkeypatch.setattr(ChangeRepository, "transition", killed)


def _crash_after_the_recommendation_update(monkeypatch):
    from costopt.jobs import change_flow

    real = change_flow.settle_recommendation

    def killed(change):
        real(change)
        raise Killed

    monkeypatch.setattr(change_flow, "settle_recommendation", killed)


def _crash_after_the_claim(monkeypatch):
    from costopt.actuators.lambda_function import LambdaActuator

    def killed(self, *args, **kwargs):
        raise Killed

    monkeypatch.setattr(LambdaActuator, "read", killed)  # the first step after the claim


CRASHES = {
    "after the claim (PENDING)": (_crash_after_the_claim, False),
    "before the actuator (IN_PROGRESS)": (_crash_before_the_actuator, False),
    "after the actuator": (_crash_after_the_actuator, True),
    "after the change record": (_crash_after_the_change_record, True),
    "after the recommendation update": (_crash_after_the_recommendation_update, True),
}


@pytest.mark.parametrize("where", list(CRASHES))
def test_a_crash_at_each_step_is_settled_by_the_next_pull(aws, tables, monkeypatch, where):
    from costopt.errors import Conflict
    from costopt.store.changes import lock_holder

    rec = _setup(aws)
    inject, applied = CRASHES[where]
    with monkeypatch.context() as m:
        inject(m)
        with pytest.raises(Killed):
            _apply(rec)
    assert lock_holder("crashy") is not None  # the crash left the change holding the lock
    with pytest.raises(Conflict):  # a new apply right away still sees the change in progress
        _apply(rec)
    pulled = _pull_after_the_lock_timeout()
    assert pulled.change_lock_free is True
    stored = _assert_consistent(aws, rec, applied=applied)
    _follow_up(aws, stored, applied=applied)


def test_dynamodb_lost_after_the_actuator_answers_503_and_the_pull_records_the_change(aws, tables, monkeypatch,
                                                                                       lambda_context):
    """The issue's case: DynamoDB gone right after the live Lambda went 3008 -> 576 MB."""
    import botocore.client
    from botocore.exceptions import EndpointConnectionError

    from costopt.actuators.lambda_function import LambdaActuator
    from functions.apply.app import lambda_handler
    from local.events import http_event

    rec = _setup(aws)
    down = {"now": False}
    real_call = botocore.client.BaseClient._make_api_call
    real_apply = LambdaActuator.apply

    def call(self, operation, params):
        if down["now"] and self.meta.service_model.service_name == "dynamodb":
            raise EndpointConnectionError(endpoint_url=self.meta.endpoint_url)
        return real_call(self, operation, params)

    def apply_then_lose_dynamodb(self, *args, **kwargs):
        done = real_apply(self, *args, **kwargs)
        down["now"] = True
        return done

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    monkeypatch.setattr(LambdaActuator, "apply", apply_then_lose_dynamodb)
    body = {"service_id": "crashy", "recommendation_id": rec.recommendation_id, "etag": rec.etag}
    resp = lambda_handler(http_event("POST", "/v1/config/apply", body=body), lambda_context)
    problem = json.loads(resp["body"])
    assert resp["statusCode"] == 503, problem
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert problem["change_id"] and "recovery sweep" in problem["detail"]
    assert _live_mb(aws) == TARGET_MB  # the change was made

    down["now"] = False  # DynamoDB is back
    monkeypatch.setattr(LambdaActuator, "apply", real_apply)
    pulled = _pull_after_the_lock_timeout()
    assert pulled.change_lock_free is True
    stored = _assert_consistent(aws, rec, applied=True)
    from costopt.store.changes import ChangeRepository

    change = ChangeRepository().get("crashy", problem["change_id"])
    assert change.steps[-1].step == "reconciled" and change.verify_until is not None
    _follow_up(aws, stored, applied=True)


def test_neither_before_nor_target_live_needs_attention_and_alerts(aws, tables, monkeypatch):
    from costopt.actuators.lambda_function import LambdaActuator
    from costopt.connectors import notify
    from costopt.store.changes import ChangeRepository, lock_holder
    from costopt.store.recommendations import RecommendationRepository

    rec = _setup(aws)
    alerts = []
    monkeypatch.setattr(notify, "publish_change_alert", alerts.append)

    def someone_else_changed_it(self, *args, **kwargs):
        sandbox.client("lambda", aws).update_function_configuration(FunctionName="crash-fn", MemorySize=1024)
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(LambdaActuator, "apply", someone_else_changed_it)
        with pytest.raises(Killed):
            _apply(rec)
    _pull_after_the_lock_timeout()
    [change] = ChangeRepository().history("crashy")[0]
    assert change.status == "NEEDS_ATTENTION"
    assert (change.before["memory_mb"], change.target["memory_mb"], change.live["memory_mb"]) == (3008, 576, 1024)
    assert [a.change_id for a in alerts] == [change.change_id]
    assert lock_holder("crashy") is None
    stored = RecommendationRepository().get("crashy", rec.recommendation_id)
    assert stored.status == "ACTIVE" and "neither" in stored.status_reason


def test_an_ec2_resize_answers_202_and_the_worker_completes_it(aws, tables, lambda_context):
    """Through the handlers as the local stack runs them: apply -> 202 -> the actuate function fed by
    the actuation queue (local.seed.drain_queue, as `make run`'s scheduler does) -> SUCCEEDED."""
    from costopt.config import settings
    from costopt.domain.service import ServicePut
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository
    from functions.apply.app import lambda_handler
    from local.events import http_event
    from local.seed import drain_queue
    from tests.support.aws_fixtures import recommendation

    resource = {"resource_id": "box", "kind": "ec2_instance", "config": {"instance_type": "m5.xlarge"}}
    instance_id = sandbox.create_ec2_instance(aws, "resize-me", resource, resource["config"])["instance_id"]
    ServiceRepository().put("batchy", ServicePut.model_validate(
        {"name": "Batchy", "team": "data", "resources": [{**resource, "instance_id": instance_id}],
         "policy": {"allow_disruptive": True},
         "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}))
    rec = recommendation("batchy", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m5.xlarge"},
                         {"instance_type": "m5.large"}, cost_now=140.16, cost_proposed=70.08)

    body = {"service_id": "batchy", "recommendation_id": rec.recommendation_id, "etag": rec.etag}
    resp = lambda_handler(http_event("POST", "/v1/config/apply", body=body), lambda_context)
    accepted = json.loads(resp["body"])
    assert resp["statusCode"] == 202 and accepted["status"] == "IN_PROGRESS", accepted
    change_path = f"/v1/config/history/batchy/{accepted['change_id']}"

    def get_change():
        resp = lambda_handler(http_event("GET", change_path, scopes=["costopt/read"]), lambda_context)
        return json.loads(resp["body"])

    progress = get_change()
    assert progress["status"] == "IN_PROGRESS" and progress["mode"] == "async"
    assert [s["step"] for s in progress["steps"]] == ["claimed", "intent"]

    assert drain_queue("actuate", settings.actuation_queue_url, aws) == 1
    done = get_change()
    assert done["status"] == "SUCCEEDED", done
    assert [s["step"] for s in done["steps"]] == ["claimed", "intent", "worker", "stop", "stopped", "modify",
                                                  "start", "status_checks", "succeeded"]
    inst = sandbox.client("ec2", aws).describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert (inst["InstanceType"], inst["State"]["Name"]) == ("m5.large", "running")
    assert RecommendationRepository().get("batchy", rec.recommendation_id).status == "SUCCEEDED"
    assert ServiceRepository().get("batchy").resources[0].config.instance_type == "m5.large"
