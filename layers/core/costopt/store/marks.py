"""What the observation store answers besides summaries: a source's watermarks, and what a fold did.

Plain dataclasses (no PynamoDB), so fakes and jobs use them without loading the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Watermarks:
    """A source's watermarks of one service: the service's, and the resources that are behind it."""

    at: datetime | None = None
    behind: Mapping[str, datetime] = field(default_factory=dict)

    def of(self, resource_id: str) -> datetime | None:
        """Every hour before this is folded (or given up) for the resource; None = never pulled."""
        own = self.behind.get(resource_id)
        if own is None:
            return self.at
        return own if self.at is None else min(own, self.at)


@dataclass
class FoldResult:
    points_folded: int = 0
    points_skipped: int = 0
    hours_folded: int = 0
    hours_skipped: int = 0
    items_written: int = 0
    retries: int = 0
    last_point_at: datetime | None = None

    def add(self, other: FoldResult) -> None:
        self.points_folded += other.points_folded
        self.points_skipped += other.points_skipped
        self.hours_folded += other.hours_folded
        self.hours_skipped += other.hours_skipped
        self.items_written += other.items_written
        self.retries += other.retries
        if other.last_point_at and (self.last_point_at is None or other.last_point_at > self.last_point_at):
            self.last_point_at = other.last_point_at
