"""``costopt apply``, ``costopt rollback`` and ``costopt history``: changes with a dry run, a confirmation
and an Idempotency-Key.

``apply`` reads the recommendation's etag, asks the API for a dry run and shows its plan (live config,
target, warnings) on stderr, asks for confirmation (``--yes`` skips it), then applies with a fresh
``Idempotency-Key`` (a retried 503 repeats the same key: the API makes one change at most). A 202 (an
EC2 resize, carried on by the actuation worker) is followed on ``GET /v1/config/history/{id}/{change}``
until it ends, unless ``--no-wait``. A change that ends FAILED or NEEDS_ATTENTION exits with 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from costopt_cli.client import EXIT_API, Client, CliError
from costopt_cli.common import (
    OutputOpt,
    ProfileOpt,
    TokenOpt,
    UrlOpt,
    YesOpt,
    app,
    confirm,
    connect,
    guarded,
    note,
    poll,
)
from costopt_cli.output import Column, Output, cell, console, emit, fields_table, table_of
from costopt_cli.recommend import find_recommendation

FINAL = frozenset({"SUCCEEDED", "FAILED", "NEEDS_ATTENTION", "PLANNED"})
CHANGE_COLUMNS = [Column("change_id", "change_id"), Column("type", "type"), Column("status", "status"),
                  Column("service_id", "service_id"), Column("recommendation_id", "recommendation_id"),
                  Column("resource_id", "resource_id"), Column("kind", "kind"), Column("before", "before"),
                  Column("after", "after"), Column("actor", "actor"), Column("created_at", "created_at"),
                  Column("completed_at", "completed_at")]
HISTORY_TABLE = [c for c in CHANGE_COLUMNS if c.header not in ("service_id", "before", "completed_at")]
STEP_COLUMNS = [Column("at", "at"), Column("step", "step"), Column("detail", "detail")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Do not follow a 202 until the change ends")]
WaitOpt = Annotated[float, typer.Option(help="Follow a 202 at most this many seconds")]


def show_plan(plan: Mapping[str, Any]) -> None:
    err = console(stderr=True)
    err.print(f"plan: {plan.get('type')} {plan.get('kind')} {plan.get('resource_id')} of {plan.get('service_id')} "
              f"(recommendation {plan.get('recommendation_id')})", markup=False, highlight=False)
    err.print(f"  before: {cell(plan.get('before'))}", markup=False, highlight=False)
    err.print(f"  after:  {cell(plan.get('after'))}", markup=False, highlight=False)
    for warning in plan.get("warnings") or []:
        err.print(f"  warning: {warning}", markup=False, highlight=False)


def follow(client: Client, result: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Poll the change of a 202 until it ends (or ``timeout_s``); the change as last read."""
    path = f"/v1/config/history/{result['service_id']}/{result['change_id']}"
    err = console(stderr=True)
    with err.status(f"{result['type'].lower()} {result['change_id']}: in progress") as status:
        def update(change: Mapping[str, Any]) -> None:
            steps = change.get("steps") or []
            status.update(f"{change.get('status')}: {steps[-1]['step'] if steps else 'waiting for the worker'}")

        change = dict(poll(lambda: client.get(path), lambda c: c.get("status") in FINAL, timeout_s=timeout_s,
                           on_update=update))
    if change.get("status") not in FINAL:
        note(f"still {change.get('status')} after {timeout_s:.0f} s: `costopt history {result['service_id']} "
             f"{result['change_id']}` shows its progress")
    return change


def show_change(output: Output, change: dict[str, Any]) -> None:
    if output is not Output.table:
        emit(output, change, rows=[change], columns=CHANGE_COLUMNS)
        return
    out = console()
    summary = {k: v for k, v in change.items() if k != "steps"}
    out.print(fields_table(summary, title=f"change {change.get('change_id')}"))
    if change.get("steps"):
        out.print(table_of(change["steps"], STEP_COLUMNS, title="steps"))


def finish(client: Client, reply_status: int, result: dict[str, Any], no_wait: bool, wait_timeout: float,
           output: Output) -> None:
    if reply_status == 202 and not no_wait:
        result = follow(client, result, wait_timeout)
    show_change(output, result)
    if result.get("status") in ("FAILED", "NEEDS_ATTENTION"):
        raise CliError(f"the change {result.get('change_id')} ended {result['status']}: {result.get('error') or ''}",
                       EXIT_API)


@app.command()
@guarded
def apply(
    service_id: str, recommendation_id: str, yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only the plan: change nothing")] = False,
    force: Annotated[bool, typer.Option(help="Apply although an SLA clause fails (needs --reason)")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded on the change)")] = None,
    no_wait: NoWaitOpt = False, wait_timeout: WaitOpt = 600.0,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Apply a recommendation: a dry run first, then (confirmed) the change itself."""
    with connect(url, token, profile) as client:
        current = find_recommendation(client, service_id, recommendation_id)
        body: dict[str, Any] = {"service_id": service_id, "recommendation_id": recommendation_id,
                                "etag": current["etag"], "force": force}
        if reason:
            body["reason"] = reason
        plan = client.post("/v1/config/apply", {**body, "dry_run": True}, retry=True).body
        if dry_run:
            emit(output, plan, rows=None if output is Output.table else [plan], columns=CHANGE_COLUMNS[1:])
            return
        show_plan(plan)
        confirm(f"apply {recommendation_id} to {service_id}?", yes)
        reply = client.post("/v1/config/apply", body, headers={"Idempotency-Key": str(uuid.uuid4())})
        note(f"{service_id}: {reply.body.get('type')} {reply.body.get('change_id')} {reply.body.get('status')}")
        finish(client, reply.status, reply.body, no_wait, wait_timeout, output)


@app.command()
@guarded
def rollback(
    service_id: str, recommendation_id: str, yes: YesOpt = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded on the change)")] = None,
    no_wait: NoWaitOpt = False, wait_timeout: WaitOpt = 600.0,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Roll an applied recommendation back to the config it replaced."""
    confirm(f"roll {recommendation_id} of {service_id} back?", yes)
    with connect(url, token, profile) as client:
        reply = client.post(f"/v1/config/rollback/{service_id}/{recommendation_id}",
                            {"reason": reason} if reason else None, headers={"Idempotency-Key": str(uuid.uuid4())})
        note(f"{service_id}: {reply.body.get('type')} {reply.body.get('change_id')} {reply.body.get('status')}")
        finish(client, reply.status, reply.body, no_wait, wait_timeout, output)


@app.command()
@guarded
def history(
    service_id: str,
    change_id: Annotated[str | None, typer.Argument(help="One change, with its steps")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many changes (default: all)")] = None,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """A service's change history, newest first (or one change with its steps)."""
    with connect(url, token, profile) as client:
        if change_id:
            show_change(output, client.get(f"/v1/config/history/{service_id}/{change_id}"))
            return
        items: list[dict[str, Any]] = []
        for item in client.pages(f"/v1/config/history/{service_id}", limit=min(limit or 100, 100)):
            items.append(item)
            if limit and len(items) >= limit:
                break
    emit(output, {"items": items}, rows=items, columns=HISTORY_TABLE if output is Output.table else CHANGE_COLUMNS,
         title=f"changes of {service_id}")
