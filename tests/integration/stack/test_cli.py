"""The ``costopt`` console script against a real local stack (``python -m local run``, seed and jobs), as a
user runs it: a subprocess of ``.venv/bin/costopt`` with ``COSTOPT_URL``/``COSTOPT_TOKEN`` (or a saved profile)
and nothing else of the test's environment, for every command in every output format, plus the exit
codes of errors (1 a 4xx, 2 usage, 3 unreachable, 4 not confirmed).

The script runs this worktree's ``cli/`` (``PYTHONPATH=cli``: the installed copy may be older). The tests
run in file order on one stack; the changes they make (applies, rollbacks, discovery) come after the
read-only ones.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.ddb import free_port
from local.template import ROOT
from tests.integration.stack.local_stack import PORT_VARIABLES, StackProcess, bash, local_cli, seeded_stack

COSTOPT = Path(sys.executable).parent / "costopt"
FORMATS = ("table", "json", "csv")


class Stack:
    def __init__(self, process: StackProcess, local_dir: Path, config_dir: Path) -> None:
        self.process, self.local_dir, self.config_dir = process, local_dir, config_dir
        self.record = json.loads((local_dir / "stacks" / f"{process.ports['COSTOPT_PORT']}.json").read_text())
        self.url = process.api_url
        self.token = self.mint()

    def mint(self, *args: str) -> str:
        out = local_cli(self.local_dir, "token", *args)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    def run(self, *args: str, env: dict[str, str | None] | None = None, stdin: str | None = None,
            timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """``costopt <args>`` with this stack's URL and token in the environment (``env`` may drop them: None)."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("COSTOPT_") and k != "PYTHONPATH" and k not in PORT_VARIABLES}
        chosen: dict[str, str | None] = {"COSTOPT_URL": self.url, "COSTOPT_TOKEN": self.token,
                                         "COSTOPT_CONFIG_DIR": str(self.config_dir), **(env or {})}
        full = {**base, "PYTHONPATH": str(ROOT / "cli"), "COLUMNS": "200",
                **{k: v for k, v in chosen.items() if v is not None}}
        return subprocess.run([str(COSTOPT), *args], cwd=ROOT, env=full, input=stdin, capture_output=True,
                              text=True, timeout=timeout)

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        out = self.run(*args, **kwargs)
        assert out.returncode == 0, (args, out.stdout[-3000:], out.stderr[-3000:])
        return out

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.ok(*args, "--output", "json", **kwargs).stdout)

    def csv(self, *args: str, **kwargs: Any) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.ok(*args, "--output", "csv", **kwargs).stdout)))

    def table(self, *args: str, **kwargs: Any) -> str:
        out = self.ok(*args, "--output", "table", **kwargs).stdout
        assert "┃" in out and "│" in out, out  # a rich table
        return out

    def recommendation(self, service_id: str, action: str,
                       where: Callable[[dict[str, Any]], bool] = lambda r: True) -> dict[str, Any]:
        """The first ACTIVE recommendation of ``action`` that ``where`` accepts, as the CLI lists it."""
        items = self.json("recommendations", service_id, "--status", "ACTIVE", "--action", action)["items"]
        found = [i for i in items if where(i)]
        assert found, (service_id, action, items)
        return found[0]


