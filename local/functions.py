"""The functions of template.yaml as the local stack runs them: handler files loaded by path,
one Lambda context per call, one lock per function (a warm Lambda serves one event at a time,
and the Powertools resolver keeps per-request state on its module-level ``app``)."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ROOT, load_template, resources_of_type

FUNCTIONS_DIR = ROOT / "functions"
DEFAULT_TIMEOUT_S = 25
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    def __init__(self, function_name: str, memory_mb: int = 512, timeout_s: int = DEFAULT_TIMEOUT_S) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class FunctionDef:
    """One function: where its handler lives and how it is configured."""

    name: str  # the directory name under functions/, e.g. "services"
    handler_file: Path
    handler_attr: str = "lambda_handler"
    logical_id: str | None = None
    memory_mb: int = 512
    timeout_s: int = DEFAULT_TIMEOUT_S
    _module: ModuleType | None = field(default=None, repr=False, compare=False)

    @property
    def module_name(self) -> str:
        return f"costopt_local_fn_{self.name}"

    @property
    def lock(self) -> threading.Lock:
        """One lock per handler module, shared by every FunctionDef of it."""
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(self.module_name, threading.Lock())

    @property
    def exists(self) -> bool:
        return self.handler_file.is_file()

    def module(self) -> ModuleType:
        """The handler module, imported once under a unique name (``costopt_local_fn_<name>``)."""
        if self._module is None:
            with self.lock:
                self._module = load_module(self.handler_file, self.module_name)
        return self._module

    def handler(self) -> Any:
        return getattr(self.module(), self.handler_attr)

    def invoke(self, event: Any) -> Any:
        handler = self.handler()
        with self.lock:
            return handler(event, LambdaContext(self.logical_id or self.name, self.memory_mb, self.timeout_s))


def load_module(path: Path, module_name: str) -> ModuleType:
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) else default


def template_functions(template: dict[str, Any] | None = None) -> dict[str, FunctionDef]:
    """Every AWS::Serverless::Function of the template, keyed by logical id."""
    template = template or load_template()
    globals_fn = template.get("Globals", {}).get("Function", {})
    out = {}
    for logical_id, res in resources_of_type("AWS::Serverless::Function", template).items():
        props = res.get("Properties", {})
        code_uri = props.get("CodeUri", globals_fn.get("CodeUri"))
        handler = props.get("Handler", globals_fn.get("Handler", "app.lambda_handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            continue
        module_path, _, attr = handler.rpartition(".")
        code_dir = (ROOT / code_uri).resolve()
        out[logical_id] = FunctionDef(
            name=code_dir.name, handler_file=code_dir / (module_path.replace(".", "/") + ".py"),
            handler_attr=attr or "lambda_handler", logical_id=logical_id,
            memory_mb=_int(props.get("MemorySize", globals_fn.get("MemorySize")), 512),
            timeout_s=_int(props.get("Timeout", globals_fn.get("Timeout")), DEFAULT_TIMEOUT_S),
        )
    return out


def function_by_name(name: str, template: dict[str, Any] | None = None) -> FunctionDef:
    """A function by its directory name (``services``) or logical id; falls back to functions/<name>/app.py."""
    try:
        defs = template_functions(template)
    except FileNotFoundError:
        defs = {}
    for fn in defs.values():
        if name in (fn.name, fn.logical_id):
            return fn
    return FunctionDef(name=name, handler_file=FUNCTIONS_DIR / name / "app.py")
