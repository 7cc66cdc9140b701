"""python -m local run | token | invoke | seed  (see DESIGN §8 and README "Local stack")."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local import env


def _endpoints_up() -> tuple[str, str] | None:
    """(dynamodb_url, sandbox_url) of a running `make run`, or None after telling the user."""
    from local.ddb import is_healthy, port_open

    ddb_url, sandbox_url = env.url(env.ddb_port()), env.url(env.sandbox_port())
    problems = []
    if not is_healthy(ddb_url):
        # without java, `make run` serves DynamoDB from the sandbox
        if port_open(env.sandbox_port()) and is_healthy(sandbox_url):
            ddb_url = sandbox_url
        else:
            problems.append(f"DynamoDB on {ddb_url}")
    if not port_open(env.sandbox_port()):
        problems.append(f"the AWS sandbox on {sandbox_url}")
    if problems:
        print(f"error: {' and '.join(problems)} not answering. Run `make run` in another terminal first "
              "(it starts both and keeps them running).", file=sys.stderr)
        return None
    return ddb_url, sandbox_url


def cmd_run(args: argparse.Namespace) -> int:
    from local.stack import run

    return run(seed=not args.no_seed, jobs=not args.no_jobs)


def cmd_token(args: argparse.Namespace) -> int:
    from local.auth import issue, load_or_create_keys

    scopes = None if args.scopes is None else [s.strip() for s in args.scopes.split(",") if s.strip()]
    print(issue(load_or_create_keys(), scopes=scopes, subject=args.sub, ttl_s=args.ttl_hours * 3600))
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from local.functions import function_by_name

    fn = function_by_name(args.function)
    if not fn.exists:
        print(f"error: no function {args.function!r} ({fn.handler_file} does not exist)", file=sys.stderr)
        return 2
    raw = sys.stdin.read() if args.event == "-" else Path(args.event).read_text()
    try:
        event = json.loads(raw)
    except ValueError as exc:
        print(f"error: {args.event} is not JSON: {exc}", file=sys.stderr)
        return 2
    endpoints = _endpoints_up()
    if endpoints is None:
        return 1
    env.configure(*endpoints)
    result = fn.invoke(event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    endpoints = _endpoints_up()
    if endpoints is None:
        return 1
    env.configure(*endpoints)
    from local.seed import seed_demo_services

    outcome = seed_demo_services(endpoints[1])
    return 0 if all(not v.endswith("failed") and "failed:" not in v for v in outcome.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description="costopt's local stack (no AWS, no Docker)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="DynamoDB Local + AWS sandbox + demo data + the API on 127.0.0.1:3000")
    p_run.add_argument("--no-seed", action="store_true", help="do not create the demo services")
    p_run.add_argument("--no-jobs", action="store_true", help="do not run pull_metrics/recompute at start")
    p_run.set_defaults(func=cmd_run)
    p_token = sub.add_parser("token", help="print a dev bearer token (last line)")
    p_token.add_argument("--scopes", help="comma-separated, e.g. costopt/read,costopt/write (default: all)")
    p_token.add_argument("--sub", default="developer", help="the token's subject (recorded as actor)")
    p_token.add_argument("--ttl-hours", type=float, default=12.0)
    p_token.set_defaults(func=cmd_token)
    p_invoke = sub.add_parser("invoke", help="run one handler in process against the running stack")
    p_invoke.add_argument("function", help="functions/<name>, e.g. services or pull_metrics")
    p_invoke.add_argument("event", help="event JSON file (e.g. events/get_service.json) or - for stdin")
    p_invoke.set_defaults(func=cmd_invoke)
    p_seed = sub.add_parser("seed", help="(re)create the demo services in the running stack")
    p_seed.set_defaults(func=cmd_seed)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