@pytest.fixture(scope="module")
def stack(dynamodb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert COSTOPT.exists(), f"no {COSTOPT}: `make setup` installs the costopt console script"
    local_dir = tmp_path_factory.mktemp("local").resolve()
    with seeded_stack(dynamodb, local_dir) as process:
        yield Stack(process, local_dir, tmp_path_factory.mktemp("config"))


def test_the_console_script_lists_every_command(stack):
    assert stack.ok("--version").stdout.strip() == "costopt 0.1.0"
    helptext = stack.ok("--help").stdout
    for command in ("login", "services", "discover", "pull", "recommend", "recommendations", "dismiss", "simulate",
                    "apply", "rollback", "history", "budget"):
        assert command in helptext, command
    assert all(c in stack.ok("services", "--help").stdout for c in ("list", "get", "put", "delete"))
    assert "--output" in stack.ok("budget", "--help").stdout


def test_the_readme_journey_works_as_written(stack, tmp_path):
    """README.md's "Command line" block pasted into bash, first, on the fresh demo data: only the URL (the
    stack's), `make -s token` (the command it runs) and the scratch file's place are changed."""
    readme = (ROOT / "README.md").read_text()
    part = readme[readme.index("## Command line"):readme.index("\n## ", readme.index("## Command line") + 1)]
    (block,) = re.findall(r"```bash\n(.*?)```", part, flags=re.S)
    commands = [line for line in block.splitlines() if line.strip()]
    assert all(c.startswith((".venv/bin/costopt ", "REC=$(.venv/bin/costopt ")) for c in commands), commands
    used = {c.split("#")[0].split()[1] for c in commands if c.startswith(".venv")}
    assert used >= {"login", "services", "budget", "recommend", "recommendations", "dismiss", "simulate", "apply",
                    "history", "rollback", "discover"}
    script = (block.replace("http://127.0.0.1:3000", stack.url)
              .replace("make -s token", ".venv/bin/python -m local token")
              .replace("/tmp/scratch.json", str(tmp_path / "scratch.json")))
    config = tmp_path / "config"
    out = bash(script, stack.local_dir, env={"PYTHONPATH": str(ROOT / "cli"), "COSTOPT_CONFIG_DIR": str(config),
                                             "COLUMNS": "200"})
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert stat.S_IMODE((config / "config.json").stat().st_mode) == 0o600
    assert f"logged in: profile 'default' -> {stack.url}" in out.stderr
    assert "service_id,recommendation_id,resource_id,kind,action,status," in out.stdout  # the CSV
    assert "scenario monthly cost, approximated from p10/p50/p90" in out.stdout
    assert "nightly-batch: APPLY" in out.stderr and "checkout-api: ROLLBACK" in out.stderr
    assert "scratch-service: replaced, version 2" in out.stderr
    history = stack.json("history", "nightly-batch")["items"]
    assert [(c["type"], c["status"], c["kind"]) for c in history] == [("APPLY", "SUCCEEDED", "ebs_volume")]
    checkout = stack.json("history", "checkout-api")["items"]
    assert [(c["type"], c["status"]) for c in checkout] == [("ROLLBACK", "SUCCEEDED"), ("APPLY", "SUCCEEDED")]
    assert checkout[0]["reason"] == "trying the CLI"
    dismissed = stack.json("recommendations", "orders-service", "--status", "DISMISSED")["items"]
    assert [(r["action"], r["status_reason"]) for r in dismissed] == [("ecs_spot", "no Spot for orders")]


def test_login_refuses_a_rejected_token_and_saves_a_good_one_owner_only(stack):
    nothing = {"COSTOPT_URL": None, "COSTOPT_TOKEN": None}
    bad = stack.run("login", "--url", stack.url, "--token", "not-a-jwt", env=nothing)
    assert bad.returncode == 1 and "not saved: 401 Unauthorized" in bad.stderr, bad.stderr
    assert not (stack.config_dir / "config.json").exists()
    table = stack.run("login", "--url", stack.url, "--token", stack.token, env=nothing)
    assert table.returncode == 0 and f"profile 'default' -> {stack.url}" in table.stderr, table.stderr
    saved = json.loads(stack.ok("login", "--url", stack.url, "--token", stack.token, "--profile", "ci", "-o", "json",
                                env=nothing).stdout)
    assert saved == {"profile": "ci", "url": stack.url, "config": str(stack.config_dir / "config.json")}
    (row,) = stack.csv("login", "--url", stack.url, "--token", stack.token, "--profile", "ci", env=nothing)
    assert row["profile"] == "ci" and row["url"] == stack.url
    path = stack.config_dir / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())["profiles"]) == {"default", "ci"}
    # later commands find the URL and the token in the profile: nothing in the environment
    listed = stack.json("services", "list", env=nothing)
    assert "checkout-api" in {s["service_id"] for s in listed["items"]}
    assert stack.json("budget", "nightly-batch", "--profile", "ci", env=nothing)["service_id"] == "nightly-batch"
    # the profile's token is not sent to another URL
    other = stack.run("services", "list", "--url", "http://127.0.0.1:1", env=nothing)
    assert other.returncode == 2 and "no token for http://127.0.0.1:1" in other.stderr


