"""The architecture's rules (DESIGN §2, "Layers"): imports point one way, modules own one idea and stay
small, handlers are thin, and the test tree mirrors the packages.

- The layers and the API's reach are import-linter contracts in pyproject.toml (``[tool.importlinter]``);
  this test runs ``lint-imports`` over them (direct and indirect imports, in functions too).
- No product module (``layers/core/costopt``) is over ``MAX_LINES`` lines, and each opens with a
  docstring whose first line states its idea.
- A handler (``functions/*/app.py``) imports only the API, the resolver, jobs and observability.
- ``tests/unit`` and ``tests/integration/aws`` mirror ``costopt``: each test module lives in the folder of
  the package it tests (``tests/unit/engine/simulation/`` for ``costopt.engine.simulation``; the top
  folder for the top-level modules such as ``costopt.clock``), or in a cross-cutting folder
  (``numbers``: figures that several packages must agree on; ``iam``: every module's declared AWS
  actions; ``local``: the local stack's own code; ``cli``: the command-line tool, ``cli/costopt_cli``, a
  package of its own that talks to costopt only over HTTP).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "core" / "costopt"
MAX_LINES = 400
HANDLER_IMPORTS = ("costopt.api", "costopt.http", "costopt.jobs", "costopt.observability")
MIRRORED = [ROOT / "tests" / "unit", ROOT / "tests" / "integration" / "aws"]
# test folders that are about the whole product rather than one package
CROSS_CUTTING = {"numbers", "iam", "local", "cli"}


def product_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_import_contracts_hold() -> None:
    """``lint-imports`` checks every contract in pyproject.toml against the real import graph."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "core"), str(ROOT)])}
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "broken" not in done.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("path", product_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_owns_one_stated_idea_in_at_most_400_lines(path: Path) -> None:
    text = path.read_text()
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES})"
    doc = ast.get_docstring(ast.parse(text))
    if path.name == "__init__.py" and not text.strip():
        return
    assert doc and doc.strip().splitlines()[0].strip(), f"{path.relative_to(ROOT)} states no idea in a docstring"


@pytest.mark.parametrize("handler", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_imports_only_the_api_jobs_and_observability(handler: Path) -> None:
    tree = ast.parse(handler.read_text())
    costopt_imports = [node.module for node in ast.walk(tree)
                       if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("costopt")]
    costopt_imports += [a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                        for a in node.names if a.name.startswith("costopt")]
    wrong = [m for m in costopt_imports if not m.startswith(HANDLER_IMPORTS)]
    assert not wrong, f"{handler.relative_to(ROOT)} imports {wrong}"


def test_the_test_tree_mirrors_the_packages() -> None:
    packages = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_dir()
                and p.name != "__pycache__" and p.name != "data"} | {""}
    top_level = tuple(f"test_{p.stem}" for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    misplaced = []
    for tree in MIRRORED:
        for test in tree.rglob("test_*.py"):
            folder = test.parent.relative_to(tree).as_posix()
            folder = "" if folder == "." else folder
            if folder == "" and not test.stem.startswith(top_level):
                misplaced.append(str(test.relative_to(ROOT)))  # the top folder holds top-level modules' tests
            elif folder not in packages and folder.split("/")[0] not in CROSS_CUTTING:
                misplaced.append(str(test.relative_to(ROOT)))
    assert not misplaced, f"test modules in folders that mirror no package: {misplaced}"
