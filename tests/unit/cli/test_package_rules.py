"""The CLI's own rules: it talks to costopt only over HTTP (no import of ``costopt`` or ``local``), and its
modules follow the repository's (a docstring first, at most 400 lines)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "cli" / "costopt_cli"
MODULES = sorted(PACKAGE.glob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_package_is_there():
    assert {"app.py", "client.py", "config.py", "output.py", "histogram.py"} <= {p.name for p in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_module_imports_neither_costopt_nor_local(module: Path):
    roots = {name.split(".")[0] for name in imported(ast.parse(module.read_text()))}
    assert not roots & {"costopt", "local", "tests", "boto3", "botocore"}, roots


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_module_opens_with_a_docstring_and_stays_small(module: Path):
    text = module.read_text()
    assert ast.get_docstring(ast.parse(text)), module.name
    assert len(text.splitlines()) <= 400, module.name
