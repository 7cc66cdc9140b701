"""POST /v1/config/apply, GET /v1/config/history and POST /v1/config/rollback through the real handlers
(HttpApi v2 events), with the resources in moto and the tables in moto DynamoDB."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import boto3
import pytest
from botocore.exceptions import WaiterError

from costopt import clock
from costopt.store.changes import ChangeRepository, lock_holder, new_change_id
from costopt.store.recommendations import RecommendationRepository
from costopt.store.services import ServiceRepository
from local.events import http_event
from tests.support.aws_fixtures import REGION, ebs_volume, ec2_instance, lambda_function, recommendation, register

# 10 M invocations/month at 120 ms: 1.2 M GB-s at 1024 MB -> $20.00 + $2.00 requests; 512 MB halves the GB-s.
LAMBDA_COST_NOW, LAMBDA_COST_PROPOSED = 22.0, 12.0


@pytest.fixture
def apply_call(tables, lambda_context):
    from functions.apply.app import lambda_handler

    def _call(method, path, **kw):
        resp = lambda_handler(http_event(method, path, **kw), lambda_context)
        return resp["statusCode"], json.loads(resp["body"]) if resp.get("body") else None

    return _call


@pytest.fixture
def rollback_call(tables, lambda_context):
    from functions.rollback.app import lambda_handler

    def _call(service_id, rec_id, body=None, key=None, **kw):
        headers = {"Idempotency-Key": key} if key else None
        resp = lambda_handler(http_event("POST", f"/v1/config/rollback/{service_id}/{rec_id}", body=body,
                                         headers=headers, **kw), lambda_context)
        return resp["statusCode"], json.loads(resp["body"]) if resp.get("body") else None

    return _call


@pytest.fixture
def lambda_rec(tables):
    name = lambda_function("apply-api-fn", memory_mb=1024)
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    return recommendation("checkout", "api", "lambda_function", "lambda_memory",
                          {"memory_mb": 1024}, {"memory_mb": 512},
                          cost_now=LAMBDA_COST_NOW, cost_proposed=LAMBDA_COST_PROPOSED)


def live_memory(name="apply-api-fn"):
    return boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=name)["MemorySize"]


def apply_body(rec, **extra):
    return {"service_id": rec.service_id, "recommendation_id": rec.recommendation_id, "etag": rec.etag, **extra}


def hold_lock(service_id, change_id):
    from costopt.store.services import ServiceItem

    ServiceItem(service_id=service_id).update(actions=[ServiceItem.change_lock.set(change_id)])


def history(service_id="checkout"):
    return ChangeRepository().history(service_id)[0]


def test_apply_changes_the_function_and_records_it(apply_call, lambda_rec):
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec),
                              headers={"Idempotency-Key": "k-1"}, claims={"sub": "alice@example.com"})
    assert status == 200, body
    assert body["status"] == "SUCCEEDED" and body["type"] == "APPLY"
    assert body["before"]["memory_mb"] == 1024 and body["after"]["memory_mb"] == 512
    assert body["recommendation_status"] == "SUCCEEDED" and body["change_id"].startswith("c")
    assert live_memory() == 512

    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "SUCCEEDED" and rec.applied_change_id == body["change_id"] and rec.etag != lambda_rec.etag
    status, page = apply_call("GET", "/v1/config/history/checkout", scopes=["costopt/read"])
    assert status == 200 and len(page["items"]) == 1
    change = page["items"][0]
    assert change["status"] == "SUCCEEDED" and change["actor"] == "alice@example.com"
    assert change["idempotency_key"] == "k-1" and change["before"]["memory_mb"] == 1024
    assert change["verify_until"] is not None and change["completed_at"] is not None
    service = ServiceRepository().get("checkout")
    assert service.resources[0].config.memory_mb == 512 and service.version == 2  # registry follows live
    # the lock is free again: the service accepts the next change
    assert lock_holder("checkout") is None


def test_same_idempotency_key_returns_first_result_without_second_change(apply_call, lambda_rec):
    first = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec), headers={"Idempotency-Key": "k-2"})
    boto3.client("lambda", region_name=REGION).update_function_configuration(FunctionName="apply-api-fn",
                                                                              MemorySize=768)
    second = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec), headers={"Idempotency-Key": "k-2"})
    assert first[0] == second[0] == 200 and first[1] == second[1]
    assert len(history()) == 1 and live_memory() == 768  # nothing was applied the second time
    # the same key with another body is refused; without the key the (now SUCCEEDED) recommendation is 409
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec, dry_run=True),
                              headers={"Idempotency-Key": "k-2"})
    assert status == 422 and "different request body" in body["detail"]
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    assert status == 409 and body["recommendation_status"] == "SUCCEEDED"


def test_drift_is_409_with_both_configs_and_releases_the_claim(apply_call, lambda_rec):
    boto3.client("lambda", region_name=REGION).update_function_configuration(FunctionName="apply-api-fn",
                                                                              MemorySize=2048)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    assert status == 409 and "drift" in body["detail"]
    assert body["expected"]["memory_mb"] == 1024 and body["live"]["memory_mb"] == 2048
    assert body["differences"]["memory_mb"] == {"expected": 1024, "live": 2048}
    assert live_memory() == 2048
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "ACTIVE" and "drift" in rec.status_reason and rec.applied_change_id is None
    [change] = history()
    assert change.status == "FAILED" and change.change_id == body["change_id"] and "drift" in change.error
    assert lock_holder("checkout") is None  # lock released


def test_stale_etag_and_dry_run(apply_call, lambda_rec):
    status, body = apply_call("POST", "/v1/config/apply", body={**apply_body(lambda_rec), "etag": "0" * 16})
    assert status == 409 and body["current_etag"] == lambda_rec.etag

    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec, dry_run=True))
    assert status == 200 and body["status"] == "PLANNED" and body["change_id"] is None and body["dry_run"]
    assert body["before"]["memory_mb"] == 1024 and body["after"]["memory_mb"] == 512
    assert live_memory() == 1024 and history() == []
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "ACTIVE" and rec.etag == lambda_rec.etag


def test_sla_failing_needs_force_with_reason(apply_call, tables):
    name = lambda_function("apply-api-fn", memory_mb=1024)
    register("checkout", [{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                           "config": {"memory_mb": 1024}}])
    rec = recommendation("checkout", "api", "lambda_function", "lambda_memory", {"memory_mb": 1024},
                         {"memory_mb": 512}, cost_now=22.0, cost_proposed=12.0,
                         failing=["max_memory_utilization_pct"])
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec))
    assert status == 422 and body["failed_clauses"] == ["max_memory_utilization_pct"]
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec, force=True))
    assert status == 422 and any("reason" in e["msg"] for e in body["errors"])
    assert live_memory() == 1024 and history() == []
    status, body = apply_call("POST", "/v1/config/apply",
                              body=apply_body(rec, force=True, reason="load test shows 70% peak memory"))
    assert status == 200 and body["forced"] and live_memory() == 512
    [change] = history()
    assert change.forced and change.reason == "load test shows 70% peak memory"
    assert any("max_memory_utilization_pct" in w for w in change.warnings)


def test_operate_scope_is_required(apply_call, rollback_call, lambda_rec):
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec),
                              scopes=["costopt/read", "costopt/write"])
    assert status == 403 and body["required_scopes"] == ["costopt/operate"]
    status, body = rollback_call("checkout", lambda_rec.recommendation_id, scopes=["costopt/read"])
    assert status == 403 and body["required_scopes"] == ["costopt/operate"]
    assert apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec), authorized=False)[0] == 401
    assert live_memory() == 1024 and history() == []


def test_another_change_in_progress_is_409_and_a_stale_lock_is_taken_over(apply_call, lambda_rec):
    holder = new_change_id()
    hold_lock("checkout", holder)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    assert status == 409 and body["change_in_progress"] == holder
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "ACTIVE" and rec.etag == lambda_rec.etag and history() == []  # nothing half-claimed

    # a lock left by an apply that crashed 20 minutes ago (older than change_lock_stale_s) is taken over
    from costopt.store.services import ServiceItem

    crashed = new_change_id(clock.now() - timedelta(minutes=20))
    ServiceItem(service_id="checkout").update(actions=[ServiceItem.change_lock.set(crashed)])
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    assert status == 200 and live_memory() == 512


def test_actuator_failing_half_way_restores_and_records_failed(apply_call, lambda_rec, monkeypatch):
    from costopt.actuators.aws import client

    lam = client("lambda", REGION)
    real_get_waiter = lam.get_waiter
    calls = {"n": 0}

    class FailingOnce:
        def __init__(self, waiter):
            self.waiter = waiter

        def wait(self, **kw):
            calls["n"] += 1
            if calls["n"] == 1:  # the memory update went through; confirming it fails
                raise WaiterError(name="FunctionUpdatedV2", reason="Max attempts exceeded", last_response={})
            return self.waiter.wait(**kw)

    monkeypatch.setattr(lam, "get_waiter", lambda name: FailingOnce(real_get_waiter(name)))
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec),
                              headers={"Idempotency-Key": "k-fail"})
    assert status == 503 and body["change_status"] == "FAILED" and body["restored"] is True
    assert "restored" in body["detail"]
    assert live_memory() == 1024  # the half-made change was undone
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "ACTIVE" and rec.applied_change_id is None and "apply failed" in rec.status_reason
    [change] = history()
    assert change.status == "FAILED" and change.change_id == body["change_id"] and "gave up waiting" in change.error
    assert change.completed_at is not None
    assert ServiceRepository().get("checkout").resources[0].config.memory_mb == 1024  # registry untouched
    assert lock_holder("checkout") is None  # lock released
    # the failure is not cached by the idempotency layer: the same key retries and now succeeds
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    monkeypatch.undo()
    from costopt.store.services import ServiceItem

    ServiceItem(service_id="checkout").update(actions=[ServiceItem.change_lock.remove()])
    status, body = apply_call("POST", "/v1/config/apply", body={**apply_body(lambda_rec), "etag": rec.etag},
                              headers={"Idempotency-Key": "k-fail-2"})
    assert status == 200 and live_memory() == 512


def test_ec2_modify_failure_starts_the_instance_again(apply_call, tables, monkeypatch, run_actuations):
    from botocore.exceptions import ClientError

    from costopt.actuators.aws import client

    instance = ec2_instance("m5.xlarge")
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m5.xlarge"}}], allow_disruptive=True)
    rec = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m5.xlarge"},
                         {"instance_type": "m5.large"}, cost_now=140.16, cost_proposed=70.08)
    ec2 = client("ec2", REGION)

    def refuse(**kw):
        raise ClientError({"Error": {"Code": "InsufficientInstanceCapacity",
                                     "Message": "We currently do not have sufficient m5.large capacity"}},
                          "ModifyInstanceAttribute")

    monkeypatch.setattr(ec2, "modify_instance_attribute", refuse)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec))
    assert status == 202 and body["status"] == "IN_PROGRESS"  # stop/modify/start runs in the worker
    [report] = run_actuations()
    assert report["batchItemFailures"] == []  # the failure is recorded on the change: nothing to redeliver
    inst = boto3.client("ec2", region_name=REGION).describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running" and inst["InstanceType"] == "m5.xlarge"
    assert RecommendationRepository().get("batch", rec.recommendation_id).status == "ACTIVE"
    [change] = history("batch")
    assert change.status == "FAILED" and "InsufficientInstanceCapacity" in change.error
    assert [s.step for s in change.steps] == ["claimed", "intent", "worker", "stop", "stopped", "modify", "start",
                                              "failed"]
    assert lock_holder("batch") is None


def test_ec2_without_allow_disruptive_is_refused_before_claiming(apply_call, tables):
    instance = ec2_instance("m5.xlarge")
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m5.xlarge"}}])
    rec = recommendation("batch", "box", "ec2_instance", "ec2_rightsize", {"instance_type": "m5.xlarge"},
                         {"instance_type": "m5.large"}, cost_now=140.16, cost_proposed=70.08)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec))
    assert status == 422 and body["policy"] == "allow_disruptive"
    assert RecommendationRepository().get("batch", rec.recommendation_id).etag == rec.etag
    assert history("batch") == []


def test_rollback_restores_then_409_twice_and_for_never_applied(apply_call, rollback_call, lambda_rec):
    status, applied = apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    assert status == 200 and live_memory() == 512
    status, body = rollback_call("checkout", lambda_rec.recommendation_id, body={"reason": "p99 regressed"},
                                 key="rb-1", claims={"sub": "bob"})
    assert status == 200, body
    assert body["type"] == "ROLLBACK" and body["before"]["memory_mb"] == 512 and body["after"]["memory_mb"] == 1024
    assert body["recommendation_status"] == "ROLLED_BACK" and live_memory() == 1024
    rec = RecommendationRepository().get("checkout", lambda_rec.recommendation_id)
    assert rec.status == "ROLLED_BACK" and "p99 regressed" in rec.status_reason
    newest, oldest = history()
    assert (newest.type, newest.status, newest.actor, newest.reason) == ("ROLLBACK", "SUCCEEDED", "bob",
                                                                         "p99 regressed")
    assert oldest.change_id == applied["change_id"]
    # the same key again: the first result, no new change
    assert rollback_call("checkout", lambda_rec.recommendation_id, body={"reason": "p99 regressed"},
                         key="rb-1", claims={"sub": "bob"}) == (200, body)
    assert len(history()) == 2
    status, body = rollback_call("checkout", lambda_rec.recommendation_id)
    assert status == 409 and "rolled back already" in body["detail"]

    other = recommendation("checkout", "api", "lambda_function", "lambda_memory", {"memory_mb": 1024},
                           {"memory_mb": 640}, cost_now=22.0, cost_proposed=14.5)
    status, body = rollback_call("checkout", other.recommendation_id)
    assert status == 409 and "never applied" in body["detail"]
    assert rollback_call("checkout", "r0000000000nosuchrec")[0] == 404


def test_ebs_rollback_within_cooldown_is_409_with_the_time(apply_call, rollback_call, tables):
    volume = ebs_volume(200, "gp2")
    register("data", [{"resource_id": "vol", "kind": "ebs_volume", "volume_id": volume,
                       "config": {"volume_type": "gp2", "size_gb": 200}}])
    # 200 GiB gp2 at $0.10/GB-month = $20.00; gp3 at $0.08 = $16.00 (baseline 3000 IOPS / 125 MB/s included)
    rec = recommendation("data", "vol", "ebs_volume", "ebs_gp3", {"volume_type": "gp2", "size_gb": 200},
                         {"volume_type": "gp3", "size_gb": 200, "iops": 3000, "throughput_mbps": 125},
                         cost_now=20.0, cost_proposed=16.0)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec))
    assert status == 200 and body["after"]["volume_type"] == "gp3"
    assert any("6 hours" in w for w in body["warnings"]) and body["rollback_not_before"]
    status, problem = rollback_call("data", rec.recommendation_id)
    assert status == 409 and datetime.fromisoformat(problem["rollback_not_before"]) == datetime.fromisoformat(
        body["rollback_not_before"])
    assert 6 * 3600 - 120 < problem["retry_after_s"] <= 6 * 3600 + 1
    assert boto3.client("ec2", region_name=REGION).describe_volumes(
        VolumeIds=[volume])["Volumes"][0]["VolumeType"] == "gp3"

    # seven hours later the rollback goes through
    from costopt.jobs.apply import rollback_recommendation

    later = clock.now() + timedelta(hours=7)
    result = rollback_recommendation("data", rec.recommendation_id, actor="ops", now=later)
    assert result.after["volume_type"] == "gp2"
    assert boto3.client("ec2", region_name=REGION).describe_volumes(
        VolumeIds=[volume])["Volumes"][0]["VolumeType"] == "gp2"


def test_history_paginates_newest_first(apply_call, lambda_rec):
    apply_call("POST", "/v1/config/apply", body=apply_body(lambda_rec))
    from costopt.jobs.apply import rollback_recommendation

    rollback_recommendation("checkout", lambda_rec.recommendation_id, actor="ops")
    status, page = apply_call("GET", "/v1/config/history/checkout", query={"limit": "1"})
    assert status == 200 and [c["type"] for c in page["items"]] == ["ROLLBACK"] and page["next_token"]
    status, page2 = apply_call("GET", "/v1/config/history/checkout",
                               query={"limit": "1", "next_token": page["next_token"]})
    assert [c["type"] for c in page2["items"]] == ["APPLY"]
    assert apply_call("GET", "/v1/config/history/nosuch")[0] == 404
    assert apply_call("GET", "/v1/config/history/checkout", query={"next_token": "forged.token"})[0] == 400


def test_idle_stop_of_an_instance_is_not_applied_automatically(apply_call, tables):
    instance = ec2_instance("m5.large")
    register("batch", [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                        "config": {"instance_type": "m5.large"}}], allow_disruptive=True)
    rec = recommendation("batch", "box", "ec2_instance", "idle_stop", {"instance_type": "m5.large"},
                         {"state": "stopped"}, cost_now=70.08, cost_proposed=0.0)
    status, body = apply_call("POST", "/v1/config/apply", body=apply_body(rec))
    assert status == 422 and body["action"] == "idle_stop" and "do it yourself" in body["detail"]
    assert RecommendationRepository().get("batch", rec.recommendation_id).etag == rec.etag
    inst = boto3.client("ec2", region_name=REGION).describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running" and history("batch") == []
