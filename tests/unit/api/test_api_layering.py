"""The API layer reaches the product through jobs: no route module (nor costopt.http) imports store,
connectors, actuators, engine, observe or pricing itself, at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "layers" / "core" / "costopt"
FORBIDDEN = ("costopt.store", "costopt.connectors", "costopt.actuators", "costopt.engine", "costopt.pricing",
             "costopt.observe")
API_MODULES = [*sorted((PACKAGE / "api").rglob("*.py")), PACKAGE / "http.py", PACKAGE / "errors.py"]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", API_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_api_modules_import_jobs_not_the_layers_below(path: Path) -> None:
    wrong = sorted(m for m in imported(path) if m.startswith(FORBIDDEN))
    assert wrong == [], f"{path.name} imports {wrong}"


def test_errors_import_nothing_of_costopt() -> None:
    assert not {m for m in imported(PACKAGE / "errors.py") if m.startswith("costopt")}
