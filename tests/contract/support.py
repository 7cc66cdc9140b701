"""Helpers of the contract tests: template.yaml, the handlers' routes, `sam build` and the built artefacts.

Everything here is derived from template.yaml (read with local.template, short-form tags
included), so the tests follow the template instead of repeating it.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.template import TEMPLATE, load_template, resources_of_type

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FUNCTIONS_DIR = ROOT / "functions"
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CONTRACT_DIR = ROOT / ".aws-sam" / "contract"

# The functions DESIGN §2 names, by logical id; the template must declare exactly these.
EXPECTED_FUNCTIONS = {
    "ServicesFunction": "services",
    "RecommendFunction": "recommend",
    "SimulateFunction": "simulate",
    "ApplyFunction": "apply",
    "RollbackFunction": "rollback",
    "MetricsFunction": "metrics",
    "PullMetricsFunction": "pull_metrics",
    "RecomputeFunction": "recompute",
    "ActuateFunction": "actuate",
    "DiscoverFunction": "discover",
}
SCOPES = {"costopt/read", "costopt/write", "costopt/operate"}


def template() -> dict[str, Any]:
    """A private copy of the parsed template (load_template is cached and shared)."""
    return copy.deepcopy(load_template(TEMPLATE))


def functions(tpl: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return resources_of_type("AWS::Serverless::Function", tpl or template())


def function_name(resource: dict[str, Any]) -> str:
    """functions/<name>/ -> <name>."""
    return Path(resource["Properties"]["CodeUri"].rstrip("/")).name


def effective(resource: dict[str, Any], key: str, tpl: dict[str, Any]) -> Any:
    """A function property, falling back to Globals.Function."""
    props = resource.get("Properties", {})
    if key in props:
        return props[key]
    return tpl.get("Globals", {}).get("Function", {}).get(key)


def http_routes(resource: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, /path/{param}) -> the event's Auth block, for every HttpApi event of a function."""
    out = {}
    for event in resource.get("Properties", {}).get("Events", {}).values():
        if event.get("Type") != "HttpApi":
            continue
        props = event["Properties"]
        out[(props["Method"].upper(), props["Path"])] = props.get("Auth") or {}
    return out


def handler_file(name: str) -> Path:
    return FUNCTIONS_DIR / name / "app.py"


def require_handler(name: str) -> Path:
    path = handler_file(name)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} does not exist yet: template.yaml declares this function")
    return path


_loaded: dict[str, ModuleType] = {}


def import_handler(name: str) -> ModuleType:
    """Import functions/<name>/app.py under a private module name (every handler is called app)."""
    if name not in _loaded:
        path = require_handler(name)
        module_name = f"_contract_app_{name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        _loaded[name] = module
    return _loaded[name]


def events_of(name: str) -> list[Path]:
    """events/<name>-<what>.json."""
    return sorted(EVENTS.glob(f"{name}-*.json"))


def load_event(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def sam_bin() -> Path:
    if not SAM.exists():
        pytest.fail(f"SAM CLI not found at {SAM.relative_to(ROOT)}: run `make tools`")
    return SAM


def sam_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SAM_CLI_TELEMETRY"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_REGION", "us-east-1")
    return env


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


# ---------------------------------------------------------------- cold-import report

IMPORT_TIMES: dict[str, float] = {}


def record_import_time(name: str, seconds: float) -> None:
    IMPORT_TIMES[name] = seconds
