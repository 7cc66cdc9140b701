"""Run one *built* function the way Lambda would, in a clean interpreter.

Started by test_build.py as ``python -I -S invoke_built.py <config.json>``: no site-packages, no
PYTHONPATH, no repo on ``sys.path``. The path is then, in order: the built function's directory
(``/var/task``), the built layer's ``python`` dir (``/opt/python``), a plugin layer's (the synthetic
source the sample events name, ``COSTOPT_SOURCE_PLUGINS``), the standard library, and
last the dev environment's site-packages, which stands in for the Lambda runtime (boto3) and
carries moto for the mock. Once moto is up, any other top-level import that would come from that
last entry is refused with ModuleNotFoundError, exactly as in Lambda where it does not exist:
optional imports fall back, and a dependency missing from the layer fails loudly.

Prints one line ``@@RESULT@@ <json>`` with what happened; the test decides what is wrong.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import traceback
from typing import Any

MARKER = "@@RESULT@@"


class LambdaContext:
    def __init__(self, name: str, timeout_s: int, memory_mb: int) -> None:
        self.function_name = f"costopt-{name}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:costopt-{name}"
        self.aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
        self.log_group_name = f"/aws/lambda/costopt-{name}"
        self.log_stream_name = "2026/11/29/[$LATEST]contract"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _summary(out: Any) -> Any:
    if isinstance(out, dict) and "statusCode" in out:
        headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        body = out.get("body")
        return {"statusCode": out["statusCode"], "content_type": headers.get("content-type"),
                "body": body[:4000] if isinstance(body, str) else body}
    try:
        return json.loads(json.dumps(out, default=str))
    except (TypeError, ValueError):
        return repr(out)[:4000]


def _top_level(module: Any) -> str | None:
    return getattr(module, "__name__", "").split(".", 1)[0] or None


class OutsideLayerBlocker(importlib.abc.MetaPathFinder):
    """Refuse top-level imports that only the dev environment's site-packages could satisfy."""

    def __init__(self, site_dirs: tuple[str, ...], allowed: set[str]) -> None:
        self.site_dirs = site_dirs
        self.allowed = allowed
        self.blocked: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if path is not None or fullname in self.allowed:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, sys.path)
        origin = (spec.origin if spec and spec.origin not in (None, "namespace") else None) or (
            next(iter(spec.submodule_search_locations or []), None) if spec else None)
        if origin and os.path.realpath(origin).startswith(self.site_dirs):
            self.blocked.add(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r} (not in the layer)", name=fullname)
        return None


def main() -> int:
    with open(sys.argv[1]) as fh:
        cfg = json.load(fh)
    sys.path[:0] = [cfg["function_dir"], cfg["layer_python"], *filter(None, [cfg.get("plugin_python")])]
    sys.path.extend(cfg["site_packages"])
    os.environ.update(cfg["env"])

    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    import boto3
    import moto.backends

    for service in cfg["prewarm_backends"]:  # moto imports a backend on first use; do it before the snapshot
        moto.backends.get_backend(service)
    ddb = boto3.client("dynamodb")
    for definition in cfg["tables"]:
        ddb.create_table(**definition["create"])
        if definition.get("ttl"):
            ddb.update_time_to_live(TableName=definition["create"]["TableName"],
                                    TimeToLiveSpecification=definition["ttl"])
    for var, name in cfg["queues"].items():
        os.environ[var] = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    for var, name in cfg["topics"].items():
        os.environ[var] = boto3.client("sns").create_topic(Name=name)["TopicArn"]

    result: dict[str, Any] = {"function": cfg["function"], "invocations": []}
    site = tuple(os.path.realpath(p) + os.sep for p in cfg["site_packages"])
    blocker = OutsideLayerBlocker(site, set(cfg["allowed_site_modules"]))
    sys.meta_path.insert(0, blocker)
    before = set(sys.modules)
    result["numpy_before_import"] = "numpy" in sys.modules
    t0 = time.perf_counter()
    try:
        import app  # the built function, from function_dir
    except Exception:
        result["import_error"] = traceback.format_exc()
        print(MARKER, json.dumps(result))
        return 0
    result["import_s"] = time.perf_counter() - t0
    result["numpy_after_import"] = "numpy" in sys.modules
    costopt = sys.modules.get("costopt")
    result["app_file"] = app.__file__
    result["costopt_file"] = getattr(costopt, "__file__", None)

    seed = cfg.get("seed_service")
    if seed:
        try:
            from costopt.domain.service import ServicePut
            from costopt.store.services import ServiceRepository

            ServiceRepository().put(seed["service_id"], ServicePut.model_validate(seed["body"]))
        except Exception:
            result["seed_error"] = traceback.format_exc()
    if seed and cfg.get("seed_history") and "seed_error" not in result:
        try:  # the hourly job fills the seeded service's observations from its synthetic source
            from costopt import clock
            from costopt.jobs.pull_metrics import run

            report = run(clock.now(), 300.0, [seed["service_id"]])
            result["seed_history"] = report.model_dump(mode="json")
        except Exception:
            result["seed_error"] = traceback.format_exc()

    for item in cfg["events"]:
        context = LambdaContext(cfg["function"], cfg["timeout_s"], cfg["memory_mb"])
        entry: dict[str, Any] = {"file": item["file"]}
        t1 = time.perf_counter()
        try:
            entry["response"] = _summary(app.lambda_handler(item["event"], context))
        except Exception:
            entry["error"] = traceback.format_exc()
        entry["seconds"] = time.perf_counter() - t1
        result["invocations"].append(entry)

    result["numpy_after_invoke"] = "numpy" in sys.modules
    result["blocked_imports"] = sorted(blocker.blocked)
    from_site = set()
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path).startswith(site):
            top = _top_level(module)
            if top:
                from_site.add(top)
    result["imported_from_site_packages"] = sorted(from_site)
    mock.stop()
    print(MARKER, json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
