"""Ladders: walk a kind's candidate sizes against the SLA and stop at the first compliant one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from costopt.engine.recommend.context import Context, Option

MAX_REJECTED_PER_ACTION = 3

T = TypeVar("T")


def ladder(ctx: Context, candidates: Sequence[T], build: Callable[[T], Option],
           max_rejected: int = MAX_REJECTED_PER_ACTION) -> list[Option]:
    """Walk ``candidates`` (best first, e.g. cheapest first) and stop at the first SLA-compliant option.

    Returns the failing options met on the way (at most ``max_rejected``, they become ``rejected``)
    followed by the compliant one, if any. Each returned option carries its verdict.
    """
    out: list[Option] = []
    for cand in candidates:
        opt = build(cand)
        opt.verdict = ctx.verdict(opt.prediction)
        if opt.verdict.compliant:
            out.append(opt)
            return out
        if len(out) < max_rejected:
            out.append(opt)
    return out


def monotone_ladder(ctx: Context, candidates: Sequence[T], build: Callable[[T], Option]) -> list[Option]:
    """Like ``ladder`` when compliance only improves along ``candidates`` (e.g. more replicas):
    binary-searches the first compliant one. Returns the cheapest candidate (if it fails), the one just
    below the first compliant (if it fails and differs), then the first compliant one."""
    if not candidates:
        return []
    checked: dict[int, Option] = {}

    def check(i: int) -> Option:
        if i not in checked:
            opt = build(candidates[i])
            opt.verdict = ctx.verdict(opt.prediction)
            checked[i] = opt
        return checked[i]

    def ok(i: int) -> bool:
        v = check(i).verdict
        return v is not None and v.compliant

    if ok(0):
        return [check(0)]
    lo, hi, first_ok = 1, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(mid):
            first_ok, hi = mid, mid - 1
        else:
            lo = mid + 1
    out = [check(0)]
    if first_ok is not None:
        if first_ok - 1 > 0:
            out.append(check(first_ok - 1))
        out.append(check(first_ok))
    return out


__all__ = ["MAX_REJECTED_PER_ACTION", "ladder", "monotone_ladder"]
