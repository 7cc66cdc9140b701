"""Sizing as a chain of steps: target (a percentile of the usage) -> headroom -> floor -> step to what exists.

In the spirit of the Kubernetes VPA recommender's estimator chain (a percentile estimator wrapped by
``WithMargin`` and ``WithMinResources``): each step takes the size the previous one gave and returns a new
one, so a recommender states its sizing rule as the steps it composes, e.g. the DynamoDB capacity

    size(p99_consumed, at_utilization(0.7), floor(1), step(1))

The target is read by the recommender (``ResourceUsage.quantile``, the sizing percentile). ``headroom``
multiplies (memory x 1.2), ``at_utilization`` divides by the target utilization (CPU / 0.7), ``floor``
never goes below a minimum, ``step`` rounds up to a multiple (64 MB, 100 IOPS, 0.1 core, whole units) and
``first_fit`` picks from the ladder of sizes a kind offers (Fargate pairs, instance types).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

Step = Callable[[float], float]
T = TypeVar("T")


def size(target: float, *steps: Step) -> float:
    """``target`` through ``steps`` in order."""
    for step_ in steps:
        target = step_(target)
    return target


def headroom(factor: float) -> Step:
    """x ``factor`` (e.g. the memory headroom 1.2)."""
    return lambda v: v * factor


def at_utilization(target: float) -> Step:
    """/ ``target``: what runs the value at the target utilization (e.g. 0.7)."""
    return lambda v: v / target


def floor(minimum: float) -> Step:
    """At least ``minimum`` (a baseline, one unit, the smallest size)."""
    return lambda v: max(minimum, v)


def ceil_to(value: float, step_: float) -> float:
    """``value`` rounded up to a multiple of ``step_`` (within 1e-9 of a multiple counts as on it)."""
    return math.ceil(value / step_ - 1e-9) * step_


def step(increment: float) -> Step:
    """Up to the next multiple of ``increment`` (sizes that exist in steps)."""
    return lambda v: ceil_to(v, increment)


def first_fit(ladder: Iterable[T], fits: Callable[[T], bool]) -> list[T]:
    """The sizes of ``ladder`` (a kind's sizes, best first) that hold the target: the candidates to walk."""
    return [s for s in ladder if fits(s)]


__all__ = ["Step", "at_utilization", "ceil_to", "first_fit", "floor", "headroom", "size", "step"]
