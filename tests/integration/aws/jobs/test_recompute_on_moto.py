"""The daily recompute: fan-out (SQS and in process), per-service failures reported alone,: the tests that need
AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/jobs/test_recompute.py``."""


from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from costopt.domain.service import ServicePut
from tests.unit.jobs.test_recompute import NOW  # shared with the tests that need no AWS


def lambda_spec(function_name: str, memory_mb: int = 3008, auto_apply: str = "off") -> dict:
    return {
        "name": f"svc {function_name}", "team": "payments",
        "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": function_name,
                       "config": {"memory_mb": memory_mb, "architecture": "x86_64"}}],
        "sla": {"latency_p99_ms": 2000},
        "telemetry": {"source": "synthetic",
                      "synthetic": {"seed": 7, "base_rps": 5, "cpu_ms_per_request": 20, "history_days": 5,
                                    "memory_utilization_pct": 8}},
        "billing": {"source": "synthetic"},
        "policy": {"auto_apply": auto_apply, "strategy": "balanced"},
    }


def put(service_id: str, spec: dict, days: int = 4) -> None:
    """Register the service and fold `days` of its synthetic telemetry and billing."""
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository
    from local.synthetic import generate, generate_costs

    service, _ = ServiceRepository().put(service_id, ServicePut.model_validate(spec), now=NOW - timedelta(days=10))
    start = (NOW - timedelta(days=days)).replace(hour=0)
    repo = ObservationRepository()
    repo.fold(service_id, generate(service, start, NOW), now=NOW)
    repo.fold(service_id, generate_costs(service, start, NOW), now=NOW)


def corrupt(service_id: str) -> None:
    """A service item whose document no longer parses: a poison message for the recompute."""
    from costopt.store.services import ServiceItem

    ServiceItem(service_id=service_id, team="x", name="x", region="us-east-1", version=1, doc='{"broken": ',
                created_at=NOW, updated_at=NOW).save()


def test_batch_with_one_failing_service_reports_only_that_one(tables, lambda_context):
    from costopt.jobs.recompute import message_body, process_batch
    from local.fanout import sqs_record

    put("good-one", lambda_spec("good-one"))
    corrupt("bad-one")
    put("good-two", lambda_spec("good-two"))
    event = {"Records": [sqs_record(message_body(sid, "run", NOW), f"m{i}")
                         for i, sid in enumerate(["good-one", "bad-one", "good-two"])]}
    result = process_batch(event, lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    from costopt.store.recommendations import RecommendationRepository

    recs, _ = RecommendationRepository().list("good-two", status="ACTIVE")
    assert recs, "the services after the failing one were still recomputed"


def test_fan_out_in_process_uses_the_batch_path(tables, lambda_context):
    from local.fanout import fan_out_in_process

    for i in range(12):
        put(f"svc-{i:02d}", lambda_spec(f"fn-{i:02d}"), days=2)
    corrupt("svc-zz")
    report = fan_out_in_process(NOW, context=lambda_context)
    assert report.mode == "in_process"
    assert (report.services, report.messages, report.send_calls) == (13, 13, 2)
    assert report.failed == ["svc-zz"]


def test_fan_out_sends_one_message_per_service_to_sqs(tables, monkeypatch):
    from costopt.config import settings
    from costopt.jobs.recompute import fan_out

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="recompute")["QueueUrl"]
    monkeypatch.setattr(settings, "recompute_queue_url", url)
    for i in range(23):
        put(f"svc-{i:02d}", lambda_spec(f"fn-{i:02d}"), days=0)
    report = fan_out(NOW)
    assert (report.mode, report.services, report.messages, report.send_calls) == ("sqs", 23, 23, 3)
    bodies = []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in msgs]
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(b["service_id"] for b in bodies) == [f"svc-{i:02d}" for i in range(23)]
    assert {b["run_id"] for b in bodies} == {report.run_id}
    sqs.delete_queue(QueueUrl=url)


def _lambda_in_moto(name: str, memory_mb: int) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    try:
        role = iam.get_role(RoleName="costopt-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="costopt-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(e, c):\n    return 1\n")
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
        Code={"ZipFile": buf.getvalue()}, MemorySize=memory_mb, Architectures=["x86_64"])


@pytest.mark.parametrize(("policy", "start_mb"), [("low_risk", 1536), ("off", 1536), ("low_risk", 3008)])
def test_recompute_auto_applies_only_when_the_policy_says_so(tables, policy, start_mb):
    from costopt.jobs.recompute import recompute_service
    from costopt.store.changes import ChangeRepository
    from costopt.store.recommendations import RecommendationRepository

    name = f"auto-{policy.replace('_', '-')}-{start_mb}"
    _lambda_in_moto(name, start_mb)
    put(name, lambda_spec(name, start_mb, auto_apply=policy))
    out = recompute_service(name, NOW)
    assert out.recommendations >= 1
    memory = boto3.client("lambda", region_name="us-east-1").get_function_configuration(
        FunctionName=name)["MemorySize"]
    history, _ = ChangeRepository().history(name)
    if policy == "off":
        assert out.auto_applied == [] and history == [] and memory == start_mb
    elif start_mb > 1769:
        # above 1,769 MB the function has more than one vCPU: a smaller size is neutral only for
        # single-threaded code, which the data cannot prove, so the downsize is risk 2 and never automatic
        recs, _ = RecommendationRepository().list(name, status="ACTIVE")
        downsizes = [r for r in recs if r.action == "lambda_memory" and r.proposed["memory_mb"] < start_mb]
        assert downsizes and all(r.performance_risk >= 2 and not r.auto_applicable for r in downsizes)
        assert out.auto_applied == [] and history == [] and memory == start_mb
    else:
        assert len(out.auto_applied) == 1 and memory < start_mb
        assert history[0].actor == "costopt/auto" and history[0].status == "SUCCEEDED"
        assert history[0].after["memory_mb"] == memory
