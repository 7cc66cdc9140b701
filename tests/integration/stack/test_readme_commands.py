"""Every local-stack command README.md and the `make run` banner show, pasted into bash as written,
against a real `python -m local run` (seed and jobs included), with no PYTHONPATH and nothing exported.

Only what a test must change is changed: the stack runs on free ports and keeps its state in a
temporary COSTOPT_LOCAL_DIR (a developer's own `make run` is neither touched nor seen), so the
README's http://127.0.0.1:3000 becomes the stack's URL, `.local/events/` its events directory and
`.local/` that directory; `make -s token` is the command it runs (`python -m local token`). The
banner needs no change: it prints the stack's own URLs and paths.

The tests run in file order on one stack, as a newcomer would go through the README: the events
(apply, roll back, dismiss, delete scratch-service, seed), the dry run of "Applying changes safely",
the banner (which really applies nightly-batch's gp3 recommendation), then "Using the API".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.auth import load_or_create_keys, token_scopes, verify
from local.template import ROOT
from tests.integration.stack.local_stack import StackProcess, bash, local_cli, seeded_stack

README = (ROOT / "README.md").read_text()


def section(start: str, end: str) -> str:
    return README[README.index(start):README.index(end, README.index(start))]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


LOCAL_SECTION = section("## Two commands", "## Using the API")
API_SECTION = section("## Using the API", "### Applying changes safely")
APPLY_SECTION = section("### Applying changes safely", "## Deploying")


class Stack:
    def __init__(self, process: StackProcess, local_dir: Path) -> None:
        self.process, self.local_dir = process, local_dir
        self.record = json.loads((local_dir / "stacks" / f"{process.ports['COSTOPT_PORT']}.json").read_text())
        self.events_dir = Path(self.record["events_dir"])

    def pasted(self, command: str) -> str:
        """A README command as it reads against this stack (see the module docstring)."""
        return (command.replace("http://127.0.0.1:3000", self.process.api_url)
                .replace(".local/events/", f"{self.events_dir}/")
                .replace(".local/", f"{self.local_dir}/")
                .replace("make -s token", ".venv/bin/python -m local token"))

    def token(self) -> str:
        out = local_cli(self.local_dir, "token")
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack(dynamodb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    local_dir = tmp_path_factory.mktemp("local").resolve()
    with seeded_stack(dynamodb, local_dir) as process:
        yield Stack(process, local_dir)


def _json_documents(text: str) -> list[Any]:
    """The JSON documents printed one after another (curl prints no newline between them)."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(text, at)) < len(text):
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def test_the_seed_wrote_the_id_bearing_events(stack):
    names = {"apply-dry-run.json", "apply-post.json", "rollback-post.json", "recommend-dismiss.json",
             "simulate-get.json"}
    assert {p.name for p in stack.events_dir.glob("*.json")} == names, stack.process.output
    assert f"sample events with the demo's ids in {stack.events_dir}/" in stack.process.output
    for name in names:  # the same shape as the events/ file: only ids, paths and headers differ
        sample = json.loads((ROOT / "events" / name).read_text())
        event = json.loads((stack.events_dir / name).read_text())
        assert set(event) == set(sample) and event["routeKey"] == sample["routeKey"], name
        assert event["requestContext"]["http"]["path"] == event["rawPath"], name
        if "pathParameters" in sample:  # the placeholder ids are replaced
            assert event["rawPath"] != sample["rawPath"] and event["pathParameters"] != sample["pathParameters"]
    apply = json.loads((stack.events_dir / "apply-post.json").read_text())
    rollback = json.loads((stack.events_dir / "rollback-post.json").read_text())
    body = json.loads(apply["body"])
    assert rollback["pathParameters"] == {"service_id": body["service_id"],
                                          "recommendation_id": body["recommendation_id"]}
    assert apply["headers"]["content-length"] == str(len(apply["body"].encode()))


