"""How far a pull of one service's history got (``POST /v1/services/{service_id}/pull`` and its status)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from costopt.domain.common import Model, ServiceId


class PullProgress(Model):
    """How far a pull of one service got: the window it wants, and where each source has reached."""

    service_id: ServiceId
    state: Literal["done", "in_progress", "failed"]
    window_start: datetime
    window_end: datetime
    telemetry_reached: datetime | None = None
    billing_reached: datetime | None = None
    percent: float = Field(ge=0, le=100, description="Share of the telemetry window pulled")
    detail: str | None = None
