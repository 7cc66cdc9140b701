"""Mergeable metric summaries: a DDSketch (1 % relative accuracy) plus exact count/sum/min/max.

Public API
----------
``RELATIVE_ACCURACY = 0.01``

``MetricSummary()`` — a mergeable summary of many values of one metric.
    ``add(v: float) -> None``; ``extend(values: Iterable[float]) -> None``;
    ``merge(other: MetricSummary) -> None`` (in place); ``MetricSummary.merged(items) -> MetricSummary`` (new);
    ``quantile(q: float) -> float | None`` (q in [0, 1], None when empty; within 1 % of the exact
    value at rank ``floor(q*(n-1))``, clamped to [min, max]); ``percentile(p: float)`` (p in [0, 100]);
    ``mean -> float | None``; attributes ``count: int``, ``sum: float``, ``min: float | None``,
    ``max: float | None``; ``bins() -> dict[str, dict[int, float]]`` (the sketch's key → count, for tests);
    ``encode() -> bytes`` / ``MetricSummary.decode(data: bytes) -> MetricSummary`` — a compact
    zlib-compressed JSON of the sketch bins; round-trips exactly (``decode(s.encode()) == s``).

``DaySummary(day: date, period_s: int = 300)`` — one UTC day of one (resource, metric):
    ``summary: MetricSummary``, ``hourly: dict[int, HourlyAggregate]`` (hour of day → aggregate),
    ``hours: set[int]`` (hours already folded: the idempotency record).
    ``fold(points: Iterable[Datapoint], period_s: int | None = None) -> int`` adds the points whose hour
    is not in ``hours`` yet and marks those hours (a point of a period ≥ 1 h covers every hour of its
    period within the day). Returns the number of points added; replaying the same hours adds 0.
    ``hourly_list() -> list[HourlyAggregate]`` sorted; ``encode_hourly() -> str`` /
    ``decode_hourly(day, text)`` compact JSON of the 24 aggregates.

``group_by_day(series: Iterable[Series]) -> dict[(resource_id, Metric, date), (period_s, list[Datapoint])]``
    groups connector output per day item (an hour present in two series is kept from the first only).

``day_of(t: datetime) -> date`` (UTC), ``day_start(d: date) -> datetime``.

Pure Python, no numpy, no I/O.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ddsketch import DDSketch

from costopt.domain.observation import Datapoint, HourlyAggregate, Metric, Series

RELATIVE_ACCURACY = 0.01
_FORMAT = 1


def day_of(t: datetime) -> date:
    return _utc(t).date()


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is UTC:
        return t
    if t.tzinfo is None:
        return t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _num(x: float) -> float | int:
    """JSON-compact number: integral floats as ints (exact for |x| < 2**53)."""
    if x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _store_bins(store: object) -> dict[int, float]:
    count = getattr(store, "count", 0)
    if not count:
        return {}
    bins: list[float] = store.bins  # type: ignore[attr-defined]
    offset: int = store.offset  # type: ignore[attr-defined]
    lo: int = store.min_key  # type: ignore[attr-defined]
    hi: int = store.max_key  # type: ignore[attr-defined]
    return {k: bins[k - offset] for k in range(lo, hi + 1) if bins[k - offset]}


def _encode_bins(bins: dict[int, float]) -> list[object]:
    """[first_key, [count, ...]] over the dense key range (zeros inside the range kept)."""
    if not bins:
        return []
    lo, hi = min(bins), max(bins)
    return [lo, [_num(bins.get(k, 0.0)) for k in range(lo, hi + 1)]]


def _decode_bins(enc: list[object]) -> dict[int, float]:
    if not enc:
        return {}
    lo = int(enc[0])  # type: ignore[call-overload]
    counts = enc[1]
    assert isinstance(counts, list)
    return {lo + i: float(c) for i, c in enumerate(counts) if c}


class MetricSummary:
    """count/sum/min/max exactly, quantiles from a DDSketch with 1 % relative accuracy."""

    __slots__ = ("count", "max", "min", "sketch", "sum")

    def __init__(self) -> None:
        self.sketch = DDSketch(RELATIVE_ACCURACY)
        self.count = 0
        self.sum = 0.0
        self.min: float | None = None
        self.max: float | None = None

    # ------------------------------------------------------------------ building

    def add(self, v: float) -> None:
        v = float(v)
        if not math.isfinite(v):
            return
        self.sketch.add(v)
        self.count += 1
        self.sum += v
        if self.min is None or v < self.min:
            self.min = v
        if self.max is None or v > self.max:
            self.max = v

    def extend(self, values: Iterable[float]) -> None:
        """Add many values at once (same result as ``add`` one by one, much faster)."""
        vals = [float(v) for v in values]
        vals = [v for v in vals if math.isfinite(v)]
        if not vals:
            return
        sk = self.sketch
        mapping = sk._mapping
        tiny = mapping.min_possible
        key = mapping.key
        pos: dict[int, int] = {}
        neg: dict[int, int] = {}
        zeros = 0
        for v in vals:
            if v > tiny:
                k = key(v)
                pos[k] = pos.get(k, 0) + 1
            elif v < -tiny:
                k = key(-v)
                neg[k] = neg.get(k, 0) + 1
            else:
                zeros += 1
        for k, c in pos.items():
            sk._store.add(k, float(c))
        for k, c in neg.items():
            sk._negative_store.add(k, float(c))
        sk._zero_count += float(zeros)
        n, total, lo, hi = len(vals), math.fsum(vals), min(vals), max(vals)
        sk._count += float(n)
        sk._sum += total
        sk._min = min(sk._min, lo)
        sk._max = max(sk._max, hi)
        self.count += n
        self.sum += total
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)

    def merge(self, other: MetricSummary) -> None:
        if other.count == 0:
            return
        self.sketch.merge(other.sketch)
        self.count += other.count
        self.sum += other.sum
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max

    @classmethod
    def merged(cls, items: Iterable[MetricSummary]) -> MetricSummary:
        out = cls()
        for s in items:
            out.merge(s)
        return out

    # ------------------------------------------------------------------ reading

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q}")
        if self.count == 0:
            return None
        v = self.sketch.get_quantile_value(q)
        if v is None:
            return None
        assert self.min is not None and self.max is not None
        return float(min(max(float(v), self.min), self.max))

    def percentile(self, p: float) -> float | None:
        return self.quantile(p / 100.0)

    def bins(self) -> dict[str, dict[int, float]]:
        """The sketch's bins: ``{"positive": {key: count}, "negative": {key: count}, "zero": {0: count}}``."""
        zero = float(self.sketch._zero_count)
        return {"positive": _store_bins(self.sketch._store),
                "negative": _store_bins(self.sketch._negative_store),
                "zero": {0: zero} if zero else {}}

    # ------------------------------------------------------------------ codec

    def to_json(self) -> dict[str, object]:
        return {
            "v": _FORMAT,
            "c": self.count,
            "s": self.sum,
            "lo": self.min,
            "hi": self.max,
            "p": _encode_bins(_store_bins(self.sketch._store)),
            "n": _encode_bins(_store_bins(self.sketch._negative_store)),
            "z": _num(float(self.sketch._zero_count)),
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> MetricSummary:
        out = cls()
        sk = out.sketch
        for k, c in _decode_bins(doc.get("p") or []).items():  # type: ignore[arg-type]
            sk._store.add(k, c)
        for k, c in _decode_bins(doc.get("n") or []).items():  # type: ignore[arg-type]
            sk._negative_store.add(k, c)
        sk._zero_count = float(doc.get("z") or 0)  # type: ignore[arg-type]
        out.count = int(doc.get("c") or 0)  # type: ignore[call-overload]
        out.sum = float(doc.get("s") or 0.0)  # type: ignore[arg-type]
        lo, hi = doc.get("lo"), doc.get("hi")
        out.min = None if lo is None else float(lo)  # type: ignore[arg-type]
        out.max = None if hi is None else float(hi)  # type: ignore[arg-type]
        sk._count = float(sk._store.count + sk._negative_store.count + sk._zero_count)
        sk._sum = out.sum
        sk._min = out.min if out.min is not None else float("inf")
        sk._max = out.max if out.max is not None else float("-inf")
        return out

    def encode(self) -> bytes:
        raw = json.dumps(self.to_json(), separators=(",", ":")).encode()
        return zlib.compress(raw, 6)

    @classmethod
    def decode(cls, data: bytes) -> MetricSummary:
        return cls.from_json(json.loads(zlib.decompress(data)))

    # ------------------------------------------------------------------ misc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricSummary):
            return NotImplemented
        return (self.count == other.count and self.sum == other.sum and self.min == other.min
                and self.max == other.max and self.bins() == other.bins())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MetricSummary(count={self.count}, sum={self.sum:.6g}, min={self.min}, max={self.max})"


@dataclass
class DaySummary:
    """One UTC day of one (resource, metric): sketch + hourly aggregates + hours already folded."""

    day: date
    period_s: int = 300
    summary: MetricSummary = field(default_factory=MetricSummary)
    hourly: dict[int, HourlyAggregate] = field(default_factory=dict)
    hours: set[int] = field(default_factory=set)

    def fold(self, points: Iterable[Datapoint], period_s: int | None = None) -> int:
        """Add the points of hours not folded yet; returns how many points were added."""
        period = int(period_s or self.period_s)
        by_hour: dict[int, list[float]] = {}
        start = day_start(self.day)
        day0 = int(start.timestamp())
        for p in points:
            offset = int(_utc(p.t).timestamp()) - day0
            if not 0 <= offset < 86400:
                raise ValueError(f"point at {p.t.isoformat()} is not on {self.day.isoformat()}")
            by_hour.setdefault(offset // 3600, []).append(p.v)
        added = 0
        span = max(1, period // 3600)
        for h in sorted(by_hour):
            if h in self.hours:
                continue
            values = [float(v) for v in by_hour[h] if math.isfinite(v)]
            if values:
                self.summary.extend(values)
                added += len(values)
                self.hourly[h] = HourlyAggregate(hour=start + timedelta(hours=h), count=len(values),
                                                 sum=math.fsum(values), min=min(values), max=max(values))
            for covered in range(h, min(24, h + span)):
                self.hours.add(covered)
        if added and period != self.period_s and self.summary.count == added:
            self.period_s = period
        return added

    def hourly_list(self) -> list[HourlyAggregate]:
        return [self.hourly[h] for h in sorted(self.hourly)]

    def encode_hourly(self) -> str:
        return json.dumps({str(h): [a.count, a.sum, a.min, a.max] for h, a in sorted(self.hourly.items())},
                          separators=(",", ":"))

    @staticmethod
    def decode_hourly(day: date, text: str | None) -> dict[int, HourlyAggregate]:
        if not text:
            return {}
        start = day_start(day)
        out: dict[int, HourlyAggregate] = {}
        for h, (c, s, lo, hi) in json.loads(text).items():
            hour = int(h)
            out[hour] = HourlyAggregate(hour=start + timedelta(hours=hour), count=int(c), sum=float(s),
                                        min=float(lo), max=float(hi))
        return out


def group_by_day(series: Iterable[Series]) -> dict[tuple[str, Metric, date], tuple[int, list[Datapoint]]]:
    """Points of many series grouped per (resource_id, metric, UTC day), with the series' period.

    When several series carry the same (resource, metric) hour, only the first series' points of that
    hour are kept, so one fold never counts an hour twice even if a connector returned overlapping pages.
    """
    out: dict[tuple[str, Metric, date], tuple[int, list[Datapoint]]] = {}
    owner: dict[tuple[str, Metric, int], int] = {}
    epoch = date(1970, 1, 1).toordinal()
    for idx, s in enumerate(series):
        rid, metric = s.resource_id, s.metric
        for p in s.points:
            ts = int(_utc(p.t).timestamp())
            hour = ts // 3600
            first = owner.setdefault((rid, metric, hour), idx)
            if first != idx:
                continue
            key = (rid, metric, date.fromordinal(epoch + ts // 86400))
            group = out.get(key)
            if group is None:
                group = out[key] = (s.period_s, [])
            group[1].append(p)
    return out
