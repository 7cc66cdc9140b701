"""From per-sample outcomes to the published result: p10/p50/p90 costs and the SLA summary of each side.

Monthly cost = horizon cost x 730 / horizon hours, per sample; p10/p50/p90 of baseline, scenario and
the paired savings; ``sla_probability`` = share of samples where every clause holds in every hour;
``expected_breach_hours`` = mean breached hours per sample.
"""

from __future__ import annotations

import math

import numpy as np

from costopt.domain.money import round_usd
from costopt.domain.simulation import BaselineOutcome, BreachedClause, Percentiles
from costopt.engine.simulation.accumulate import Samples
from costopt.engine.simulation.history import Array


class PercentileBatch:
    """p10/p50/p90 of many per-sample USD arrays in one numpy call (x ``scale``), published to the cent."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.arrays: list[Array] = []
        self.values: Array = np.zeros((0, 3))

    def add(self, values: Array) -> int:
        self.arrays.append(values)
        return len(self.arrays) - 1

    def compute(self) -> None:
        self.values = np.percentile(np.stack(self.arrays) * self.scale, [10, 50, 90], axis=1).T

    def get(self, i: int) -> Percentiles:
        p10, p50, p90 = (round_usd(float(v)) for v in self.values[i])
        return Percentiles(p10=p10, p50=p50, p90=p90)


def _finite(x: float) -> float | None:
    return round(x, 4) if math.isfinite(x) else None


def outcome(side: Samples, cost: Percentiles, cls: type[BaselineOutcome]) -> BaselineOutcome:
    """One side's published outcome: SLA probability, expected breach hours, and every clause's summary."""
    keys = list(side.clauses)
    worst_q: dict[tuple[str, str], float] = {}
    for lower in (False, True):
        group = [k for k in keys if side.clauses[k].lower_bound == lower]
        if group:
            stacked = np.stack([side.clause_worst[k] for k in group])
            values = (np.percentile(stacked, 1, axis=1, method="lower") if lower
                      else np.percentile(stacked, 99, axis=1, method="higher"))
            worst_q.update(zip(group, (float(v) for v in values), strict=True))
    clauses = []
    for key in keys:
        hours = side.clause_hours[key]
        rid, name = key
        clauses.append(BreachedClause(
            clause=name, resource_id=rid, limit=side.clauses[key].limit,
            probability=round(float((hours > 0).mean()), 6), expected_breach_hours=round(float(hours.mean()), 4),
            predicted_p99=_finite(worst_q[key])))
    clauses.sort(key=lambda b: (-b.probability, -b.expected_breach_hours, b.resource_id, b.clause))
    return cls(monthly_cost_usd=cost,
               sla_probability=round(float((side.breach_hours == 0).mean()), 6),
               expected_breach_hours=round(float(side.breach_hours.mean()), 4),
               breached_clauses=[c for c in clauses if c.probability > 0], clauses=clauses)
