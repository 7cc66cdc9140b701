"""The change flow's asynchronous path and its recovery (moto): an EC2 resize accepted with 202 and
carried out by the actuation worker, a worker that died half-way resumed from the live state, a
lost queue message handed back by the sweep, and the limits of both."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from costopt import clock
from costopt.config import settings
from costopt.jobs import change_flow, change_recovery
from costopt.store.changes import ChangeRepository, lock_holder
from costopt.store.recommendations import RecommendationRepository
from costopt.store.services import ServiceRepository
from local.events import http_event
from tests.integration.aws.conftest import drop_actuation_messages
from tests.support.aws_fixtures import REGION, ec2_instance, recommendation, register


@pytest.fixture
def call(tables, lambda_context):
    from functions.apply.app import lambda_handler as apply_handler
    from functions.rollback.app import lambda_handler as rollback_handler

    def _call(method, path, **kw):
        handler = rollback_handler if path.startswith("/v1/config/rollback") else apply_handler
        resp = handler(http_event(method, path, **kw), lambda_context)
        return resp["statusCode"], json.loads(resp["body"]) if resp.get("body") else None

    return _call


@pytest.fixture
def resize(tables):
    instance = ec2_instance("m5.xlarge")
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m5.xlarge"}}], allow_disruptive=True)
    rec = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m5.xlarge"},
                         {"instance_type": "m5.large"}, cost_now=140.16, cost_proposed=70.08)
    return instance, rec


def body_of(rec):
    return {"service_id": rec.service_id, "recommendation_id": rec.recommendation_id, "etag": rec.etag}


def instance_state(instance):
    inst = boto3.client("ec2", region_name=REGION).describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return inst["InstanceType"], inst["State"]["Name"]


def steps(change_id, service_id="batch"):
    return [s.step for s in ChangeRepository().get(service_id, change_id).steps]


def test_an_ec2_resize_is_accepted_then_carried_out_and_rolled_back_by_the_worker(call, resize, run_actuations):
    instance, rec = resize
    status, accepted = call("POST", "/v1/config/apply", body=body_of(rec))
    assert status == 202 and accepted["status"] == "IN_PROGRESS" and accepted["recommendation_status"] == "CLAIMED"
    assert instance_state(instance) == ("m5.xlarge", "running")  # nothing touched within the request
    status, progress = call("GET", f"/v1/config/history/batch/{accepted['change_id']}", scopes=["costopt/read"])
    assert status == 200 and progress["status"] == "IN_PROGRESS" and progress["mode"] == "async"
    assert progress["target"] == {"instance_type": "m5.large"} and progress["facts"] == {"instance_state": "running"}
    assert lock_holder("batch") == accepted["change_id"]

    [report] = run_actuations()
    assert report["batchItemFailures"] == [] and report["body"]["change_id"] == accepted["change_id"]
    assert instance_state(instance) == ("m5.large", "running")
    change = ChangeRepository().get("batch", accepted["change_id"])
    assert change.status == "SUCCEEDED" and change.after == {"instance_type": "m5.large"} and change.attempts == 1
    assert steps(change.change_id) == ["claimed", "intent", "worker", "stop", "stopped", "modify", "start",
                                       "status_checks", "succeeded"]
    assert RecommendationRepository().get("batch", rec.recommendation_id).status == "SUCCEEDED"
    assert ServiceRepository().get("batch").resources[0].config.instance_type == "m5.large"
    assert lock_holder("batch") is None

    status, rolling = call("POST", f"/v1/config/rollback/batch/{rec.recommendation_id}", body={"reason": "slow"})
    assert status == 202 and rolling["type"] == "ROLLBACK" and rolling["status"] == "IN_PROGRESS"
    run_actuations()
    assert instance_state(instance) == ("m5.xlarge", "running")
    assert ChangeRepository().get("batch", rolling["change_id"]).status == "SUCCEEDED"
    assert RecommendationRepository().get("batch", rec.recommendation_id).status == "ROLLED_BACK"


def test_a_worker_that_died_after_the_modify_is_resumed_from_the_live_state(call, resize, run_actuations):
    instance, rec = resize
    _, accepted = call("POST", "/v1/config/apply", body=body_of(rec))
    ec2 = boto3.client("ec2", region_name=REGION)  # what the first worker did before it died
    ec2.stop_instances(InstanceIds=[instance])
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "m5.large"})
    run_actuations()  # the message comes back (SQS redelivery): the worker carries on where the instance is
    assert instance_state(instance) == ("m5.large", "running")
    assert steps(accepted["change_id"]) == ["claimed", "intent", "worker", "start", "status_checks", "succeeded"]


def test_the_sweep_hands_an_idle_change_back_to_the_worker(call, resize, run_actuations):
    instance, rec = resize
    _, accepted = call("POST", "/v1/config/apply", body=body_of(rec))
    assert drop_actuation_messages() == 1  # the message is lost
    assert change_recovery.recover("batch", clock.now() + timedelta(minutes=5)) is False  # not idle long enough
    assert run_actuations() == []
    later = clock.now() + timedelta(seconds=settings.change_lock_stale_s + 1)
    assert change_recovery.recover("batch", later) is False  # handed back, still in progress
    assert steps(accepted["change_id"])[-1] == "requeued"
    [report] = run_actuations()
    assert report["batchItemFailures"] == [] and instance_state(instance) == ("m5.large", "running")
    assert ChangeRepository().get("batch", accepted["change_id"]).status == "SUCCEEDED"


def test_a_change_taken_up_too_often_is_settled_from_the_live_config(call, resize, run_actuations):
    instance, rec = resize
    _, accepted = call("POST", "/v1/config/apply", body=body_of(rec))
    ChangeRepository().transition("batch", accepted["change_id"], from_statuses=["IN_PROGRESS"],
                                  to_status="IN_PROGRESS", attempts=settings.actuation_max_attempts)
    run_actuations()
    change = ChangeRepository().get("batch", accepted["change_id"])
    assert change.status == "FAILED" and "still the before config" in change.error  # it never got going
    assert instance_state(instance) == ("m5.xlarge", "running")
    assert RecommendationRepository().get("batch", rec.recommendation_id).status == "ACTIVE"
    assert lock_holder("batch") is None


def test_an_instance_left_stopped_needs_attention(call, resize, run_actuations, monkeypatch):
    from costopt.connectors import notify

    alerts = []
    monkeypatch.setattr(notify, "publish_change_alert", alerts.append)
    instance, rec = resize
    _, accepted = call("POST", "/v1/config/apply", body=body_of(rec))
    ChangeRepository().transition("batch", accepted["change_id"], from_statuses=["IN_PROGRESS"],
                                  to_status="IN_PROGRESS", attempts=settings.actuation_max_attempts)
    boto3.client("ec2", region_name=REGION).stop_instances(InstanceIds=[instance])  # the worker died here
    change_recovery.recover("batch", clock.now() + timedelta(seconds=settings.change_lock_stale_s + 1))
    change = ChangeRepository().get("batch", accepted["change_id"])
    assert change.status == "NEEDS_ATTENTION" and "it was running" in change.error
    assert change.live == {"instance_type": "m5.xlarge"} and [a.change_id for a in alerts] == [change.change_id]
    assert lock_holder("batch") is None


def test_no_actuation_queue_is_503_with_nothing_changed(call, resize, monkeypatch):
    instance, rec = resize
    monkeypatch.setattr(settings, "actuation_queue_url", None)
    status, problem = call("POST", "/v1/config/apply", body=body_of(rec))
    assert status == 503 and problem["change_status"] == "FAILED"
    assert instance_state(instance) == ("m5.xlarge", "running")
    assert ChangeRepository().get("batch", problem["change_id"]).status == "FAILED"
    assert RecommendationRepository().get("batch", rec.recommendation_id).status == "ACTIVE"
    assert lock_holder("batch") is None


def test_a_rollback_interrupted_after_the_actuator_ends_rolled_back(call, tables, monkeypatch):
    from costopt.actuators.lambda_function import LambdaActuator
    from tests.support.aws_fixtures import lambda_function

    name = lambda_function("flow-fn", memory_mb=1024)
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    rec = recommendation("checkout", "api", "lambda_function", "lambda_memory", {"memory_mb": 1024},
                         {"memory_mb": 512}, cost_now=22.0, cost_proposed=12.0)
    assert call("POST", "/v1/config/apply", body=body_of(rec))[0] == 200

    class Killed(BaseException):
        pass

    real = LambdaActuator.apply

    def killed(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(LambdaActuator, "apply", killed)
        with pytest.raises(Killed):
            call("POST", f"/v1/config/rollback/checkout/{rec.recommendation_id}")
    assert RecommendationRepository().get("checkout", rec.recommendation_id).status == "SUCCEEDED"
    assert change_recovery.recover("checkout", clock.now() + timedelta(seconds=settings.change_lock_stale_s + 1))
    newest = ChangeRepository().history("checkout")[0][0]
    assert (newest.type, newest.status) == ("ROLLBACK", "SUCCEEDED")
    assert RecommendationRepository().get("checkout", rec.recommendation_id).status == "ROLLED_BACK"
    assert ServiceRepository().get("checkout").resources[0].config.memory_mb == 1024


def test_two_settlers_of_one_change_both_see_it_settled(call, tables, monkeypatch):
    """The change's own request and a sweep (run by a concurrent request that found the lock held) may
    settle the recommendation at once: the loser of the conditional write reports the settled status
    instead of failing a rollback that succeeded (found by 20 concurrent rollbacks)."""
    from tests.support.aws_fixtures import lambda_function

    name = lambda_function("settle-fn", memory_mb=1024)
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    rec = recommendation("checkout", "api", "lambda_function", "lambda_memory", {"memory_mb": 1024},
                         {"memory_mb": 512}, cost_now=22.0, cost_proposed=12.0)
    assert call("POST", "/v1/config/apply", body=body_of(rec))[0] == 200
    applied = RecommendationRepository().get("checkout", rec.recommendation_id)  # SUCCEEDED, as a settler read it
    status, rolled = call("POST", f"/v1/config/rollback/checkout/{rec.recommendation_id}")
    assert status == 200 and rolled["recommendation_status"] == "ROLLED_BACK"
    change = ChangeRepository().get("checkout", rolled["change_id"])
    reads = iter([applied])
    real_find = RecommendationRepository.find
    monkeypatch.setattr(RecommendationRepository, "find",
                        lambda self, *a: next(reads, None) or real_find(self, *a))
    assert change_flow.settle_recommendation(change) == "ROLLED_BACK"  # lost the race, no Conflict
