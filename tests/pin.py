"""The instant a test session runs at: ``COSTOPT_TEST_NOW`` (ISO 8601, e.g. 2026-12-31T23:30Z), else the
real time when the session started. tests/conftest.py hands it to the product as ``COSTOPT_CLOCK_AT``
(before costopt is imported), so every business "now" (costopt.clock) starts there, in this process
and in every subprocess the tests start. This is the only place the tests read the wall clock.

``make test`` runs the integration suite at now and again at a fixed instant; to try another date:
``COSTOPT_TEST_NOW=2028-02-29T12:00Z .venv/bin/pytest tests/integration/aws``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime


def _pinned_at() -> datetime:
    # the same parsing as costopt.clock.parse_instant, which can't be imported here: costopt reads the
    # environment at import, and this module sets it
    raw = os.environ.get("COSTOPT_TEST_NOW", "").strip()
    if not raw:
        return datetime.now(UTC)
    text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


PINNED_AT: datetime = _pinned_at()

# Instants the suites are known to pass at (month, year and leap-day boundaries, both ends of a UTC day);
# `make test-dates` runs the unit, aws and integration suites at each, and
# tests/integration/aws/test_clock_on_moto.py runs the register -> pull -> recommend -> budget path at each.
MATRIX = ("2026-12-01T00:30Z", "2026-12-01T20:00Z", "2026-12-02T11:00Z", "2026-12-31T23:30Z", "2028-02-29T12:00Z")
