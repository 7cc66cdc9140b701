"""API schemas of the apply and rollback routes: the rollback body and the page of a change history."""

from __future__ import annotations

from pydantic import Field

from costopt.domain.change import Change
from costopt.domain.common import Model


class RollbackRequest(Model):
    reason: str | None = Field(default=None, min_length=1, max_length=1024)


class ChangePage(Model):
    items: list[Change]
    next_token: str | None = None
