"""``costopt discover`` (find live resources and register them as services) and ``costopt pull``.

``discover`` sends one selector (``--tag-key`` [``--tag-value`` ...], ``--stack`` or ``--ecs-cluster``) to
``POST /v1/discover`` and shows the plan (``--dry-run``) or what it did. Discovery backfills each new
service's history within the call; a backfill the call left ``in_progress`` is then followed on
``GET /v1/services/{id}/pull`` with a progress bar per service (``--no-wait`` skips that).
``pull`` pulls one service's history now and follows it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from costopt_cli.client import EXIT_USAGE, Client, CliError
from costopt_cli.common import OutputOpt, ProfileOpt, TokenOpt, UrlOpt, app, connect, guarded, note, poll, progress
from costopt_cli.output import Column, Output, console, emit, table_of

PLAN_COLUMNS = [Column("service_id", "service_id"), Column("action", "action"), Column("group_value", "group_value"),
                Column("resources", "resource_count"), Column("added", "added"), Column("vanished", "vanished"),
                Column("drift", "drift_count"), Column("version", "version")]
ACCOUNT_COLUMNS = [Column("account_id", "account_id"), Column("region", "region"), Column("status", "status"),
                   Column("resources", "resources"), Column("error", "error")]
PULL_COLUMNS = [Column("service_id", "service_id"), Column("state", "state"), Column("percent", "percent"),
                Column("window_start", "window_start"), Column("window_end", "window_end"),
                Column("telemetry_reached", "telemetry_reached"), Column("billing_reached", "billing_reached"),
                Column("detail", "detail")]
WaitOpt = Annotated[float, typer.Option(help="Follow an unfinished pull at most this many seconds")]


def selector_of(tag_key: str | None, tag_value: list[str] | None, stack: str | None,
                ecs_cluster: str | None) -> dict[str, Any]:
    chosen = [name for name, value in (("--tag-key", tag_key), ("--stack", stack), ("--ecs-cluster", ecs_cluster))
              if value]
    if len(chosen) != 1:
        raise CliError("give exactly one selector: --tag-key (with --tag-value ...), --stack or --ecs-cluster"
                       + (f" (not {' and '.join(chosen)})" if chosen else ""), EXIT_USAGE)
    if tag_value and not tag_key:
        raise CliError("--tag-value goes with --tag-key", EXIT_USAGE)
    if tag_key:
        return {"type": "tag", "tag_key": tag_key, **({"tag_values": tag_value} if tag_value else {})}
    if stack:
        return {"type": "cloudformation_stack", "stack_name": stack}
    return {"type": "ecs_cluster", "cluster": ecs_cluster}


def follow_pulls(client: Client, pulls: list[Mapping[str, Any]], timeout_s: float) -> list[dict[str, Any]]:
    """Each pull still in progress, polled with a progress bar until it is done or failed."""
    final: list[dict[str, Any]] = []
    with progress(transient=False) as bar:
        for pull in pulls:
            sid = str(pull["service_id"])
            task = bar.add_task(f"history of {sid}", total=100, completed=round(float(pull.get("percent") or 0)))

            def update(state: Mapping[str, Any], task: TaskID = task) -> None:
                bar.update(task, completed=float(state.get("percent") or 0))

            def read(sid: str = sid) -> Mapping[str, Any]:
                answer: Mapping[str, Any] = client.get(f"/v1/services/{sid}/pull")
                return answer

            state = pull if pull.get("state") != "in_progress" else poll(
                read, lambda s: s.get("state") != "in_progress", timeout_s=timeout_s, interval_s=3.0,
                on_update=update)
            final.append(dict(state))
    return final


@app.command()
@guarded
def discover(
    tag_key: Annotated[str | None, typer.Option(help="Resources carrying this tag")] = None,
    tag_value: Annotated[list[str] | None, typer.Option(help="... with this value (repeatable)")] = None,
    stack: Annotated[str | None, typer.Option(help="The resources of this CloudFormation stack")] = None,
    ecs_cluster: Annotated[str | None, typer.Option(help="Every service of this ECS cluster")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Member account to look in (repeatable)")] = None,
    region: Annotated[list[str] | None, typer.Option(help="Region to look in (repeatable)")] = None,
    group_by: Annotated[str | None, typer.Option(help="Tag key naming the service (default costopt:service)")] = None,
    team: Annotated[str | None, typer.Option(help="Team of the services created")] = None,
    lookback_days: Annotated[int | None, typer.Option(help="History to backfill for new services")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only the plan: register nothing")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not follow unfinished backfills")] = False,
    wait_timeout: WaitOpt = 600.0,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Find live resources and register them as services, one per group_by tag value."""
    body: dict[str, Any] = {"selector": selector_of(tag_key, tag_value, stack, ecs_cluster), "dry_run": dry_run,
                            "accounts": account or None, "regions": region or None, "group_by": group_by,
                            "team": team, "lookback_days": lookback_days}
    with connect(url, token, profile) as client:
        with progress() as bar:
            bar.add_task("discovering" + (" (dry run)" if dry_run else ""), total=None)
            report = client.post("/v1/discover", {k: v for k, v in body.items() if v is not None},
                                 retry=dry_run).body
        unfinished = [p for p in report.get("backfill") or [] if p.get("state") == "in_progress"]
        if unfinished and not no_wait:
            for state in follow_pulls(client, unfinished, wait_timeout):
                note(f"history of {state['service_id']}: {state.get('state')} ({state.get('percent')}%)")
    plans = [{**p, "resource_count": len(p.get("resources") or []), "drift_count": len(p.get("drift") or [])}
             for p in report.get("services") or []]
    for skipped in report.get("skipped") or []:
        note(f"skipped: {skipped}")
    if output is not Output.table:
        emit(output, report, rows=plans, columns=PLAN_COLUMNS)
        return
    out = console()
    out.print(table_of(plans, PLAN_COLUMNS, title="plan" if report.get("dry_run") else "services"))
    out.print(table_of(report.get("accounts") or [], ACCOUNT_COLUMNS, title="accounts"))
    if report.get("backfill"):
        out.print(table_of(report["backfill"], PULL_COLUMNS, title="backfill"))


@app.command()
@guarded
def pull(
    service_id: str,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not follow an unfinished pull")] = False,
    wait_timeout: WaitOpt = 600.0,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Pull the service's history now (POST /v1/services/{id}/pull); a 202 is followed until done."""
    with connect(url, token, profile) as client:
        state = client.post(f"/v1/services/{service_id}/pull", None, retry=True).body
        if state.get("state") == "in_progress" and not no_wait:
            (state,) = follow_pulls(client, [state], wait_timeout)
    emit(output, state, rows=[state], columns=PULL_COLUMNS, title=f"pull of {service_id}")
    if state.get("state") == "failed":
        raise CliError(f"the pull of {service_id} failed: {state.get('detail') or ''}", 1)
