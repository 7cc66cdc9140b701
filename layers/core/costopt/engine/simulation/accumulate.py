"""Accumulation: an evaluated grid reduced to day-pair tables, then gathered per sample for the days it drew.

An hour's outcome depends only on (simulated day, observed day drawn, hour of day), so each
resource's cost lines and clauses are summed over the hour axis once into (horizon_days x
observed_days) tables, and each sample's totals, breach hours and worst values are gathered from
them with its (samples x horizon_days) draws. This equals evaluating a (samples x hours) array
element by element; there is no Python loop over hours or samples (only over resources and clauses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.engine.simulation.grid import Evaluation
from costopt.engine.simulation.history import Array


@dataclass
class ClauseTable:
    limit: float
    lower_bound: bool
    hours: NDArray[np.int64]  # (horizon_days, observed_days): breached hours of that day pair
    worst: Array  # (horizon_days, observed_days): max (min for lower bounds) value of that day pair


@dataclass
class Tables:
    """One resource's evaluation reduced to day-pair tables (computed once, shared by both sides when
    the resource is unchanged)."""

    lines: dict[str, Array]  # (horizon_days, observed_days) cost of that day pair
    clauses: dict[str, ClauseTable]
    any_breach: NDArray[np.bool_]  # grid: any clause of this resource breached in that hour


def tables(ev: Evaluation, shape: tuple[int, int, int]) -> Tables:
    """One resource's evaluation reduced to day-pair tables: per-day cost, breached hours and worst values."""
    lines: dict[str, Array] = {}
    for line, cost in ev.lines.items():
        arr = np.asarray(cost, dtype=np.float64)
        day = arr.sum(axis=-1) if arr.ndim == 3 else np.broadcast_to(arr, shape).sum(axis=-1)
        lines[line] = np.broadcast_to(day, shape[:2])
    clauses: dict[str, ClauseTable] = {}
    any_breach = np.zeros(shape, dtype=bool)
    for clause in ev.clauses:
        value = np.broadcast_to(np.asarray(clause.value, dtype=np.float64), shape)
        if clause.breach is not None:
            breach = np.broadcast_to(np.asarray(clause.breach, dtype=bool), shape)
        elif clause.lower_bound:
            breach = value < clause.limit
        else:
            breach = ~(value <= clause.limit)  # NaN and inf fail
        np.logical_or(any_breach, breach, out=any_breach)
        worst = value.min(axis=-1) if clause.lower_bound else value.max(axis=-1)
        clauses[clause.name] = ClauseTable(limit=clause.limit, lower_bound=clause.lower_bound,
                                            hours=breach.sum(axis=-1), worst=worst)
    return Tables(lines=lines, clauses=clauses, any_breach=any_breach)


@dataclass
class SideTables:
    """Day-pair tables of one side (baseline or scenario), gathered per sample at the end."""

    shape: tuple[int, int, int]
    lines: dict[tuple[str, str], Array] = field(default_factory=dict)
    clauses: dict[tuple[str, str], ClauseTable] = field(default_factory=dict)
    any_breach: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        self.any_breach = np.zeros(self.shape, dtype=bool)

    def add(self, rid: str, tables: Tables) -> None:
        for line, day in tables.lines.items():
            self.lines[(rid, line)] = day
        for name, table in tables.clauses.items():
            self.clauses[(rid, name)] = table
        np.logical_or(self.any_breach, tables.any_breach, out=self.any_breach)


class Gather:
    """Per-sample sums/max/min over the horizon of day-pair tables, for the days each sample drew;
    memoized per table so a table shared by both sides is gathered once."""

    def __init__(self, idx: NDArray[np.int64], observed_days: int) -> None:
        self.flat = idx + (np.arange(idx.shape[1]) * observed_days)[None, :]
        self._memo: dict[tuple[int, str], NDArray[Any]] = {}

    def __call__(self, table: NDArray[Any], how: str) -> NDArray[Any]:
        key = (id(table), how)
        if key not in self._memo:
            drawn = np.take(np.ascontiguousarray(table).ravel(), self.flat)
            self._memo[key] = getattr(drawn, how)(axis=1)
        return self._memo[key]


@dataclass
class Samples:
    """Per-sample outcome of one side."""

    lines: dict[tuple[str, str], Array]  # cost over the horizon
    clause_hours: dict[tuple[str, str], NDArray[np.int64]]
    clause_worst: dict[tuple[str, str], Array]
    clauses: dict[tuple[str, str], ClauseTable]
    breach_hours: NDArray[np.int64]

    @classmethod
    def of(cls, side: SideTables, gather: Gather) -> Samples:
        lines = {k: gather(v, "sum") for k, v in side.lines.items()}
        hours = {k: gather(c.hours, "sum") for k, c in side.clauses.items()}
        worst = {k: gather(c.worst, "min" if c.lower_bound else "max") for k, c in side.clauses.items()}
        return cls(lines=lines, clause_hours=hours, clause_worst=worst, clauses=side.clauses,
                   breach_hours=gather(side.any_breach.sum(axis=-1), "sum"))

    def total(self, rid: str | None = None) -> Array:
        out = np.zeros(self.breach_hours.shape)
        for (r, _), v in self.lines.items():
            if rid is None or r == rid:
                out = out + v
        return out
