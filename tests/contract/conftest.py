"""Contract tests (DESIGN §9): template.yaml, the handlers' routes, `sam build` and the built
artefacts. Run alone with `.venv/bin/pytest tests/contract`; helpers live in support.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.support import IMPORT_TIMES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.contract)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not IMPORT_TIMES:
        return
    terminalreporter.section("cold import of built functions (x86_64 build, layer as /opt/python)")
    for name, seconds in sorted(IMPORT_TIMES.items()):
        terminalreporter.write_line(f"  {name:<14} {seconds * 1000:8.1f} ms   (target < 500 ms, not asserted)")