@pytest.mark.parametrize("command", [
    ("services", "list"), ("services", "get", "orders-service"), ("budget", "nightly-batch"),
    ("recommendations", "orders-service"), ("pull", "orders-service"),
    ("discover", "--ecs-cluster", "costopt-demo", "--dry-run"),
], ids=lambda c: " ".join(c[:2]))
def test_read_commands_in_every_format(stack, command):
    document = stack.json(*command)
    rows = stack.csv(*command)
    table = stack.table(*command)
    if "items" in document:  # a list: one CSV row per item, every item in the table
        key = next(k for k in ("recommendation_id", "service_id", "change_id") if not document["items"]
                   or k in document["items"][0])
        assert [r[key] for r in rows] == [i[key] for i in document["items"]]
        assert all(i[key] in table for i in document["items"])
    elif "services" in document:  # discover: one row per service plan
        assert [r["service_id"] for r in rows] == [s["service_id"] for s in document["services"]]
    else:  # one object: one row
        assert len(rows) == 1 and rows[0]["service_id"] == document["service_id"]
        assert document["service_id"] in table


def test_the_budget_reports_nightly_batch_at_risk_or_over(stack):
    report = stack.json("budget", "nightly-batch")
    (row,) = stack.csv("budget", "nightly-batch")
    assert report["budget_usd"] == 100.0 and float(row["budget_usd"]) == 100.0
    assert row["status"] == report["status"] and report["status"] in ("at_risk", "over_budget")
    forecasted = next(t for t in report["thresholds"] if t["type"] == "FORECASTED" and t["threshold"] == 100.0)
    assert forecasted["crossed"] is True
    assert "FORECASTED" in stack.table("budget", "nightly-batch")


def test_recommendations_csv_round_trips(stack):
    items = stack.json("recommendations", "orders-service")["items"]
    assert items
    rows = stack.csv("recommendations", "orders-service")
    required = {"service_id", "recommendation_id", "resource_id", "action", "status", "monthly_savings_usd",
                "performance_risk", "sla_compliant"}
    assert required <= set(rows[0])
    for row, item in zip(rows, items, strict=True):
        assert row["recommendation_id"] == item["recommendation_id"] and row["service_id"] == "orders-service"
        assert row["action"] == item["action"] and row["status"] == item["status"]
        assert float(row["monthly_savings_usd"]) == item["monthly_savings_usd"]
        assert int(row["performance_risk"]) == item["performance_risk"]
        assert row["sla_compliant"] == ("true" if item["sla"]["compliant"] else "false")
    active = stack.ok("recommendations", "orders-service", "--status", "ACTIVE", "-q").stdout.split()
    assert active == [i["recommendation_id"] for i in items if i["status"] == "ACTIVE"] and active


def test_recommend_in_every_format(stack):
    result = stack.json("recommend", "checkout-api")
    assert result["service_id"] == "checkout-api" and result["recommendations"]
    rows = stack.csv("recommend", "checkout-api")
    assert rows and {r["action"] for r in rows} == {r["action"] for r in result["recommendations"]}
    table = stack.table("recommend", "checkout-api")
    assert "current_monthly_cost_usd" in table and "lambda_memory" in table
    # each run supersedes the one before: the ACTIVE ones are the last run's
    listed = stack.ok("recommendations", "checkout-api", "--status", "ACTIVE", "-q").stdout.split()
    assert listed and all(r["recommendation_id"] not in listed for r in result["recommendations"])


def test_dismiss_and_restore_in_every_format(stack):
    rec = stack.recommendation("orders-service", "ecs_graviton")
    rid = rec["recommendation_id"]
    dismissed = stack.json("dismiss", "orders-service", rid, "--reason", "not this quarter")
    assert dismissed["status"] == "DISMISSED" and dismissed["status_reason"] == "not this quarter"
    (row,) = stack.csv("dismiss", "orders-service", rid, "--restore")
    assert row["status"] == "ACTIVE" and row["recommendation_id"] == rid
    assert "DISMISSED" in stack.table("dismiss", "orders-service", rid)
    stack.ok("dismiss", "orders-service", rid, "--restore")
    twice = stack.run("dismiss", "orders-service", rid, "--restore")
    assert twice.returncode == 1 and "409" in twice.stderr, twice.stderr


