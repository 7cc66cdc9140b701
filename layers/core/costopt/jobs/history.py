"""The change history of a service: its config changes newest first, and one change with its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from costopt.domain.change import Change
from costopt.jobs.services import service_repository

if TYPE_CHECKING:
    from costopt.store.changes import ChangeRepository


def change_repository() -> ChangeRepository:
    from costopt.store.changes import ChangeRepository

    return ChangeRepository()


def change_history(service_id: str, limit: int = 50,
                   next_token: str | None = None) -> tuple[list[Change], str | None]:
    """A page of the service's changes, newest first (404 for an unknown service, not an empty page)."""
    service_repository().get(service_id)
    return change_repository().history(service_id, limit=limit, next_token=next_token)


def get_change(service_id: str, change_id: str) -> Change:
    """One change with its steps: the progress of an accepted change (404 when unknown)."""
    return change_repository().get(service_id, change_id)
