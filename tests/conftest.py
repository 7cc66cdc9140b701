"""Test-wide environment. PynamoDB Meta and Powertools read env vars at import time,
so the environment is set here, before any test module imports costopt."""

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.pin import PINNED_AT

# The business clock of this session (and of the processes it starts) begins at PINNED_AT.
os.environ["COSTOPT_TEST_NOW"] = PINNED_AT.isoformat()  # xdist workers and subprocesses pin the same instant
os.environ["COSTOPT_CLOCK_AT"] = PINNED_AT.isoformat()

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "costopt")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_DEV", "false")
# The synthetic telemetry/billing source is a plugin of the local stack (local/synthetic.py), not of the product.
os.environ.setdefault("COSTOPT_SOURCE_PLUGINS", "local.synthetic")


@pytest.fixture
def pin_clock() -> Iterator[Callable[..., Any]]:
    """``pin_clock(at, ticking=False)`` sets costopt's business clock for the rest of the test (standing
    still at ``at`` unless ``ticking``) and returns the clock; the session's clock is restored after."""
    from costopt import clock

    previous = clock.current()

    def pin(at: datetime, *, ticking: bool = False) -> Any:
        pinned = clock.TickingClock(at) if ticking else clock.FixedClock(at)
        clock.use(pinned)
        return pinned

    yield pin
    clock.use(previous)