def test_simulate_in_every_format_with_a_histogram(stack):
    args = ("simulate", "orders-service", "--template", "rightsize-all", "--traffic-multiplier", "1.5", "--seed", "7",
            "--samples", "200")
    result = stack.json(*args)
    assert result["service_id"] == "orders-service" and result["seed"] == 7 and result["traffic_multiplier"] == 1.5
    rows = {r["series"]: r for r in stack.csv(*args)}
    assert set(rows) == {"baseline_monthly_cost_usd", "scenario_monthly_cost_usd", "savings_usd"}
    # the same seed: the same bootstrap, whatever the format
    assert float(rows["scenario_monthly_cost_usd"]["p50"]) == result["scenario"]["monthly_cost_usd"]["p50"]
    assert float(rows["savings_usd"]["p90"]) == result["savings_usd"]["p90"]
    table = stack.table(*args)
    assert "baseline monthly cost, approximated from p10/p50/p90" in table
    assert "scenario monthly cost" in table and "█" in table
    assert f"{result['scenario']['monthly_cost_usd']['p50']}" in table


def test_simulate_a_recommendation(stack):
    rec = stack.recommendation("orders-service", "ecs_graviton")
    result = stack.json("simulate", "orders-service", "-r", rec["recommendation_id"], "--seed", "3",
                        "--samples", "200")
    assert result["recommendation_ids"] == [rec["recommendation_id"]] and result["savings_usd"]["p50"] > 0


def test_a_batch_simulation_in_every_format(stack, tmp_path):
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([{"seed": 1, "samples": 100}, {"traffic_multiplier": 2, "seed": 2, "samples": 100},
                                 {"service_id": "no-such-service", "samples": 100}]))
    report = stack.json("simulate", "checkout-api", "--batch", str(batch))
    assert (report["succeeded"], report["failed"]) == (2, 1)
    assert [r["index"] for r in report["results"]] == [0, 1, 2]
    assert report["results"][1]["result"]["traffic_multiplier"] == 2
    rows = stack.csv("simulate", "checkout-api", "--batch", str(batch))
    assert [r["status"] for r in rows] == [str(r["status"]) for r in report["results"]]
    assert rows[0]["service_id"] == "checkout-api" and rows[2]["problem"] and not rows[2]["simulation_id"]
    assert "no-such-service" in stack.table("simulate", "checkout-api", "--batch", str(batch))


def test_services_put_get_and_delete_in_every_format(stack, tmp_path):
    stored = stack.json("services", "get", "scratch-service")
    path = tmp_path / "scratch.json"
    path.write_text(json.dumps({**stored, "description": "edited with the cli"}))
    replaced = stack.json("services", "put", "-f", str(path))  # the file a GET wrote, version included
    assert replaced["version"] == stored["version"] + 1 and replaced["description"] == "edited with the cli"
    stale = stack.run("services", "put", "-f", str(path))
    assert stale.returncode == 1 and "409" in stale.stderr and "current_version" in stale.stderr, stale.stderr
    copies = []
    for fmt in FORMATS:
        copy = {k: v for k, v in stored.items() if k != "version"}
        path.write_text(json.dumps(copy))
        out = stack.ok("services", "put", f"cli-{fmt}", "-f", str(path), "--output", fmt)
        assert f"cli-{fmt}: created, version 1" in out.stderr
        copies.append(f"cli-{fmt}")
    (row,) = stack.csv("services", "get", "cli-csv")
    assert row["service_id"] == "cli-csv" and row["team"] == stored["team"] and row["version"] == "1"
    assert "cli-table" in stack.table("services", "get", "cli-table")
    assert {"cli-json", "cli-csv", "cli-table"} <= {s["service_id"] for s in stack.json("services", "list")["items"]}
    assert stack.json("services", "delete", "cli-json", "--yes") == {"service_id": "cli-json", "deleted": True}
    assert stack.csv("services", "delete", "cli-csv", "--yes") == [{"service_id": "cli-csv", "deleted": "true"}]
    assert "cli-table: deleted" in stack.ok("services", "delete", "cli-table", "--yes").stderr
    declined = stack.run("services", "delete", "scratch-service", stdin="n\n")
    assert declined.returncode == 4 and "not confirmed" in declined.stderr
    for sid in copies:
        gone = stack.run("services", "get", sid)
        assert gone.returncode == 1 and f"404 Not found: service '{sid}' does not exist" in gone.stderr
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({**copy, "sla": {**copy["sla"], "max_cpu_utilization_pct": "lots"}}))
    refused = stack.run("services", "put", "cli-invalid", "-f", str(invalid))
    assert refused.returncode == 1 and "422" in refused.stderr and "sla.max_cpu_utilization_pct" in refused.stderr


