"""The one clock for business time ("now" in budgets, windows, ids, timestamps, expiries).

``now() -> datetime``                 the current UTC time of the process clock (always tz-aware)
``event_time(event) -> datetime``      a schedule event's ``time`` (never after ``now()``), else ``now()``
``use(clock) -> Clock``                replace the process clock; returns the previous one
``pinned(at, *, ticking=True)``        a context manager: the clock starts at ``at`` for the block
``SystemClock``, ``FixedClock(at)``, ``TickingClock(start)``
``as_utc(t)``, ``floor_hour(t)``, ``ceil_hour(t)``, ``floor_day(t)``   UTC calendar arithmetic (a naive
                                       datetime is taken as UTC)

The process clock is the system clock unless ``COSTOPT_CLOCK_AT`` (settings.clock_at) names an
instant: then it starts there and advances with real elapsed time (so ids and timestamps stay
ordered). Tests and demos use that to run at any date; a deployment never sets it.

Schedule handlers evaluate at their event's ``time`` (``event_time``), recompute messages at the
fan-out's ``scheduled_at``, and API requests at ``now()`` when they arrive.

Only this module reads the wall clock for business time (a contract test checks it). Elapsed-time
measurements (deadlines, retries, rate limits) use ``time.monotonic`` and are not business time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still at ``at`` until moved with ``advance``."""

    def __init__(self, at: datetime) -> None:
        self.at = as_utc(at)

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta

    def __repr__(self) -> str:
        return f"FixedClock({self.at.isoformat()})"


class TickingClock:
    """A clock that starts at ``start`` and advances with real elapsed (monotonic) time."""

    def __init__(self, start: datetime) -> None:
        self.start = as_utc(start)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)

    def __repr__(self) -> str:
        return f"TickingClock({self.start.isoformat()})"


def as_utc(t: datetime) -> datetime:
    """``t`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def parse_instant(raw: str) -> datetime:
    """An ISO-8601 instant (``2026-12-31T23:30Z``, ``...+00:00``; naive = UTC) as aware UTC."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))


def _initial() -> Clock:
    from costopt.config import settings

    return TickingClock(settings.clock_at) if settings.clock_at is not None else SystemClock()


_clock: Clock = _initial()


def now() -> datetime:
    """The current time of the process clock (aware, UTC)."""
    return as_utc(_clock.now())


def current() -> Clock:
    return _clock


def use(clock: Clock) -> Clock:
    """Make ``clock`` the process clock; returns the previous one (to restore it)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextmanager
def pinned(at: datetime, *, ticking: bool = True) -> Iterator[Clock]:
    """The process clock starts at ``at`` for the block (``ticking=False``: stands still there)."""
    clock: Clock = TickingClock(at) if ticking else FixedClock(at)
    previous = use(clock)
    try:
        yield clock
    finally:
        use(previous)


def event_time(event: Any) -> datetime:
    """When a schedule event says it fired (its ``time``), else now; never after now.

    EventBridge and EventBridge Scheduler put the scheduled time in ``time`` ("2026-12-01T05:00:00Z").
    A missing, malformed or future time (clock skew) is replaced by ``now()``.
    """
    current_time = now()
    raw = event.get("time") if isinstance(event, dict) else None
    if not raw:
        return current_time
    try:
        t = parse_instant(str(raw))
    except ValueError:
        return current_time
    return min(t, current_time)


__all__ = ["Clock", "FixedClock", "SystemClock", "TickingClock", "as_utc", "current", "event_time", "now",
           "parse_instant", "pinned", "use"]


def floor_hour(t: datetime) -> datetime:
    """The start of the UTC hour ``t`` falls in."""
    return as_utc(t).replace(minute=0, second=0, microsecond=0)


def ceil_hour(t: datetime) -> datetime:
    """``t`` itself when it is an hour's start, else the start of the next UTC hour."""
    floor = floor_hour(t)
    return floor if floor == as_utc(t) else floor + timedelta(hours=1)


def floor_day(t: datetime) -> datetime:
    """The start (00:00 UTC) of the UTC day ``t`` falls in."""
    return floor_hour(t).replace(hour=0)
