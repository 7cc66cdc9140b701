"""Seed the demo services through the REAL services handler (HttpApi v2 events), create their live
resources in the sandbox, run the scheduled jobs once through their real handlers, and write the
sample events whose ids must exist (apply, rollback, dismiss, get simulation) with ids of the demo
data (``write_sample_events``).

Import this only after ``local.env.configure()``: the handlers import costopt, which reads the
environment at import time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local import demo, sandbox
from local.events import http_event
from local.functions import function_by_name
from local.routes import load_routes, select_route
from local.template import ROOT, load_template

SEED_SUBJECT = "costopt/local-seed"
Say = Callable[[str], None]


def api_call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request to the handler of ``method path`` (the route of template.yaml), as the seed's
    caller with every scope; returns (status, parsed JSON body or None)."""
    found = select_route(load_routes(), method, path)
    if found is None:
        raise LookupError(f"no route for {method} {path} in template.yaml")
    route, params = found
    event = http_event(method, path, body=body, query=query, claims={"sub": SEED_SUBJECT},
                       route_key=route.route_key, path_parameters=params or None)
    resp = route.function.invoke(event)
    raw = resp.get("body")
    return int(resp["statusCode"]), (json.loads(raw) if raw else None)


def seed_demo_services(sandbox_url: str, say: Say = print) -> dict[str, str]:
    """Create every demo service (and the scratch service) that does not exist yet (PUT), with live
    resources in the sandbox.

    An existing service keeps its configs (an earlier apply is not undone); the sandbox, which
    lives in memory, is rebuilt from those configs, and the service is updated only when the ids
    of its live resources changed (a new sandbox gives new EC2/EBS ids). Returns id -> outcome.
    """
    outcome = {}
    for service_id in demo.SEEDED_SERVICES:
        path = f"/v1/services/{service_id}"
        status, current = api_call("GET", path)
        if status == 200:
            live = sandbox.create_service_resources(sandbox_url, service_id, current)
            if demo.identities_of(demo.with_identities(current, live)) == demo.identities_of(current):
                outcome[service_id] = "exists"
                continue
            status, body = api_call("PUT", path, demo.put_body(demo.with_identities(current, live)))
            outcome[service_id] = "updated live resource ids" if status == 200 else f"update failed: {status} {body}"
            continue
        if status != 404:
            outcome[service_id] = f"GET failed: {status} {current}"
            continue
        spec = demo.demo_spec(service_id)
        live = sandbox.create_service_resources(sandbox_url, service_id, spec)
        status, body = api_call("PUT", path, demo.with_identities(spec, live))
        outcome[service_id] = "created" if status == 201 else f"create failed: {status} {body}"
    for service_id, result in outcome.items():
        say(f"  {service_id:<18} {result}")
    return outcome


def discover_estate(found: Any, say: Say = print) -> dict[str, Any] | None:
    """Discover the estate of ``local.estate`` through the real discover handler (POST /v1/discover), which
    registers its services from the live configs in the member accounts and backfills their history.

    Services discovered by an earlier run are deleted first: the sandbox lives in memory, so its resources
    (and their ids) are new on every run. Returns the DiscoverReport, or None when discovery failed."""
    from local import estate

    for service_id in estate.SERVICES:
        status, current = api_call("GET", f"/v1/services/{service_id}")
        if status == 200 and (current or {}).get("discovery"):
            api_call("DELETE", f"/v1/services/{service_id}")
    started = time.monotonic()
    status, report = api_call("POST", "/v1/discover", found.discover_body())
    if status != 200:
        say(f"  warning: POST /v1/discover answered {status}: {json.dumps(report)[:300]}")
        return None
    for a in report["accounts"]:
        say(f"  account {a['account_id']} {a['region']}: {a['status']}, {a['resources']} resources"
            + (f" ({a['error']})" if a.get("error") else ""))
    progress = {p["service_id"]: p for p in report.get("backfill", [])}
    days = found.discover_body()["lookback_days"]
    for plan in report["services"]:
        p = progress.get(plan["service_id"], {})
        say(f"  {plan['service_id']:<18} {plan['action']}: {len(plan['resources'])} resources; history "
            f"{p.get('state', 'not pulled')} ({p.get('percent', 0):.0f}% of {days} days)")
    say(f"  discovered in {time.monotonic() - started:.1f}s")
    return dict(report)


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
    from costopt import clock  # after local.env.configure(), like every costopt import here

    now = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
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


# ---------------------------------------------------------------- sample events with real ids

EVENTS_DIR = ROOT / "events"
# Where the apply/rollback events look for a recommendation, in order: checkout-api's Lambda memory
# change applies and rolls back at once; EBS (6 h cooldown before a rollback) and EC2 come last.
APPLY_CANDIDATES = ("checkout-api", "sessions-store", "recommender-k8s", "orders-service", "nightly-batch")
DISMISS_SERVICE = "orders-service"  # preferred; never the service apply-post.json changes
ID_EVENTS = ("apply-dry-run.json", "apply-post.json", "rollback-post.json", "recommend-dismiss.json",
             "simulate-get.json")


