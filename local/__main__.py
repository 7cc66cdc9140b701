"""python -m local run | token | invoke | seed  (see DESIGN §8 and README "Local stack")."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from local import env
from local.template import ROOT

if TYPE_CHECKING:
    from local.stack import StackState


def _err(message: str) -> None:
    print(message, file=sys.stderr)


class Target(NamedTuple):
    """The endpoints a subcommand talks to, and the running stack they belong to (if known)."""

    dynamodb_url: str
    sandbox_url: str
    stack: StackState | None


def _target() -> Target | None:
    """The endpoints of the running stack, or None after telling the user why there are none.

    COSTOPT_DDB_PORT and COSTOPT_SANDBOX_PORT, both set, name the endpoints. Otherwise the stack comes
    from the records in .local/stacks/: the one on COSTOPT_PORT when that is set (none running there is
    an error), else the one stack running (several: an error that names them), else the default ports;
    a port set in one of the two variables overrides that stack's. Which stack was chosen is said on
    stderr (stdout stays the handler's JSON).
    """
    from local.stack import running_stacks, state_dir

    ddb_port, sandbox_port = env.port_from_env("COSTOPT_DDB_PORT"), env.port_from_env("COSTOPT_SANDBOX_PORT")
    api_port = env.port_from_env("COSTOPT_PORT")
    live = running_stacks(_err)
    explicit = ddb_port is not None and sandbox_port is not None
    stack = None
    if explicit:  # the endpoints are named: a stack is only said to be used when they are its own
        named = (env.url(ddb_port or 0), env.url(sandbox_port or 0))
        stack = next((s for s in live if (s.dynamodb_url, s.sandbox_url) == named), None)
    elif api_port is not None:
        stack = next((s for s in live if s.api_port == api_port), None)
        if stack is None:
            others = "; running: " + ", ".join(s.api_url for s in live) if live else ""
            _err(f"error: no stack with its API on port {api_port} (COSTOPT_PORT) is running{others}. "
                 "Run `make run` in another terminal first (with the same COSTOPT_* ports).")
            return None
    elif len(live) > 1:
        _err("error: several stacks are running: " + "; ".join(s.describe() for s in live)
             + ". Set COSTOPT_PORT to the API port of the one to use.")
        return None
    elif len(live) == 1:
        stack = live[0]
    ddb_url = env.url(ddb_port) if ddb_port else stack.dynamodb_url if stack else env.url(env.DEFAULT_DDB_PORT)
    sandbox_url = (env.url(sandbox_port) if sandbox_port else stack.sandbox_url if stack
                   else env.url(env.DEFAULT_SANDBOX_PORT))
    if stack is not None:
        _err(f"using {stack.describe()}")
    elif not explicit:
        _err(f"no running stack recorded in {env.shown(state_dir())}/; trying DynamoDB on {ddb_url} and the "
             f"sandbox on {sandbox_url}")
    return _check_up(Target(ddb_url, sandbox_url, stack), ddb_fallback=stack is None and ddb_port is None)


def _check_up(target: Target, *, ddb_fallback: bool) -> Target | None:
    """``target`` when its endpoints answer (``ddb_fallback``: DynamoDB may be the sandbox's, as
    without Java), else None after telling the user."""
    from local.ddb import is_healthy, port_open

    ddb_url, sandbox_url = target.dynamodb_url, target.sandbox_url
    sandbox_up = port_open(int(urlsplit(sandbox_url).port or 0))
    problems = []
    if not is_healthy(ddb_url):
        if ddb_fallback and sandbox_up and is_healthy(sandbox_url):
            ddb_url = sandbox_url  # without java, `make run` serves DynamoDB from the sandbox
        else:
            problems.append(f"DynamoDB on {ddb_url}")
    if not sandbox_up:
        problems.append(f"the AWS sandbox on {sandbox_url}")
    if problems:
        _err(f"error: {' and '.join(problems)} not answering. Run `make run` in another terminal first "
             "(it starts both and keeps them running).")
        return None
    return target._replace(dynamodb_url=ddb_url)


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
    target = _target()
    if target is None:
        return 1
    env.configure(target.dynamodb_url, target.sandbox_url)
    result = fn.invoke(event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from local.stack import events_dir

    target = _target()
    if target is None:
        return 1
    env.configure(target.dynamodb_url, target.sandbox_url)
    from local.seed import seed_demo_services, write_sample_events

    outcome = seed_demo_services(target.sandbox_url)
    where = ROOT / target.stack.events_dir if target.stack else events_dir(env.api_port())
    written = write_sample_events(where)
    if written:
        print(f"sample events with the demo's ids in {env.shown(where)}/: {', '.join(sorted(written))}")
    return 0 if all(not v.endswith("failed") and "failed:" not in v for v in outcome.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local", description="costopt's local stack (no AWS, no Docker)",
        epilog="invoke and seed find the running stack in .local/stacks/ (COSTOPT_PORT chooses one when several "
               "run; COSTOPT_DDB_PORT / COSTOPT_SANDBOX_PORT name endpoints directly).")
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
    p_invoke.add_argument("event", help="event JSON file (e.g. events/services-get.json) or - for stdin")
    p_invoke.set_defaults(func=cmd_invoke)
    p_seed = sub.add_parser("seed", help="(re)create the demo services in the running stack and rewrite the "
                                         "sample events with their ids (.local/events/)")
    p_seed.set_defaults(func=cmd_seed)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
