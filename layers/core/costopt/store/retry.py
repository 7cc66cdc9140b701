"""Final writes retried on transient failures (no connection, a timeout, a throttle, a 5xx).

A change that was made must be recorded: ``retry_transient`` runs the write again after each of
``FINAL_WRITE_DELAYS_S`` (on top of botocore's own retries, ~4 s, inside any request); what still
fails is left to the recovery sweep. Which failures are transient is ``costopt.dependency``'s rule.
No PynamoDB here, so the jobs import it without loading the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
FINAL_WRITE_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # on top of botocore's own retries: ~4 s, inside any request


def is_transient(exc: BaseException) -> bool:
    """A failure a retry may cure (no connection, a timeout, a throttle, a 5xx): ``costopt.dependency``."""
    from costopt.dependency import dependency_failure

    return dependency_failure(exc) is not None


def retry_transient(write: Callable[[], T], delays: tuple[float, ...] = FINAL_WRITE_DELAYS_S) -> T:
    """Run ``write``, again after each of ``delays`` while it fails transiently (final transitions:
    a change that was made must be recorded; what still fails is left to the recovery sweep)."""
    for delay in delays:
        try:
            return write()
        except Exception as exc:
            if not is_transient(exc):
                raise
            time.sleep(delay)
    return write()
