"""One clock: no module of the product (layers/core, functions) and no test reads the wall clock for
business time except ``costopt/clock.py`` (the product's clock) and ``tests/pin.py`` (the instant a test
session is pinned to). Elapsed-time reads (``time.monotonic``, ``time.perf_counter``) are not business time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "layers" / "core" / "costopt", ROOT / "functions"]
TESTS = [ROOT / "tests"]
ALLOWED = {ROOT / "layers" / "core" / "costopt" / "clock.py", ROOT / "tests" / "pin.py"}

# (module or class, attribute) pairs whose call reads the wall clock
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("time", "gmtime"), ("time", "localtime"),
              ("time", "ctime"), ("time", "asctime"), ("time", "strftime")}
WALL_CLOCK_NAMES = {"time", "time_ns", "gmtime", "localtime", "ctime", "asctime"}  # from time import ...


def wall_clock_reads(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: call`` for every wall-clock read in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imported_from_time = {alias.asname or alias.name for node in ast.walk(tree)
                          if isinstance(node, ast.ImportFrom) and node.module == "time"
                          for alias in node.names if alias.name in WALL_CLOCK_NAMES}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
            if (name, func.attr) in WALL_CLOCK:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {name}.{func.attr}()")
        elif isinstance(func, ast.Name) and func.id in imported_from_time:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {func.id}() from time")
    return found


def python_files(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if p not in ALLOWED)


def test_the_scanner_finds_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import time\nimport datetime as dt\nfrom datetime import date, datetime\n"
                      "from time import time as now\n"
                      "a = datetime.now()\nb = dt.datetime.utcnow()\nc = date.today()\nd = time.time()\ne = now()\n"
                      "f = time.monotonic()\ng = time.perf_counter()\n")
    reads = wall_clock_reads(sample, tmp_path)
    assert [r.split(": ", 1)[1] for r in reads] == [
        "datetime.now()", "datetime.utcnow()", "date.today()", "time.time()", "now() from time"]


@pytest.mark.parametrize("where", ["product", "tests"])
def test_only_the_clock_reads_the_wall_clock(where: str) -> None:
    files = python_files(PRODUCT if where == "product" else TESTS)
    assert len(files) > 20
    reads = [r for f in files for r in wall_clock_reads(f)]
    assert reads == [], "read costopt.clock.now() instead (tests: the pinned clock):\n" + "\n".join(reads)