def test_the_readme_local_commands_work_as_written(stack):
    blocks = [b for b in bash_blocks(LOCAL_SECTION) if "-m local" in b]
    assert len(blocks) == 1
    commands = [line for line in blocks[0].splitlines() if line.strip() and not line.startswith("#")]
    assert any("invoke rollback .local/events/rollback-post.json" in c for c in commands)
    for command in commands:
        out = bash(stack.pasted(command), stack.local_dir)
        assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-2000:])
        if " invoke " in command:
            response = json.loads(out.stdout)
            assert 200 <= response["statusCode"] < 300, (command, response)
            assert f"using the stack on {stack.process.api_url}" in out.stderr, (command, out.stderr)
        elif " token " in command:
            claims = verify(load_or_create_keys(stack.local_dir / "jwt"), out.stdout.strip().splitlines()[-1])
            assert claims["sub"] == "me" and token_scopes(claims) == ["costopt/read"]
        elif command.split("#")[0].strip().endswith("-m local seed"):
            assert "scratch-service    created" in out.stdout, out.stdout  # the delete event deleted it
            assert "sample events with the demo's ids" in out.stdout
    inline = {" ".join(c.split()) for c in re.findall(r"`(\.venv/bin/python -m local\s[^`]+)`", LOCAL_SECTION)}
    assert ".venv/bin/python -m local seed" in inline
    for command in sorted(inline - {".venv/bin/python -m local run --no-seed --no-jobs"}):
        out = bash(stack.pasted(command), stack.local_dir)
        assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-2000:])


def test_the_readme_apply_example_works_as_written(stack):
    (block,) = bash_blocks(APPLY_SECTION)
    assert "uuidgen" not in block and "<id>" not in block
    out = bash(stack.pasted(block), stack.local_dir, env={"TOKEN": stack.token()})
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-2000:])
    (plan,) = _json_documents(out.stdout)
    assert plan["service_id"] == "nightly-batch" and plan["kind"] == "ebs_volume"
    assert plan["status"] == "PLANNED" and plan["dry_run"] is True and plan["after"]["volume_type"] == "gp3"


def test_the_banner_commands_work_when_pasted(stack):
    lines = stack.process.lines
    export = next(line.strip() for line in lines if line.strip().startswith("export TOKEN="))
    start = lines.index("try:") + 1
    commands = [line.strip() for line in lines[start:lines.index("", start)]]
    assert not any("<id>" in c or "<etag>" in c or "uuidgen" in c for c in commands)
    script = [export]
    for command in commands:
        script.append(command)
        if not command.startswith("#"):
            script.append("printf '\\n@@@\\n'")
    out = bash("\n".join(script), stack.local_dir)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    outputs = [part.strip() for part in out.stdout.split("@@@")[:-1]]
    results = dict(zip([c for c in commands if not c.startswith("#")], outputs, strict=True))
    for command, output in results.items():
        if command.startswith("BODY="):
            assert output == ""
            continue
        (doc,) = _json_documents(output)
        if "/v1/config/apply" in command and doc["kind"] == "ec2_instance":  # the worker carries it on
            assert doc["type"] == "APPLY" and doc["status"] == "IN_PROGRESS", doc
            resized = doc["change_id"]
        elif "/v1/config/apply" in command:
            assert doc["type"] == "APPLY" and doc["status"] == "SUCCEEDED" and doc["kind"] == "ebs_volume", doc
            applied = doc["change_id"]
        elif "/v1/config/history/nightly-batch?limit=1" in command:  # after the worker's turn
            [change] = doc["items"]
            assert change["change_id"] == resized and change["status"] == "SUCCEEDED", change
            assert [s["step"] for s in change["steps"]][-3:] == ["start", "status_checks", "succeeded"]
        elif "/v1/config/history/nightly-batch" in command:
            assert doc["items"][0]["change_id"] == applied
        elif "/v1/recommendations/ledger" in command:  # discovered: options from CloudWatch and the bill
            assert {r["action"] for r in doc["items"]} >= {"ec2_rightsize", "ebs_gp3"}, doc
            assert all(r["evidence"]["cost_model"]["billed_monthly_usd"] for r in doc["items"]), doc
        elif "/v1/discover" in command:
            assert [p["action"] for p in doc["services"]] == ["unchanged", "unchanged"], doc
        elif " invoke " in command:
            assert doc["statusCode"] == 200, doc


def test_the_readme_api_examples_work_as_written(stack):
    (block,) = bash_blocks(API_SECTION)
    out = bash(stack.pasted(block), stack.local_dir)
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-2000:])
    services, recommended, discovery, pull = _json_documents(out.stdout)
    assert {"checkout-api", "nightly-batch", "scratch-service", "ledger", "storefront"} <= {
        s["service_id"] for s in services["items"]}
    assert recommended["service_id"] == "checkout-api"
    # make run discovered the member accounts' services; a rerun would change nothing
    assert discovery["dry_run"] is True
    assert sorted((p["service_id"], p["action"]) for p in discovery["services"]) == [
        ("ledger", "unchanged"), ("storefront", "unchanged")]
    assert {a["status"] for a in discovery["accounts"]} == {"ok"}
    assert pull["service_id"] == "ledger" and pull["state"] == "done" and pull["percent"] == 100
