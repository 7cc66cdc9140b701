"""``costopt recommend``, ``costopt recommendations`` and ``costopt dismiss``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costopt_cli.client import EXIT_API, Client, CliError
from costopt_cli.common import OutputOpt, ProfileOpt, TokenOpt, UrlOpt, app, connect, guarded, note
from costopt_cli.output import Column, Output, console, emit, fields_table, table_of

RECOMMENDATION_COLUMNS = [
    Column("service_id", "service_id"), Column("recommendation_id", "recommendation_id"),
    Column("resource_id", "resource_id"), Column("kind", "kind"), Column("action", "action"),
    Column("status", "status"), Column("monthly_cost_current_usd", "monthly_cost_current_usd"),
    Column("monthly_cost_proposed_usd", "monthly_cost_proposed_usd"),
    Column("monthly_savings_usd", "monthly_savings_usd"), Column("savings_pct", "savings_pct"),
    Column("performance_risk", "performance_risk"), Column("sla_compliant", "sla.compliant"),
    Column("priority", "priority"), Column("confidence", "confidence"), Column("disruptive", "disruptive"),
    Column("etag", "etag"),
]
TABLE_COLUMNS = [c for c in RECOMMENDATION_COLUMNS
                 if c.header not in ("service_id", "monthly_cost_current_usd", "monthly_cost_proposed_usd",
                                     "confidence", "etag")]
REJECTED_COLUMNS = [Column("resource_id", "resource_id"), Column("action", "action"), Column("proposed", "proposed"),
                    Column("monthly_savings_usd", "monthly_savings_usd"), Column("failed_clauses", "failed_clauses")]


def find_recommendation(client: Client, service_id: str, recommendation_id: str) -> dict[str, Any]:
    """The recommendation (with its current etag) from the service's list; not there is a 404-like error."""
    for item in client.pages(f"/v1/recommendations/{service_id}", limit=100):
        if item.get("recommendation_id") == recommendation_id:
            return item
    raise CliError(f"404 Not found: service {service_id!r} has no recommendation {recommendation_id!r}", EXIT_API,
                   [f"  `costopt recommendations {service_id}` lists them"])


@app.command()
@guarded
def recommend(
    service_id: str,
    lookback_days: Annotated[int | None, typer.Option(help="Days of history (default: the service's policy)")] = None,
    strategy: Annotated[str | None, typer.Option(help="Lambda memory strategy (default: the service's policy)")] = None,
    resource_id: Annotated[list[str] | None, typer.Option(
        "--resource-id", help="Only this resource (repeatable)")] = None,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Compute SLA-checked recommendations now (POST /v1/recommend; supersedes the ACTIVE ones)."""
    body: dict[str, Any] = {"service_id": service_id, "lookback_days": lookback_days, "strategy": strategy,
                            "resource_ids": resource_id or None}
    with connect(url, token, profile) as client:
        result = client.post("/v1/recommend", {k: v for k, v in body.items() if v is not None}, retry=True).body
    items = result.get("recommendations") or []
    if output is not Output.table:
        emit(output, result, rows=items, columns=RECOMMENDATION_COLUMNS)
        return
    out = console()
    summary = {k: result.get(k) for k in ("service_id", "generated_at", "strategy", "lookback_days",
                                          "data_coverage_pct", "current_monthly_cost_usd", "model_vs_bill_pct")}
    out.print(fields_table(summary, title=f"recommend {service_id}"))
    out.print(table_of(items, TABLE_COLUMNS, title=f"{len(items)} recommendation(s)"))
    if result.get("rejected"):
        out.print(table_of(result["rejected"], REJECTED_COLUMNS, title="rejected (an SLA clause fails)"))
    for gap in result.get("insufficient_data") or []:
        note(f"insufficient data: {gap}")
    for warning in result.get("warnings") or []:
        note(f"warning: {warning}")


@app.command()
@guarded
def recommendations(
    service_id: str,
    status: Annotated[str | None, typer.Option(help="Only this status: ACTIVE, DISMISSED, SUCCEEDED, ...")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. ebs_gp3, lambda_memory")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the recommendation ids, one a line")] = False,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """A service's recommendations, newest first (every page of GET /v1/recommendations/{id})."""
    with connect(url, token, profile) as client:
        items = list(client.pages(f"/v1/recommendations/{service_id}", limit=100, status=status))
    if action:
        items = [i for i in items if i.get("action") == action]
    if quiet:
        for item in items:
            typer.echo(item["recommendation_id"])
        return
    emit(output, {"items": items}, rows=items,
         columns=TABLE_COLUMNS if output is Output.table else RECOMMENDATION_COLUMNS,
         title=f"recommendations of {service_id}")


@app.command()
@guarded
def dismiss(
    service_id: str, recommendation_id: str,
    reason: Annotated[str | None, typer.Option(help="Why (recorded)")] = None,
    restore: Annotated[bool, typer.Option("--restore", help="Bring a DISMISSED recommendation back")] = False,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Dismiss a recommendation (or --restore a dismissed one); its current etag is read first."""
    with connect(url, token, profile) as client:
        current = find_recommendation(client, service_id, recommendation_id)
        body = {"etag": current["etag"], "reason": reason, "restore": restore}
        result = client.post(f"/v1/recommendations/{service_id}/{recommendation_id}/dismiss",
                             {k: v for k, v in body.items() if v is not None}, retry=False).body
    note(f"{recommendation_id}: {result.get('status')}")
    emit(output, result, rows=[result], columns=RECOMMENDATION_COLUMNS if output is Output.csv else TABLE_COLUMNS)
