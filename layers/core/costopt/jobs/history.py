"""The change history of a service: its config changes newest first, and one change with its steps."""

from __future__ import annotations

from costopt import deps
from costopt.domain.change import Change


def change_history(service_id: str, limit: int = 50,
                   next_token: str | None = None) -> tuple[list[Change], str | None]:
    """A page of the service's changes, newest first (404 for an unknown service, not an empty page)."""
    deps.services().get(service_id)
    return deps.changes().history(service_id, limit=limit, next_token=next_token)


def get_change(service_id: str, change_id: str) -> Change:
    """One change with its steps: the progress of an accepted change (404 when unknown)."""
    return deps.changes().get(service_id, change_id)
