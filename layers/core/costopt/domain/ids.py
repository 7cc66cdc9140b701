"""Identifier and etag factories: ULID-like time-ordered ids and opaque random etags (no I/O)."""

from __future__ import annotations

import os
import secrets
from datetime import datetime

from costopt import clock

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def time_ordered_id(prefix: str = "", at: datetime | None = None) -> str:
    """A ULID-like id: 10 chars of millisecond time then 16 random chars, lexically time-ordered."""
    ms = int((at or clock.now()).timestamp() * 1000)
    t = ""
    for _ in range(10):
        t = _CROCKFORD[ms % 32] + t
        ms //= 32
    rnd = int.from_bytes(secrets.token_bytes(10), "big")
    r = ""
    for _ in range(16):
        r = _CROCKFORD[rnd % 32] + r
        rnd //= 32
    return f"{prefix}{t}{r}"


def new_etag() -> str:
    """An opaque etag: 16 random hex characters."""
    return os.urandom(8).hex()


__all__ = ["new_etag", "time_ordered_id"]