def test_apply_shows_the_plan_asks_and_applies_once_confirmed(stack):
    rec = stack.recommendation("orders-service", "ecs_task_size")
    rid, target = rec["recommendation_id"], rec["proposed"]["cpu_units"]
    plan = stack.json("apply", "orders-service", rid, "--dry-run")
    assert plan["status"] == "PLANNED" and plan["dry_run"] is True and plan["after"]["cpu_units"] == target
    (row,) = stack.csv("apply", "orders-service", rid, "--dry-run")
    assert row["status"] == "PLANNED" and row["kind"] == "ecs_service" and row["type"] == "APPLY"
    assert "after.cpu_units" in stack.table("apply", "orders-service", rid, "--dry-run")
    declined = stack.run("apply", "orders-service", rid, stdin="n\n")
    assert declined.returncode == 4 and "plan: APPLY ecs_service api of orders-service" in declined.stderr
    assert stack.json("history", "orders-service")["items"] == []  # neither the dry runs nor the "no" changed it
    applied = stack.table("apply", "orders-service", rid, stdin="y\n")  # a table: the json/csv rounds follow
    assert "SUCCEEDED" in applied and re.search(rf"after\.cpu_units\s+│ {target}\s", applied)
    (latest,) = stack.json("history", "orders-service", "--limit", "1")["items"]
    assert latest["type"] == "APPLY" and latest["after"]["cpu_units"] == target and latest["idempotency_key"]
    assert latest["change_id"] in applied
    one = stack.table("history", "orders-service", latest["change_id"])
    assert "steps" in one and "claimed" in one
    again = stack.run("apply", "orders-service", rid, "--yes")  # applied already: the dry run is refused
    assert again.returncode == 1 and "409" in again.stderr, again.stderr
    rolled = stack.table("rollback", "orders-service", rid, "--yes")
    assert "ROLLBACK" in rolled and "SUCCEEDED" in rolled and re.search(rf"before\.cpu_units\s+│ {target}\s", rolled)


def test_a_refused_rollback_prints_the_problem(stack):
    (gp3,) = [c for c in stack.json("history", "nightly-batch")["items"] if c["kind"] == "ebs_volume"]
    cooldown = stack.run("rollback", "nightly-batch", gp3["recommendation_id"], "--yes")
    assert cooldown.returncode == 1 and "error: 409 Conflict" in cooldown.stderr
    assert "rollback_not_before" in cooldown.stderr and "retry_after_s" in cooldown.stderr


# a rolled-back option stays rejected for 30 days: each round applies and rolls back another kind of change
# (the table round is the test above)
ROUNDS = {"json": ("recommender-k8s", "generic_size"), "csv": ("sessions-store", "dynamodb_capacity_mode")}


@pytest.mark.parametrize("fmt", sorted(ROUNDS))
def test_apply_and_rollback_in_every_format(stack, fmt):
    service_id, action = ROUNDS[fmt]
    rid = stack.recommendation(service_id, action)["recommendation_id"]
    applied = stack.ok("apply", service_id, rid, "--yes", "--output", fmt)
    rolled = stack.ok("rollback", service_id, rid, "--yes", "--reason", "cli test", "--output", fmt)
    if fmt == "json":
        a, r = json.loads(applied.stdout), json.loads(rolled.stdout)
        assert (a["type"], a["status"], r["type"], r["status"]) == ("APPLY", "SUCCEEDED", "ROLLBACK", "SUCCEEDED")
        assert r["after"] == a["before"]
    else:
        (a,) = csv.DictReader(io.StringIO(applied.stdout))
        (r,) = csv.DictReader(io.StringIO(rolled.stdout))
        assert (a["type"], a["status"], r["type"], r["status"]) == ("APPLY", "SUCCEEDED", "ROLLBACK", "SUCCEEDED")
        assert json.loads(r["after"]) == json.loads(a["before"])
    history = stack.csv("history", service_id, "--limit", "2")
    assert [(h["type"], h["recommendation_id"]) for h in history] == [("ROLLBACK", rid), ("APPLY", rid)]
    listed = stack.ok("history", service_id, "--limit", "2", "--output", fmt).stdout
    if fmt == "json":
        assert [c["type"] for c in json.loads(listed)["items"]] == ["ROLLBACK", "APPLY"]
    else:
        assert listed.count(rid) == 2  # both changes as CSV rows


