"""Cold import of every function with the layer (DESIGN §10: < 500 ms; only simulate may import numpy).

For each ``functions/<name>/app.py``, ``RUNS`` fresh interpreters (``python -I``: no cwd, no PYTHONPATH)
with, as in Lambda, the function's directory (``/var/task``) then the layer (``layers/core`` standing in
for ``/opt/python``) first on ``sys.path``, and the environment a deployed function gets (region, table
names, Powertools settings). Timed: ``import app`` alone (interpreter start-up is not in it), median of the
runs; reported with whether ``numpy`` ended up in ``sys.modules`` (1) or not (0) and how many modules the
import loaded. Byte-code caches and the OS file cache are warm here, as on a warm Lambda host; a first
Lambda init also pays for unpacking and for the runtime itself. Reported, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "core"
FUNCTIONS = ROOT / "functions"
RUNS = 3
TIMEOUT_S = 30
BUDGET_S = 90  # past this, each remaining function gets one run (the row says how many)
NUMPY_ALLOWED = frozenset({"simulate"})

PROBE = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
before = set(sys.modules)
t, cpu = time.perf_counter(), time.process_time()
import app
ms, cpu_ms = (time.perf_counter() - t) * 1000.0, (time.process_time() - cpu) * 1000.0
assert callable(app.lambda_handler)
print(json.dumps({"ms": ms, "cpu_ms": cpu_ms, "numpy": "numpy" in sys.modules,
                  "modules": len(set(sys.modules) - before)}))
"""

Row = tuple[str, float, str]


def lambda_env(name: str) -> dict[str, str]:
    """What a deployed function's environment holds (no endpoints: nothing is called at import)."""
    from local.tables import table_env

    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "SYSTEMROOT")}
    env.update(table_env())
    env.update({
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": f"costopt-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "costopt", "POWERTOOLS_METRICS_NAMESPACE": "costopt",
        "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true",
    })
    return env


def cold_import(name: str) -> dict[str, float]:
    """One fresh interpreter importing functions/<name>/app.py; {"ms", "numpy", "modules"}."""
    proc = subprocess.run([sys.executable, "-I", "-c", PROBE, str(FUNCTIONS / name), str(LAYER)],
                          env=lambda_env(name), capture_output=True, text=True, timeout=TIMEOUT_S, cwd="/")
    if proc.returncode != 0:
        raise RuntimeError(f"import app of functions/{name} failed:\n{proc.stderr[-3000:]}")
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> list[Row]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    names = sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))
    rows: list[Row] = []
    worst = 0.0
    started = time.monotonic()
    for name in names:
        runs = [cold_import(name)]
        while len(runs) < RUNS and time.monotonic() - started < BUDGET_S:
            runs.append(cold_import(name))
        ms = statistics.median(r["ms"] for r in runs)
        cpu_ms = statistics.median(r["cpu_ms"] for r in runs)
        numpy = any(r["numpy"] for r in runs)
        worst = max(worst, ms)
        rows += [(f"{name}: import app (median of {len(runs)} fresh interpreters)", ms, "ms"),
                 (f"{name}: import app, CPU time of the interpreter", cpu_ms, "ms"),
                 (f"{name}: numpy imported (1 = yes; only simulate may)", float(numpy), "bool"),
                 (f"{name}: modules loaded by the import", float(statistics.median(r["modules"] for r in runs)),
                  "modules")]
        if numpy and name not in NUMPY_ALLOWED:
            rows.append((f"{name}: VIOLATION numpy imported by a function that does not simulate", 1.0, "bool"))
    rows.append(("slowest function import", worst, "ms"))
    rows.append(("load average (1 min) after the run", os.getloadavg()[0], f"on {os.cpu_count()} cpus"))
    return rows


if __name__ == "__main__":
    for row in main():
        print(f"{row[0]:<62} {row[1]:>10.1f} {row[2]}")
