"""``costopt simulate``: one scenario (cost p10/p50/p90, savings, SLA, a histogram) or a batch file.

``--batch FILE`` reads a JSON list of scenarios (or ``{"scenarios": [...]}``), each the body of
``POST /v1/simulate``; they go to ``POST /v1/simulate/batch`` 50 at a time (the route's limit) with a
progress bar, and the answers are joined in file order (``index`` counts from the file's first scenario).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costopt_cli.client import EXIT_API, EXIT_USAGE, CliError
from costopt_cli.common import (
    OutputOpt,
    ProfileOpt,
    TokenOpt,
    UrlOpt,
    app,
    connect,
    guarded,
    note,
    parse_param,
    progress,
    read_json_file,
)
from costopt_cli.histogram import histogram
from costopt_cli.output import Column, Output, console, emit, table_of

BATCH_SIZE = 50
SUMMARY_COLUMNS = [Column("simulation_id", "simulation_id"), Column("series", "series"), Column("p10", "p10"),
                   Column("p50", "p50"), Column("p90", "p90"), Column("sla_probability", "sla_probability")]
BATCH_COLUMNS = [Column("index", "index"), Column("status", "status"), Column("service_id", "result.service_id"),
                 Column("simulation_id", "result.simulation_id"),
                 Column("baseline_p50_usd", "result.baseline.monthly_cost_usd.p50"),
                 Column("scenario_p50_usd", "result.scenario.monthly_cost_usd.p50"),
                 Column("savings_p50_usd", "result.savings_usd.p50"),
                 Column("sla_probability", "result.scenario.sla_probability"),
                 Column("problem", "problem.title"), Column("detail", "problem.detail")]


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Baseline cost, scenario cost and savings as rows of p10/p50/p90 (and the SLA probability)."""
    sid = result.get("simulation_id")
    return [
        {"simulation_id": sid, "series": "baseline_monthly_cost_usd", **result["baseline"]["monthly_cost_usd"],
         "sla_probability": result["baseline"].get("sla_probability")},
        {"simulation_id": sid, "series": "scenario_monthly_cost_usd", **result["scenario"]["monthly_cost_usd"],
         "sla_probability": result["scenario"].get("sla_probability")},
        {"simulation_id": sid, "series": "savings_usd", **result["savings_usd"], "sla_probability": None},
    ]


def show_result(output: Output, result: dict[str, Any], bins: int) -> None:
    rows = summary_rows(result)
    if output is not Output.table:
        emit(output, result, rows=rows, columns=SUMMARY_COLUMNS)
        return
    out = console()
    title = (f"simulation {result.get('simulation_id')} of {result.get('service_id')}: {result.get('samples')} "
             f"samples over {result.get('horizon_days')} days, seed {result.get('seed')}")
    out.print(table_of(rows, SUMMARY_COLUMNS[1:], title=title))
    breached = result["scenario"].get("breached_clauses") or []
    for clause in breached:
        note(f"SLA risk: {clause['resource_id']} {clause['clause']} (limit {clause['limit']}) breached in "
             f"{clause['probability']:.1%} of samples")
    for name in ("baseline", "scenario"):
        for line in histogram(name, result[name]["monthly_cost_usd"], bins=bins):
            out.print(line, markup=False, highlight=False)


def run_batch(client: Any, scenarios: list[Any]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    with progress() as bar:
        task = bar.add_task("simulating", total=len(scenarios))
        for start in range(0, len(scenarios), BATCH_SIZE):
            chunk = scenarios[start:start + BATCH_SIZE]
            answer = client.post("/v1/simulate/batch", {"scenarios": chunk}, retry=True).body
            results += [{**entry, "index": entry["index"] + start} for entry in answer["results"]]
            bar.advance(task, len(chunk))
    succeeded = sum(1 for r in results if r.get("result") is not None)
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}


def batch_scenarios(path: Path, service_id: str | None) -> list[Any]:
    document = read_json_file(path)
    scenarios = document.get("scenarios") if isinstance(document, dict) else document
    if not isinstance(scenarios, list) or not scenarios:
        raise CliError(f"{path}: want a non-empty JSON list of scenarios (or {{\"scenarios\": [...]}})", EXIT_USAGE)
    if service_id:  # the default service of scenarios that name none
        scenarios = [{"service_id": service_id, **s} if isinstance(s, dict) else s for s in scenarios]
    return scenarios


@app.command()
@guarded
def simulate(
    service_id: Annotated[str | None, typer.Argument(help="The service (with --batch: the default)")] = None,
    template: Annotated[str | None, typer.Option(help="rightsize-all, graviton, spot, traffic-spike, ...")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Template parameter key=value (repeatable)")] = None,
    recommendation: Annotated[list[str] | None, typer.Option(
        "--recommendation", "-r", help="A recommendation id to simulate (repeatable)")] = None,
    traffic_multiplier: Annotated[float, typer.Option(help="Scales every hour's load")] = 1.0,
    growth_pct_per_month: Annotated[float, typer.Option(help="Compounding monthly traffic growth")] = 0.0,
    horizon_days: Annotated[int, typer.Option(help="Days simulated")] = 30,
    samples: Annotated[int, typer.Option(help="Bootstrap samples")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Fix the bootstrap (default: random, reported)")] = None,
    batch: Annotated[Path | None, typer.Option(help="A JSON file of scenarios for /v1/simulate/batch")] = None,
    bins: Annotated[int, typer.Option(min=1, max=60, help="Histogram bins")] = 12,
    url: UrlOpt = None, token: TokenOpt = None, profile: ProfileOpt = None, output: OutputOpt = Output.table,
) -> None:
    """Simulate a scenario on the service's own history: monthly cost p10/p50/p90, savings, SLA probability."""
    if batch is not None:
        scenarios = batch_scenarios(batch, service_id)
        with connect(url, token, profile) as client:
            report = run_batch(client, scenarios)
        note(f"{report['succeeded']} succeeded, {report['failed']} failed")
        emit(output, report, rows=report["results"], columns=BATCH_COLUMNS, title="batch simulation")
        if report["failed"] and not report["succeeded"]:
            raise CliError("every scenario of the batch failed", EXIT_API)
        return
    if not service_id:
        raise CliError("which service? give SERVICE_ID (or --batch FILE)", EXIT_USAGE)
    body: dict[str, Any] = {"service_id": service_id, "traffic_multiplier": traffic_multiplier,
                            "growth_pct_per_month": growth_pct_per_month, "horizon_days": horizon_days,
                            "samples": samples}
    if template:
        body["template"] = {"id": template, "params": dict(parse_param(p) for p in param or [])}
    elif param:
        raise CliError("--param goes with --template", EXIT_USAGE)
    if recommendation:
        body["recommendation_ids"] = recommendation
    if seed is not None:
        body["seed"] = seed
    with connect(url, token, profile) as client, progress() as bar:
        bar.add_task("simulating", total=None)
        result = client.post("/v1/simulate", body, retry=True).body
    show_result(output, result, bins)
