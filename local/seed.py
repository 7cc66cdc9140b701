"""Seed the demo services through the REAL services handler (HttpApi v2 events), create their live
resources in the sandbox, and run the scheduled jobs once through their real handlers.

Import this only after ``local.env.configure()``: the handlers import costopt, which reads the
environment at import time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local import demo, sandbox
from local.events import http_event
from local.functions import FunctionDef, function_by_name
from local.template import ROOT, load_template

SEED_SUBJECT = "costopt/local-seed"
Say = Callable[[str], None]


def _call(fn: FunctionDef, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    event = http_event(method, path, body=body, claims={"sub": SEED_SUBJECT},
                       route_key=f"{method} /v1/services/{{service_id}}",
                       path_parameters={"service_id": path.rsplit("/", 1)[-1]})
    resp = fn.invoke(event)
    raw = resp.get("body")
    return int(resp["statusCode"]), (json.loads(raw) if raw else None)


def seed_demo_services(sandbox_url: str, say: Say = print) -> dict[str, str]:
    """Create every demo service that does not exist yet (PUT), with live resources in the sandbox.

    An existing service keeps its configs (an earlier apply is not undone); the sandbox, which
    lives in memory, is rebuilt from those configs, and the service is updated only when the ids
    of its live resources changed (a new sandbox gives new EC2/EBS ids). Returns id -> outcome.
    """
    fn = function_by_name("services")
    outcome = {}
    for service_id in demo.DEMO_SERVICES:
        path = f"/v1/services/{service_id}"
        status, current = _call(fn, "GET", path)
        if status == 200:
            live = sandbox.create_service_resources(sandbox_url, service_id, current)
            if demo.identities_of(demo.with_identities(current, live)) == demo.identities_of(current):
                outcome[service_id] = "exists"
                continue
            status, body = _call(fn, "PUT", path, demo.put_body(demo.with_identities(current, live)))
            outcome[service_id] = "updated live resource ids" if status == 200 else f"update failed: {status} {body}"
            continue
        if status != 404:
            outcome[service_id] = f"GET failed: {status} {current}"
            continue
        spec = demo.demo_spec(service_id)
        live = sandbox.create_service_resources(sandbox_url, service_id, spec)
        status, body = _call(fn, "PUT", path, demo.with_identities(spec, live))
        outcome[service_id] = "created" if status == 201 else f"create failed: {status} {body}"
    for service_id, result in outcome.items():
        say(f"  {service_id:<18} {result}")
    return outcome


def _template_schedule_input(function: str) -> str | None:
    """The ``Input`` of the function's ScheduleV2 event in template.yaml (a !Sub string), if any."""
    fn = function_by_name(function)
    try:
        resource = load_template().get("Resources", {}).get(fn.logical_id or "", {})
    except OSError:
        return None
    for event in (resource.get("Properties", {}).get("Events") or {}).values():
        if event.get("Type") in ("ScheduleV2", "Schedule"):
            raw = (event.get("Properties") or {}).get("Input")
            if isinstance(raw, dict):
                raw = raw.get("Fn::Sub")
            if isinstance(raw, str):
                return raw
    return None


def scheduler_event(function: str) -> dict[str, Any]:
    """What EventBridge Scheduler hands the function: the schedule's ``Input`` from template.yaml with
    its ${AWS::...} and <aws.scheduler.*> placeholders filled in; else events/<function>-schedule.json."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    schedule_arn = f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/costopt-local-{function}"
    raw = _template_schedule_input(function)
    if raw is not None:
        for placeholder, value in {
            "${AWS::AccountId}": "123456789012", "${AWS::Region}": "us-east-1", "${AWS::Partition}": "aws",
            "<aws.scheduler.execution-id>": str(uuid.uuid4()), "<aws.scheduler.scheduled-time>": now,
            "<aws.scheduler.schedule-arn>": schedule_arn, "<aws.scheduler.attempt-number>": "1",
        }.items():
            raw = raw.replace(placeholder, value)
        try:
            event: dict[str, Any] = json.loads(raw)
            return event
        except ValueError:
            pass
    sample = ROOT / "events" / f"{function}-schedule.json"
    if sample.is_file():
        event = json.loads(sample.read_text())
        event.update(id=str(uuid.uuid4()), time=now)
        return event
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": "123456789012", "time": now, "region": "us-east-1", "resources": [schedule_arn],
        "detail": {"job": function},
    }


def run_job(name: str, say: Say = print) -> bool:
    """Run a scheduled function once through its real handler; a missing or failing one is a warning."""
    fn = function_by_name(name)
    if not fn.exists:
        say(f"  warning: {name}: {fn.handler_file.relative_to(ROOT)} does not exist yet; skipped")
        return False
    started = time.monotonic()
    try:
        result = fn.invoke(scheduler_event(name))
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        say(f"  warning: {name} failed: {type(exc).__name__}: {first_line}")
        return False
    summary = json.dumps(result, default=str)
    say(f"  {name}: done in {time.monotonic() - started:.1f}s  {summary[:160]}")
    return True


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers for a batch of messages."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {k: str(v) for k, v in (m.get("Attributes") or {}).items()},
        "messageAttributes": m.get("MessageAttributes") or {}, "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    } for m in messages]}


def drain_queue(function: str, queue_url: str, sandbox_url: str, *, max_batches: int = 1000,
                wait_s: int = 0, say: Say = print) -> int:
    """Deliver the queue's messages to ``function`` as the SQS event source mapping would (batches of
    10, partial batch failures honoured); returns the number of messages processed."""
    fn = function_by_name(function)
    if not fn.exists:
        return 0
    sqs = sandbox.client("sqs", sandbox_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    done = 0
    for _ in range(max_batches):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        try:
            result = fn.invoke(sqs_event(messages, queue_arn)) or {}
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            say(f"  warning: {function} failed on an SQS batch (it returns to the queue, as in AWS): "
                f"{type(exc).__name__}: {first_line}")
            break  # the messages become visible again after the visibility timeout, as in AWS
        failed = {f.get("itemIdentifier") for f in (result.get("batchItemFailures") or [])
                  if isinstance(result, dict)}
        ok = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(ok), 10):
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok[start:start + 10])])
        done += len(ok)
        if failed:
            say(f"  {function}: {len(failed)} message(s) reported as failed")
    return done
