"""`sam build` on this machine (no Docker), the built arm64 layer, and the built functions run
the way Lambda runs them: the built layer as /opt/python, nothing from the repo on sys.path,
invoked with every sample event of events/.

This machine is x86_64 and cannot load aarch64 binaries, so the invoke tests use a second build
of the same template with every architecture switched to x86_64 (same sources, same layer
requirements). Builds are cached under .aws-sam/contract/ (`sam build --cached`): the first run
takes a minute or two per architecture, later runs only rebuild what changed.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from collections import defaultdict
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from local.template import table_definitions, table_env
from tests.contract.support import (
    CONTRACT_DIR,
    EVENTS,
    EXPECTED_FUNCTIONS,
    FUNCTIONS_DIR,
    ROOT,
    dir_size,
    effective,
    events_of,
    function_name,
    functions,
    handler_file,
    load_event,
    record_import_time,
    sam_bin,
    sam_env,
    template,
)

LAYER_LIMIT_BYTES = 120 * 1024 * 1024  # DESIGN §10; Lambda's own limit is 250 MB with the functions
EM_AARCH64, EM_X86_64 = 183, 62
BUILD_TIMEOUT_S = 900
# What the Lambda python3.11 runtime itself provides on sys.path (/var/runtime).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
# moto backends the functions may call; imported before the snapshot so moto's own lazy imports
# are not mistaken for the function's.
MOTO_BACKENDS = ["dynamodb", "sqs", "sns", "events", "lambda", "ecs", "ec2", "cloudwatch", "ce",
                 "secretsmanager", "scheduler", "sts"]
SIMULATING_FUNCTIONS = {"simulate"}  # DESIGN: only simulation may import numpy
# Functions whose events only reach their engine with observed history: the runner seeds it
# through the layer's own hourly job (synthetic telemetry) before invoking them.
HISTORY_FUNCTIONS = {"recommend", "simulate"}


def _run(cmd: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=sam_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)


def _sam_build(template_file: Path, workdir: Path, *resources: str) -> subprocess.CompletedProcess[str]:
    return _run([str(sam_bin()), "build", *resources, "--cached", "--parallel",
                 "--template-file", str(template_file),
                 "--build-dir", str(workdir / "build"), "--cache-dir", str(workdir / "cache")])


def _elf_machine(path: Path) -> int | None:
    with open(path, "rb") as fh:
        head = fh.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


# ---------------------------------------------------------------- arm64: the template as deployed


@pytest.fixture(scope="session")
def arm64_build() -> dict[str, Any]:
    """`sam build` of template.yaml itself; if a function cannot be built yet, the layer alone."""
    workdir = CONTRACT_DIR / "arm64"
    full = _sam_build(ROOT / "template.yaml", workdir)
    if full.returncode != 0:
        layer_only = _sam_build(ROOT / "template.yaml", workdir, "CoreLayer")
        assert layer_only.returncode == 0, layer_only.stdout + layer_only.stderr
    return {"full": full, "build": workdir / "build"}


@pytest.fixture(scope="session")
def arm64_layer(arm64_build: dict[str, Any]) -> Path:
    layer = arm64_build["build"] / "CoreLayer" / "python"
    assert layer.is_dir(), f"no built layer at {layer}"
    return layer


def test_sam_build_of_the_template_succeeds(arm64_build: dict[str, Any]) -> None:
    full = arm64_build["full"]
    assert full.returncode == 0, full.stdout[-4000:] + full.stderr[-4000:]
    for logical_id, name in EXPECTED_FUNCTIONS.items():
        built = arm64_build["build"] / logical_id
        assert (built / "app.py").is_file(), f"{logical_id}: app.py not in the build"
        assert not (built / "costopt").exists(), f"{name}: costopt belongs in the layer, not the function"


def test_layer_holds_aarch64_binaries_only(arm64_layer: Path) -> None:
    machines: dict[int | None, list[str]] = defaultdict(list)
    for path in arm64_layer.rglob("*.so*"):
        if path.is_file():
            machines[_elf_machine(path)].append(str(path.relative_to(arm64_layer)))
    assert machines.get(EM_AARCH64), "no aarch64 shared objects: the layer was not built for arm64"
    assert set(machines) <= {EM_AARCH64, None}, {m: v[:5] for m, v in machines.items() if m != EM_AARCH64}
    core = list(arm64_layer.glob("pydantic_core/_pydantic_core*.so"))
    assert len(core) == 1 and "aarch64" in core[0].name
    assert _elf_machine(core[0]) == EM_AARCH64


def test_layer_fits_the_size_budget(arm64_layer: Path) -> None:
    size = dir_size(arm64_layer.parent)
    print(f"built arm64 layer: {size / 2**20:.1f} MiB unzipped")
    assert size < LAYER_LIMIT_BYTES


def _requirements() -> list[Requirement]:
    lines = (ROOT / "layers" / "core" / "requirements.txt").read_text().splitlines()
    return [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]


def _installed(layer: Path) -> dict[str, str]:
    out = {}
    for info in layer.glob("*.dist-info"):
        meta = metadata.PathDistribution(info)
        out[canonicalize_name(meta.metadata["Name"])] = meta.version
    return out


def test_layer_carries_every_pinned_requirement(arm64_layer: Path) -> None:
    installed = _installed(arm64_layer)
    for req in _requirements():
        version = installed.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} missing from the layer"
        assert req.specifier.contains(version, prereleases=True), (req.name, version, str(req.specifier))


def test_layer_carries_the_whole_costopt_package(arm64_layer: Path) -> None:
    source = ROOT / "layers" / "core" / "costopt"

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}

    assert files(arm64_layer / "costopt") == files(source)


# ---------------------------------------------------------------- x86_64 twin: invoke what was built


def _x86_template() -> tuple[dict[str, Any], list[str]]:
    """template.yaml with every architecture x86_64, absolute code paths, and only the functions
    whose handler exists (the others are reported by their own test)."""
    tpl = template()
    tpl["Globals"]["Function"]["Architectures"] = ["x86_64"]
    layer = tpl["Resources"]["CoreLayer"]
    layer["Metadata"]["BuildArchitecture"] = "x86_64"
    layer["Properties"]["CompatibleArchitectures"] = ["x86_64"]
    layer["Properties"]["ContentUri"] = str(ROOT / layer["Properties"]["ContentUri"])
    dropped = []
    for logical_id, res in functions(tpl).items():
        name = function_name(res)
        if not handler_file(name).is_file():
            del tpl["Resources"][logical_id]
            dropped.append(name)
            continue
        res["Properties"]["CodeUri"] = str(FUNCTIONS_DIR / name)
        res["Properties"].pop("Architectures", None)
    return tpl, dropped


@pytest.fixture(scope="session")
def x86_build() -> Path:
    workdir = CONTRACT_DIR / "x86_64"
    workdir.mkdir(parents=True, exist_ok=True)
    tpl, _ = _x86_template()
    path = workdir / "template.json"
    text = json.dumps(tpl, indent=1)
    if not path.exists() or path.read_text() != text:  # unchanged file keeps sam's cache valid
        path.write_text(text)
    proc = _sam_build(path, workdir)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    build = workdir / "build"
    for stale in build.rglob("__pycache__"):  # left by runs before -B: keep the cold import cold
        shutil.rmtree(stale, ignore_errors=True)
    assert _elf_machine(next((build / "CoreLayer" / "python").glob("pydantic_core/_pydantic_core*.so"))) == EM_X86_64
    return build


@cache
def _harness_modules() -> frozenset[str]:
    """Top-level modules of moto and its (non-extra) dependencies: the mock, not the function."""
    by_dist: dict[str, set[str]] = defaultdict(set)
    for top, dists in metadata.packages_distributions().items():
        for dist in dists:
            by_dist[canonicalize_name(dist)].add(top)
    seen: set[str] = set()
    stack = ["moto"]
    while stack:
        dist = canonicalize_name(stack.pop())
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(req.name)
    return frozenset().union(*(by_dist[d] for d in seen))


def _resolve_env(tpl: dict[str, Any], res: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The function's environment as Lambda would get it, with local table names; plus the SQS
    queues and SNS topics the runner must create (env var -> name)."""
    tables = table_env(tpl)
    params = tpl.get("Parameters", {})
    variables = {**tpl["Globals"]["Function"]["Environment"]["Variables"],
                 **res["Properties"].get("Environment", {}).get("Variables", {})}
    env: dict[str, str] = {}
    queues: dict[str, str] = {}
    topics: dict[str, str] = {}
    for var, value in variables.items():
        if isinstance(value, str):
            env[var] = value
            continue
        ref = value.get("Ref") if isinstance(value, dict) else None
        if var in tables:
            env[var] = tables[var]
        elif ref in PSEUDO_PARAMETERS:
            env[var] = PSEUDO_PARAMETERS[ref]
        elif ref in params:
            default = params[ref].get("Default", "")
            env[var] = ",".join(default) if isinstance(default, list) else str(default)
        elif ref and tpl["Resources"].get(ref, {}).get("Type") == "AWS::SQS::Queue":
            queues[var] = f"costopt-{ref}"
        elif ref and tpl["Resources"].get(ref, {}).get("Type") == "AWS::SNS::Topic":
            topics[var] = f"costopt-{ref}"
        else:
            raise AssertionError(f"cannot resolve {var}={value} for a local invoke")
    return env, queues, topics


