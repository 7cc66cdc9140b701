"""Unit tests run without AWS: pure code (engine, domain, pricing, observe, the sketch, the queueing
math) and jobs on the in-memory repositories of ``tests/fakes.py`` (``costopt.deps`` overrides). Any
request botocore would send fails at once, so a test that reaches AWS or DynamoDB is caught here; it
belongs in ``tests/integration/aws`` (moto) or ``tests/integration/stack`` (DynamoDB Local)."""

from __future__ import annotations

from typing import Any, NoReturn

import botocore.endpoint
import pytest

from local.tables import export_table_env
from tests.support.lambda_context import LambdaContext

export_table_env()  # the table names a deployment sets (costopt reads its settings once)


def _no_aws(*_: Any, **__: Any) -> NoReturn:
    raise RuntimeError("a unit test sent an AWS request: move it to tests/integration/aws (moto), or give the "
                       "job a fake repository (tests/fakes.py, costopt.deps.override)")


botocore.endpoint.Endpoint._send = _no_aws  # type: ignore[method-assign]


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()
