"""Warm API latency through the local gateway + DynamoDB Local (DESIGN §10: GET p50 < 20 ms, p99 < 60 ms).

A fresh child process (``python -m bench.bench_api --child``) so the endpoints are exported before
costopt is imported, and nothing of this bench leaks into the others:

1. DynamoDB Local (``-inMemory``) on a free port, the moto AWS sandbox on another, tables from template.yaml;
2. the local gateway (JWT authorizer, template routes, the real handlers in process) in a thread;
3. ``SERVICES`` Lambda services (the demo checkout API) registered over HTTP (PUT), ``HISTORY_DAYS`` of
   synthetic telemetry pulled once through the pull_metrics handler, recommendations computed once (warm-up);
4. timed over real HTTP/1.1 with keep-alive and a dev token (local/auth.py): ``N_GET`` sequential
   ``GET /v1/services/{id}`` and ``GET /v1/recommendations/{id}``, ``N_RECOMMEND`` ``POST /v1/recommend``,
   cycling over the services; p50/p99 of wall time per request (client side: the whole round trip), and
   the CPU time of this Python process per request (client + gateway + handler; DynamoDB Local's JVM is
   not in it), which says more than wall time on a shared machine. The load average is reported too.

The child stops the gateway, the sandbox and DynamoDB Local before it exits (DynamoDB Local also dies with
it: PR_SET_PDEATHSIG); the parent kills the child if it overruns ``TIMEOUT_S``. Reported, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICES = 5
N_GET = 300
N_RECOMMEND = 100
WARMUP = 10
HISTORY_DAYS = 3  # 72 hours: past the 30-hour minimum, so POST /v1/recommend does the whole job
BUDGET_S = 105  # a timed loop stops early (and says how many it did) once the child has run this long
TIMEOUT_S = 140
RESULT_PREFIX = "BENCH_API_ROWS "

Row = tuple[str, float, str]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def _say(message: str) -> None:
    print(f"bench_api: {message}", file=sys.stderr, flush=True)


def _time(n: int, call: Callable[[int], int], deadline: float) -> tuple[list[float], dict[int, int], float]:
    """Wall ms per call, statuses, and CPU ms per call of this process (client + gateway + handler)."""
    times: list[float] = []
    statuses: dict[int, int] = {}
    cpu = time.process_time()
    for i in range(n):
        if i >= 20 and time.perf_counter() > deadline:
            break
        t = time.perf_counter()
        status = call(i)
        times.append((time.perf_counter() - t) * 1000.0)
        statuses[status] = statuses.get(status, 0) + 1
    return times, statuses, (time.process_time() - cpu) * 1000.0 / max(1, len(times))


def _child() -> list[Row]:
    sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT)]
    from local import env
    from local.ddb import DynamoDBLocal, find_jar, free_port, java_available

    if not java_available() or find_jar() is None:
        raise SystemExit("bench_api needs java and DynamoDB Local (`make setup`)")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    ddb_port, sandbox_port, api_port = free_port(), free_port(), free_port()
    sandbox_url = env.url(sandbox_port)
    ddb = DynamoDBLocal(ddb_port, in_memory=True)
    moto = server = None
    started = time.perf_counter()
    deadline = started + BUDGET_S
    try:
        ddb.start()
        from local import sandbox

        moto = sandbox.start_server(sandbox_port)
        env.configure(ddb.endpoint, sandbox_url)
        import boto3

        from local.tables import create_tables

        create_tables(boto3.client("dynamodb"))
        sandbox.create_messaging(sandbox_url)
        from local.auth import issue, load_or_create_keys
        from local.gateway import Gateway, make_server, serve_in_thread

        keys = load_or_create_keys()
        server = make_server(Gateway.from_template(keys, log=False), env.HOST, api_port)
        serve_in_thread(server)
        token = issue(keys, subject="bench", ttl_s=900)
        setup_s = time.perf_counter() - started
        _say(f"stack up in {setup_s:.1f} s")
        rows = _measure(api_port, token, sandbox_url, deadline)
        return [("setup: DynamoDB Local + sandbox + gateway", setup_s, "s"), *rows]
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if moto is not None:
            moto.stop()
        ddb.stop()


def _measure(api_port: int, token: str, sandbox_url: str, deadline: float) -> list[Row]:
    import http.client

    from local import demo, sandbox
    from local.seed import run_job

    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def request(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=auth)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, raw

    ids = [f"bench-api-{i}" for i in range(SERVICES)]
    for i, sid in enumerate(ids):
        spec = demo.demo_spec("checkout-api")
        spec["resources"][0]["function_name"] = f"{sid}-handler"
        spec["telemetry"]["synthetic"].update(history_days=HISTORY_DAYS, base_rps=4 + 2 * i)
        live = sandbox.create_service_resources(sandbox_url, sid, spec)
        status, raw = request("PUT", f"/v1/services/{sid}", demo.with_identities(spec, live))
        if status != 201:
            raise RuntimeError(f"PUT {sid}: {status} {raw[:300]!r}")
    _say(f"{SERVICES} services registered")
    t = time.perf_counter()
    if not run_job("pull_metrics", say=lambda _: None):
        raise RuntimeError("pull_metrics failed")
    pull_s = time.perf_counter() - t
    _say(f"pulled in {pull_s:.1f} s")
    for sid in ids:
        status, raw = request("POST", "/v1/recommend", {"service_id": sid})
        if status != 200 or not json.loads(raw)["recommendations"]:
            raise RuntimeError(f"POST /v1/recommend {sid}: {status} {raw[:300]!r}")
    for i in range(WARMUP):
        request("GET", f"/v1/services/{ids[i % SERVICES]}")
        request("GET", f"/v1/recommendations/{ids[i % SERVICES]}")

    rows: list[Row] = [(f"seed: pull_metrics handler, {SERVICES} services x {HISTORY_DAYS} days", pull_s, "s")]
    for name, n, call in (
        ("GET /v1/services/{id}", N_GET, lambda i: request("GET", f"/v1/services/{ids[i % SERVICES]}")[0]),
        ("GET /v1/recommendations/{id}", N_GET,
         lambda i: request("GET", f"/v1/recommendations/{ids[i % SERVICES]}")[0]),
        ("POST /v1/recommend", N_RECOMMEND,
         lambda i: request("POST", "/v1/recommend", {"service_id": ids[i % SERVICES]})[0]),
    ):
        times, statuses, cpu_ms = _time(n, call, deadline)
        done = len(times)
        _say(f"{name}: {done} in {sum(times) / 1000:.1f} s")
        if set(statuses) != {200}:
            raise RuntimeError(f"{name}: unexpected statuses {statuses}")
        cut = "" if done == n else f" of {n}: time budget"
        rows += [(f"{name} p50 (n={done}{cut})", percentile(times, 50), "ms"),
                 (f"{name} p99 (n={done}{cut})", percentile(times, 99), "ms"),
                 (f"{name} CPU per request, python side", cpu_ms, "ms")]
    conn.close()
    rows.append(("load average (1 min) after the run", os.getloadavg()[0], f"on {os.cpu_count()} cpus"))
    return rows


def main() -> list[Row]:
    """Run the bench in a fresh child process; its rows come back as one JSON line on stdout."""
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.bench_api", "--child"], cwd=ROOT, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [("bench_api did not finish (killed)", float(TIMEOUT_S), "s")]
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return [(str(n), float(v), str(u)) for n, v, u in json.loads(line[len(RESULT_PREFIX):])]
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
    raise RuntimeError(f"bench_api child failed (exit {proc.returncode})")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        print(RESULT_PREFIX + json.dumps(_child()), flush=True)
    else:
        for row in main():
            print(f"{row[0]:<60} {row[1]:>10.2f} {row[2]}")