def test_an_ec2_resize_answers_202_and_the_cli_follows_it_to_the_end(stack):
    def same_family(r: dict[str, Any]) -> bool:  # m5.xlarge -> m5.large: the AMI stays right (no Graviton)
        return r["current"]["instance_type"].split(".")[0] == r["proposed"]["instance_type"].split(".")[0]

    rec = stack.recommendation("nightly-batch", "ec2_rightsize", same_family)
    change = stack.json("apply", "nightly-batch", rec["recommendation_id"], "--yes", "--wait-timeout", "120")
    assert change["status"] == "SUCCEEDED" and change["mode"] == "async", change
    assert [s["step"] for s in change["steps"]][-3:] == ["start", "status_checks", "succeeded"]
    started = stack.json("rollback", "nightly-batch", rec["recommendation_id"], "--yes", "--no-wait")
    assert started["type"] == "ROLLBACK" and started["status"] == "IN_PROGRESS"
    recorded = stack.json("history", "nightly-batch", started["change_id"])
    assert recorded["change_id"] == started["change_id"] and recorded["type"] == "ROLLBACK"
    assert recorded["steps"][0]["step"] == "claimed"


def test_discover_registers_a_new_service_and_backfills_it(stack):
    from local import sandbox

    sandbox.create_ecs_service(stack.record["sandbox_url"], {
        "cluster": "cli-discover", "service_name": "found",
        "tags": {"costopt:managed": "true", "costopt:service": "cli-found"}},
        {"cpu_units": 512, "memory_mb": 1024, "desired_count": 2})
    plan = stack.json("discover", "--ecs-cluster", "cli-discover", "--dry-run")
    assert [(s["service_id"], s["action"]) for s in plan["services"]] == [("cli-found", "create")]
    assert stack.run("services", "get", "cli-found").returncode == 1  # a dry run registers nothing
    (row,) = stack.csv("discover", "--ecs-cluster", "cli-discover", "--team", "platform")
    assert (row["service_id"], row["action"], row["version"], row["added"]) == ("cli-found", "create", "1", "found")
    service = stack.json("services", "get", "cli-found")
    assert service["team"] == "platform" and [r["resource_id"] for r in service["resources"]] == ["found"]
    again = stack.table("discover", "--ecs-cluster", "cli-discover")
    assert "unchanged" in again and "cli-found" in again
    skipped = stack.run("discover", "--ecs-cluster", "costopt-demo", "--dry-run")
    assert skipped.returncode == 0 and "skipped: orders-service" in skipped.stderr


def test_errors_end_with_their_exit_codes(stack):
    missing = stack.run("services", "get", "no-such-service")
    assert missing.returncode == 1
    assert "error: 404 Not found: service 'no-such-service' does not exist" in missing.stderr
    assert missing.stdout == ""
    rejected = stack.run("budget", "nightly-batch", "--token", "not-a-jwt")
    assert rejected.returncode == 1 and "error: 401 Unauthorized" in rejected.stderr
    read_only = stack.mint("--scopes", "costopt/read", "--sub", "cli-reader", "--ttl-hours", "1")
    rid = stack.recommendation("orders-service", "ecs_graviton")["recommendation_id"]
    forbidden = stack.run("dismiss", "orders-service", rid, env={"COSTOPT_TOKEN": read_only})
    assert forbidden.returncode == 1 and "403" in forbidden.stderr, forbidden.stderr
    unreachable = stack.run("services", "list", "--url", f"http://127.0.0.1:{free_port()}")
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr
    usage = stack.run("services", "get")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
    bad_format = stack.run("services", "list", "--output", "yaml")
    assert bad_format.returncode == 2
    no_token = stack.run("services", "list", env={"COSTOPT_TOKEN": None, "COSTOPT_CONFIG_DIR": str(stack.local_dir)})
    assert no_token.returncode == 2 and "no token" in no_token.stderr
    not_json = stack.run("services", "put", "x", "-f", str(ROOT / "README.md"))
    assert not_json.returncode == 2 and "is not JSON" in not_json.stderr
