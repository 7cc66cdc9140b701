"""A text histogram of simulated monthly cost, drawn from the p10/p50/p90 the API returns.

``POST /v1/simulate`` answers percentiles of the bootstrapped monthly cost, not its samples, so the
histogram is an approximation, and says so: 40% of the mass spread evenly between p10 and p50, 40%
between p50 and p90, and each 10% tail spread evenly over half the width of the segment next to it
(a density half that segment's: a taper). Each series (baseline, scenario) gets its own axis: their
ranges rarely overlap.
"""

from __future__ import annotations

from collections.abc import Mapping

Segment = tuple[float, float, float]  # start, end, share of the samples
NOTE = "approximated from p10/p50/p90 (the API returns percentiles, not samples)"


def segments(p: Mapping[str, float]) -> list[Segment]:
    p10, p50, p90 = float(p["p10"]), float(p["p50"]), float(p["p90"])
    if not p10 <= p50 <= p90:
        raise ValueError(f"percentiles out of order: {p10}, {p50}, {p90}")
    return [(p10 - (p50 - p10) / 2, p10, 0.1), (p10, p50, 0.4), (p50, p90, 0.4), (p90, p90 + (p90 - p50) / 2, 0.1)]


def share(parts: list[Segment], lo: float, hi: float, last: bool = False) -> float:
    """The share of the samples in [lo, hi) ([lo, hi] for the last bin); a zero-width segment is a point."""
    total = 0.0
    for start, end, mass in parts:
        if end > start:
            total += mass * max(0.0, min(hi, end) - max(lo, start)) / (end - start)
        elif lo <= start < hi or (last and start == hi):
            total += mass
    return total


def histogram(name: str, percentiles: Mapping[str, float], bins: int = 12, width: int = 40,
              unit: str = "$") -> list[str]:
    """Lines of one series' histogram over its own range: per bin, a bar and its share of the samples."""
    parts = segments(percentiles)
    lo, hi = parts[0][0], parts[-1][1]
    if hi == lo:  # every sample at one cost
        hi, bins = lo + 0.01, 1
    step = (hi - lo) / bins
    edges = [lo + i * step for i in range(bins)] + [hi]
    shares = [share(parts, edges[i], edges[i + 1], last=i == bins - 1) for i in range(bins)]
    peak = max(shares) or 1.0
    labels = [f"{unit}{edges[i]:,.2f} - {unit}{edges[i + 1]:,.2f}" for i in range(bins)]
    label_width = max(len(label) for label in labels)
    lines = [f"{name} monthly cost, {NOTE}"]
    for label, value in zip(labels, shares, strict=True):
        lines.append(f"  {label:>{label_width}}  {'█' * round(value / peak * width):<{width}} {value:6.1%}")
    return lines
