"""``costopt login``, ``costopt services list|get|put|delete`` and ``costopt budget``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from costopt_cli.client import EXIT_USAGE, ApiError, Client, CliError
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
    read_json_file,
    services_app,
)
from costopt_cli.config import DEFAULT_PROFILE, Profile, config_path, normalize_url, resolve, save_profile
from costopt_cli.output import Column, Output, columns_of, console, emit, fields_table, table_of

SERVICE_COLUMNS = [Column("service_id", "service_id"), Column("name", "name"), Column("team", "team"),
                   Column("region", "region"), Column("resources", "resource_count"), Column("version", "version"),
                   Column("health", "health"), Column("last_data_at", "last_data_at")]
RESOURCE_COLUMNS = [Column("resource_id", "resource_id"), Column("kind", "kind"), Column("config", "config")]
THRESHOLD_COLUMNS = [Column("type", "type"), Column("threshold", "threshold"), Column("kind", "kind"),
                     Column("threshold_usd", "threshold_usd"), Column("crossed", "crossed"),
                     Column("crossed_at", "crossed_at")]
READ_ONLY = ("service_id", "created_at", "updated_at")  # fields a GET answers and a PUT refuses


@app.command()
@guarded
def login(url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
          ) -> None:
    """Check a token against the API and save it (with the URL) as a profile for later commands."""
    chosen_url = normalize_url(url or os.environ.get("COSTOPT_URL") or resolve(os.environ).url)
    chosen_token = token or os.environ.get("COSTOPT_TOKEN") or typer.prompt("token", hide_input=True, err=True)
    name = profile or os.environ.get("COSTOPT_PROFILE") or DEFAULT_PROFILE
    client = Client(chosen_url, chosen_token)
    try:
        client.get("/v1/metrics/services", limit=1)
    except ApiError as exc:
        raise CliError(f"not saved: {exc.message}", exc.exit_code, exc.lines) from exc
    finally:
        client.close()
    path = config_path(os.environ)
    save_profile(path, name, Profile(url=chosen_url, token=chosen_token))
    document = {"profile": name, "url": chosen_url, "config": str(path)}
    if output is Output.table:
        note(f"logged in: profile {name!r} -> {chosen_url} (saved in {path})")
    else:
        emit(output, document)


@services_app.command("list")
@guarded
def list_services(team: Annotated[str | None, typer.Option(help="Only this team's services")] = None,
                  url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None,
                  output: OutputOpt = Output.table) -> None:
    """Every registered service with its health (GET /v1/metrics/services, all pages)."""
    with connect(url, token, profile) as client:
        items = list(client.pages("/v1/metrics/services", limit=100, team=team))
    emit(output, {"items": items}, rows=items, columns=SERVICE_COLUMNS, title="services")


@services_app.command("get")
@guarded
def get_service(service_id: str, url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None,
                output: OutputOpt = Output.table) -> None:
    """One service as stored (GET /v1/services/{id}); `-o json` gives a file `services put -f` takes back."""
    with connect(url, token, profile) as client:
        service = client.get(f"/v1/services/{service_id}")
    show_service(output, service)


def show_service(output: Output, service: dict[str, Any]) -> None:
    if output is not Output.table:
        emit(output, service)
        return
    out = console()
    out.print(fields_table({k: v for k, v in service.items() if k != "resources"}, title=service.get("service_id")))
    out.print(table_of(service.get("resources") or [], RESOURCE_COLUMNS, title="resources"))


@services_app.command("put")
@guarded
def put_service(
    file: Annotated[Path, typer.Option("--file", "-f", help="The service as JSON ('-': stdin)", show_default=False)],
    service_id: Annotated[str | None, typer.Argument(help="Default: the file's service_id")] = None,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Create a service (no `version` in the file) or replace it (`version` = the one you read)."""
    document = read_json_file(file)
    if not isinstance(document, dict):
        raise CliError(f"{file} must hold a JSON object (the service)", EXIT_USAGE)
    chosen = service_id or document.get("service_id")
    if not chosen:
        raise CliError("which service? give SERVICE_ID or a service_id in the file", EXIT_USAGE)
    body = {k: v for k, v in document.items() if k not in READ_ONLY}
    with connect(url, token, profile) as client:
        reply = client.request("PUT", f"/v1/services/{chosen}", body=body, retry=False)
    note(f"{chosen}: {'created' if reply.status == 201 else 'replaced'}, version {reply.body.get('version')}")
    show_service(output, reply.body)


@services_app.command("delete")
@guarded
def delete_service(service_id: str,
                   version: Annotated[int | None, typer.Option(help="Delete only at this version")] = None,
                   yes: YesOpt = False, url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None,
                   output: OutputOpt = Output.table) -> None:
    """Delete a service (DELETE /v1/services/{id})."""
    confirm(f"delete service {service_id}?", yes)
    with connect(url, token, profile) as client:
        client.request("DELETE", f"/v1/services/{service_id}", params={"version": version}, retry=False)
    if output is Output.table:
        note(f"{service_id}: deleted")
    else:
        emit(output, {"service_id": service_id, "deleted": True})


@app.command()
@guarded
def budget(service_id: str, url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None,
           output: OutputOpt = Output.table) -> None:
    """Month-to-date spend, forecast and the thresholds crossed (GET /v1/services/{id}/budget)."""
    with connect(url, token, profile) as client:
        report = client.get(f"/v1/services/{service_id}/budget")
    if output is not Output.table:
        emit(output, report)
        return
    out = console()
    summary = {k: v for k, v in report.items() if k not in ("thresholds", "adjustments")}
    out.print(fields_table(summary, title=f"budget of {service_id}"))
    out.print(table_of(report.get("thresholds") or [], THRESHOLD_COLUMNS, title="thresholds"))
    if report.get("adjustments"):
        out.print(table_of(report["adjustments"], columns_of(report["adjustments"]), title="adjustments"))
