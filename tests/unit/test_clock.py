"""One injectable clock (costopt.clock): how it is pinned, event times, and a product that is a
deterministic function of (seed, clock) -- the same pinned instant gives the same data and figures."""


from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from costopt import clock
from tests.pin import MATRIX, PINNED_AT

ROOT = Path(__file__).resolve().parents[2]


def test_the_session_clock_starts_at_the_pinned_instant() -> None:
    assert os.environ["COSTOPT_CLOCK_AT"] == PINNED_AT.isoformat()
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert PINNED_AT <= now < PINNED_AT + timedelta(hours=2)  # a session never runs for 2 hours


def test_a_ticking_clock_advances_and_a_fixed_one_stands_still() -> None:
    at = datetime(2028, 2, 29, 12, tzinfo=UTC)
    with clock.pinned(at) as ticking:
        first, second = clock.now(), clock.now()
        assert at <= first <= second < at + timedelta(seconds=5) and isinstance(ticking, clock.TickingClock)
    with clock.pinned(at, ticking=False) as fixed:
        assert clock.now() == clock.now() == at
        assert isinstance(fixed, clock.FixedClock)
        fixed.advance(timedelta(minutes=90))
        assert clock.now() == datetime(2028, 2, 29, 13, 30, tzinfo=UTC)
    assert clock.now() >= PINNED_AT  # restored


def test_naive_and_offset_instants_are_utc() -> None:
    assert clock.parse_instant("2026-12-31T23:30Z") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.parse_instant("2027-01-01T00:30:00+01:00") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.parse_instant("2026-12-31T23:30:00") == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    with clock.pinned(datetime(2026, 12, 1, 0, 30), ticking=False):
        assert clock.now() == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("event", "expected"), [
    ({"time": "2026-12-01T05:00:00Z"}, datetime(2026, 12, 1, 5, tzinfo=UTC)),  # the schedule's own time
    ({"time": "2026-12-01T06:00:00+01:00"}, datetime(2026, 12, 1, 5, tzinfo=UTC)),
    ({"time": "2026-12-01T21:00:00Z"}, datetime(2026, 12, 1, 20, tzinfo=UTC)),  # in the future: now
    ({"time": "yesterday"}, datetime(2026, 12, 1, 20, tzinfo=UTC)),
    ({}, datetime(2026, 12, 1, 20, tzinfo=UTC)),
    ("not an event", datetime(2026, 12, 1, 20, tzinfo=UTC)),
])
def test_event_time_is_the_schedules_time_never_after_now(event: Any, expected: datetime) -> None:
    with clock.pinned(datetime(2026, 12, 1, 20, tzinfo=UTC), ticking=False):
        assert clock.event_time(event) == expected


def test_the_environment_pins_a_new_process() -> None:
    code = "from costopt import clock; print(clock.now().isoformat(), type(clock.current()).__name__)"
    env = {**os.environ, "COSTOPT_CLOCK_AT": "2028-02-29T12:00:00Z"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    stamp, kind = out.stdout.split()
    assert kind == "TickingClock" and stamp.startswith("2028-02-29T12:00:0")
    unset = {k: v for k, v in env.items() if k != "COSTOPT_CLOCK_AT"}
    out = subprocess.run([sys.executable, "-c", code], env=unset, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split()[1] == "SystemClock"


def test_make_test_dates_runs_the_matrix() -> None:
    makefile = (ROOT / "Makefile").read_text()
    line = next(ln for ln in makefile.splitlines() if ln.startswith("DATES :="))
    assert tuple(line.split(":=", 1)[1].split()) == MATRIX