PSEUDO_PARAMETERS = {
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/costopt/4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "AWS::StackName": "costopt", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
}
_METHOD_ORDER = {"PUT": 0, "POST": 1, "GET": 2, "DELETE": 3}


def _event_order(path: Path) -> tuple[int, str]:
    event = load_event(path)
    if "routeKey" in event:
        return _METHOD_ORDER.get(event["routeKey"].split(" ", 1)[0], 2), path.name
    return (0 if "Records" not in event else 1), path.name


def _invoke(name: str, build: Path, tmp_path: Path) -> dict[str, Any]:
    tpl = template()
    logical_id, res = next((k, v) for k, v in functions(tpl).items() if function_name(v) == name)
    env, queues, topics = _resolve_env(tpl, res)
    env.update({
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": f"costopt-{name}", "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "COSTOPT_CLOCK_AT": os.environ["COSTOPT_CLOCK_AT"],  # the session's pinned clock (tests/conftest.py)
    })
    # The sample events use the synthetic source, a plugin of the local stack that the layer does not ship:
    # the runner adds it as a deployment would, a second layer (just local/synthetic.py) it names in the env.
    plugin = tmp_path / "plugin-layer"
    (plugin / "local").mkdir(parents=True)
    (plugin / "local" / "__init__.py").write_text('"""The synthetic source plugin, alone."""\n')
    shutil.copy(ROOT / "local" / "synthetic.py", plugin / "local" / "synthetic.py")
    env["COSTOPT_SOURCE_PLUGINS"] = "local.synthetic"
    seed = None
    if name != "services":  # services creates its own service with its PUT event
        seed = {"service_id": "checkout-api", "body": json.loads(load_event(EVENTS / "services-put.json")["body"])}
    config = {
        "function": name,
        "function_dir": str(build / logical_id),
        "layer_python": str(build / "CoreLayer" / "python"),
        "plugin_python": str(plugin),
        "site_packages": site.getsitepackages(),
        "env": env, "queues": queues, "topics": topics,
        "tables": table_definitions(tpl),
        "prewarm_backends": MOTO_BACKENDS,
        "allowed_site_modules": sorted(RUNTIME_PROVIDED | _harness_modules()),
        "seed_service": seed,
        "seed_history": name in HISTORY_FUNCTIONS,
        "timeout_s": effective(res, "Timeout", tpl),
        "memory_mb": effective(res, "MemorySize", tpl),
        "events": [{"file": p.name, "event": load_event(p)} for p in sorted(events_of(name), key=_event_order)],
    }
    cfg_path = tmp_path / f"{name}.json"
    cfg_path.write_text(json.dumps(config))
    clean_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    # -B: write no .pyc into the build, so every run compiles the function and layer from source
    # like Lambda does (/opt and /var/task are read-only there, and sam build ships no .pyc).
    runner = str(Path(__file__).with_name("invoke_built.py"))
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", runner, str(cfg_path)], cwd=tmp_path, env=clean_env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@RESULT@@ ")]
    assert proc.returncode == 0 and lines, proc.stdout[-4000:] + proc.stderr[-6000:]
    result: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    result["stderr"] = proc.stderr[-6000:]
    return result


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS.values()))
def test_built_function_runs_every_sample_event(name: str, x86_build: Path, tmp_path: Path) -> None:
    if not handler_file(name).is_file():
        pytest.fail(f"functions/{name}/app.py does not exist yet, so it was not built")
    assert events_of(name), f"no events/{name}-*.json"
    result = _invoke(name, x86_build, tmp_path)
    assert "import_error" not in result, result["import_error"]
    record_import_time(name, result["import_s"])
    print(f"{name}: cold import {result['import_s'] * 1000:.1f} ms")

    layer = str(x86_build / "CoreLayer" / "python")
    assert result["app_file"].startswith(str(x86_build)), result["app_file"]
    assert result["costopt_file"] and result["costopt_file"].startswith(layer), result["costopt_file"]
    assert "seed_error" not in result, result.get("seed_error")

    if result["blocked_imports"]:  # optional imports that fell back, as they do in Lambda
        print(f"{name}: refused imports from outside the layer: {result['blocked_imports']}")
    missing = set(result["imported_from_site_packages"]) - RUNTIME_PROVIDED - _harness_modules()
    assert not missing, f"imported from outside the layer (missing from layers/core/requirements.txt?): {missing}"
    if name not in SIMULATING_FUNCTIONS:
        assert not result["numpy_before_import"]
        assert not result["numpy_after_import"], f"{name} imports numpy at cold start"
        assert not result["numpy_after_invoke"], f"{name} imported numpy while handling its events"

    for item in result["invocations"]:
        where = f"{name} {item['file']}"
        response = item.get("response")
        status = response.get("statusCode", "-") if isinstance(response, dict) else "-"
        detail = str(response.get("body") if status != "-" else response)[:200] if response is not None else ""
        print(f"  {item['file']:<28} {status}  {item['seconds'] * 1000:7.0f} ms  {detail}")
        assert "error" not in item, f"{where} raised:\n{item.get('error')}\n{result['stderr']}"
        response = item["response"]
        event = load_event(EVENTS / item["file"])
        if "routeKey" in event:
            status = response["statusCode"]
            if status == 501:  # a capability still open answers 501 problem+json
                assert response["content_type"] == "application/problem+json", where
            else:
                assert status < 500, f"{where} -> {status}: {response['body']}"
            if status >= 400:
                problem = json.loads(response["body"])
                assert problem["status"] == status and problem["title"], where
        elif "Records" in event:
            failures = response["batchItemFailures"]
            ids = {r["messageId"] for r in event["Records"]}
            assert isinstance(failures, list)
            assert {f["itemIdentifier"] for f in failures} <= ids, where