def sample_event(name: str, path: str, path_parameters: dict[str, str] | None = None,
                 body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """events/<name> aimed at ``path``: same shape, path parameters replaced, ``body`` merged into its
    body (content-length kept right) and ``headers`` set."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        event["body"] = json.dumps({**json.loads(event["body"]), **body}, separators=(",", ":"))
        event["headers"]["content-length"] = str(len(event["body"].encode()))
    event["headers"].update(headers or {})
    return event


def active_recommendations(service_id: str) -> list[dict[str, Any]]:
    """The ACTIVE recommendations of ``service_id``, best-ranked first."""
    status, page = api_call("GET", f"/v1/recommendations/{service_id}", query={"status": "ACTIVE", "limit": "100"})
    items = page.get("items", []) if status == 200 and isinstance(page, dict) else []
    return sorted(items, key=lambda r: r["rank"])


def _ids(rec: dict[str, Any]) -> dict[str, str]:
    return {"service_id": rec["service_id"], "recommendation_id": rec["recommendation_id"], "etag": rec["etag"]}


def appliable_recommendation(say: Say = print) -> dict[str, Any] | None:
    """The first ACTIVE, non-disruptive recommendation of APPLY_CANDIDATES whose apply dry run
    succeeds with no rollback cooldown: one the apply and rollback events can really apply and undo.
    A candidate service without ACTIVE recommendations gets a POST /v1/recommend first."""
    for service_id in APPLY_CANDIDATES:
        recs = active_recommendations(service_id)
        if not recs and api_call("POST", "/v1/recommend", {"service_id": service_id})[0] == 200:
            recs = active_recommendations(service_id)
        for rec in recs:
            if rec.get("disruptive"):
                continue
            status, plan = api_call("POST", "/v1/config/apply", {**_ids(rec), "dry_run": True})
            if status == 200 and isinstance(plan, dict) and not plan.get("rollback_not_before"):
                return rec
    say("  no recommendation to apply and roll back: apply-*.json and rollback-post.json not written "
        "(recommendations come from the jobs: `make run` without --no-jobs)")
    return None


def write_sample_events(events_dir: Path, say: Say = print) -> dict[str, Path]:
    """Write the id-bearing sample events (``ID_EVENTS``) with ids of the demo data to ``events_dir``:

    - apply-dry-run.json, apply-post.json: a recommendation that applies and rolls back at once
      (``appliable_recommendation``; on fresh demo data checkout-api's Lambda memory change);
    - rollback-post.json: the same recommendation, so it rolls back what apply-post.json applied
      (invoke apply-post.json first: only an applied recommendation can be rolled back);
    - recommend-dismiss.json: the top ACTIVE recommendation of orders-service (or of another service
      than the applied one);
    - simulate-get.json: a simulation run now (the body of events/simulate-post.json).

    Recommendations exist once the jobs ran (recompute); an event that cannot be made is left out
    (and an older copy removed, so no stale id stays behind). Returns file name -> path written.
    """
    events: dict[str, dict[str, Any]] = {}
    rec = appliable_recommendation(say)
    if rec is not None:
        ids = _ids(rec)
        sid, rid = ids["service_id"], ids["recommendation_id"]
        events["apply-dry-run.json"] = sample_event("apply-dry-run.json", "/v1/config/apply",
                                                    body={**ids, "dry_run": True},
                                                    headers={"idempotency-key": f"dry-run-{sid}-{rid}"})
        events["apply-post.json"] = sample_event("apply-post.json", "/v1/config/apply", body=ids,
                                                 headers={"idempotency-key": f"apply-{sid}-{rid}"})
        events["rollback-post.json"] = sample_event(
            "rollback-post.json", f"/v1/config/rollback/{sid}/{rid}", {"service_id": sid, "recommendation_id": rid},
            headers={"idempotency-key": f"rollback-{sid}-{rid}"})
    applied = rec["service_id"] if rec else None
    others = [DISMISS_SERVICE, *(s for s in demo.DEMO_SERVICES if s != DISMISS_SERVICE)]
    dismiss = next((r for s in others if s != applied for r in active_recommendations(s)[:1]), None)
    if dismiss is not None:
        sid, rid = dismiss["service_id"], dismiss["recommendation_id"]
        events["recommend-dismiss.json"] = sample_event(
            "recommend-dismiss.json", f"/v1/recommendations/{sid}/{rid}/dismiss",
            {"service_id": sid, "recommendation_id": rid}, body={"etag": dismiss["etag"]})
    scenario = json.loads(json.loads((EVENTS_DIR / "simulate-post.json").read_text())["body"])
    status, result = api_call("POST", "/v1/simulate", scenario)
    if status in (200, 201) and isinstance(result, dict) and result.get("simulation_id"):
        sim = str(result["simulation_id"])
        events["simulate-get.json"] = sample_event("simulate-get.json", f"/v1/simulate/{sim}", {"simulation_id": sim})
    else:
        say(f"  simulation of {scenario['service_id']}: {status} {(result or {}).get('detail', result)}")
    events_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in ID_EVENTS:
        path = events_dir / name
        if name in events:
            path.write_text(json.dumps(events[name], indent=2) + "\n")
            written[name] = path
        else:
            path.unlink(missing_ok=True)
    if rec is not None:
        say(f"  apply-post.json / rollback-post.json: {rec['service_id']} {rec['action']} {rec['recommendation_id']}")
    return written
