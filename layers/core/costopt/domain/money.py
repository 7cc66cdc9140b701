"""Money as users see it: one rounding rule for every USD figure costopt publishes.

``round_usd(value, cents=2) -> float``          half up to the cent (28.835 -> 28.84), binary noise dropped
``savings(current_usd, proposed_usd) -> Savings`` the figures of a saving, rounded once, that add up

Every cost, saving, budget and forecast in a response goes through ``round_usd`` exactly once, at
the point it is published; arithmetic before that is unrounded. A saving is derived from the
*rounded* current and proposed costs (savings = current - proposed, as displayed), and its
percentage and priority are computed from those same rounded figures, so that
``proposed + savings == current`` to the cent in every response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

_CONTEXT = Context(prec=60)  # enough digits for any float magnitude at 1e-9 resolution
_NOISE = Decimal("1e-9")


def round_usd(value: float, cents: int = 2) -> float:
    """Half up to ``cents`` decimals (28.835 -> 28.84, -0.125 -> -0.13). Binary noise below 1e-9 is
    dropped first, so 33.214999999999996 (= 100 x 730 x 0.00013 + 50 x 730 x 0.00065) presents as
    33.22 like the exact sum, and 173.30 - 120.88 (= 52.42000000000002) as 52.42."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite amount of money: {value!r}")
    cleaned = Decimal(repr(value)).quantize(_NOISE, context=_CONTEXT)
    rounded = cleaned.quantize(Decimal(1).scaleb(-cents), rounding=ROUND_HALF_UP, context=_CONTEXT)
    return float(rounded) + 0.0  # + 0.0: never publish -0.0


@dataclass(frozen=True)
class Savings:
    """A saving as published: every figure rounded to the cent, and they add up."""

    current_usd: float
    proposed_usd: float
    savings_usd: float
    savings_pct: float


def savings(current_usd: float, proposed_usd: float) -> Savings:
    """Round current and proposed once each; savings = their difference; percent of the rounded current."""
    current = round_usd(current_usd)
    proposed = round_usd(proposed_usd)
    saved = round_usd(current - proposed)
    pct = round(saved / current * 100.0, 2) if current > 0 else 0.0
    return Savings(current_usd=current, proposed_usd=proposed, savings_usd=saved, savings_pct=pct)


__all__ = ["Savings", "round_usd", "savings"]
