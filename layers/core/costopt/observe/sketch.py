"""Mergeable metric summaries: a DDSketch (1 % relative accuracy) plus exact count/sum/min/max.

Public API
----------
``RELATIVE_ACCURACY = 0.01``

``MetricSummary()`` — a mergeable summary of many values of one metric.
    ``add(v: float) -> None``; ``extend(values: Iterable[float]) -> None``;
    ``merge(other: MetricSummary) -> None`` (in place); ``MetricSummary.merged(items) -> MetricSummary`` (new);
    ``merge_weighted(other, weight: int, divide=False)``: each value of ``other`` counted ``weight`` times,
    or with ``divide`` as ``weight`` values v / weight, total kept (a coarser day in a finer window);
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

The sketch is DDSketch's (``ddsketch.mapping.LogarithmicMapping`` keys, its quantile algorithm) over bins
of this module (``_Bins``, dense like DDSketch's DenseStore), so the codec reads and writes whole count
lists and ``extend`` adds counts per key, without touching DDSketch's private attributes. Stored items
of format 1 written through DDSketch decode to the same bins and quantiles
(tests/fixtures/sketch/format_v1.json).

Pure Python, no numpy, no I/O.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ddsketch.mapping import LogarithmicMapping

from costopt.domain.observation import Datapoint, HourlyAggregate, Metric, Series

RELATIVE_ACCURACY = 0.01
_FORMAT = 1
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)  # DDSketch's default mapping: value ↔ bin key


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


class _Bins:
    """Counts per DDSketch key over one dense key range ``[lo, lo + len(counts))`` (DDSketch's DenseStore,
    kept here so the codec reads and writes the counts as they are stored, with no copy per key)."""

    __slots__ = ("count", "counts", "lo")

    def __init__(self, lo: int = 0, counts: list[float] | None = None) -> None:
        self.lo = lo
        self.counts = counts if counts is not None else []
        self.count = math.fsum(self.counts)

    def add(self, key: int, c: float) -> None:
        counts = self.counts
        if not counts:
            self.lo, self.counts = key, [c]
        elif key < self.lo:
            self.counts = [c] + [0.0] * (self.lo - key - 1) + counts
            self.lo = key
        elif key >= self.lo + len(counts):
            counts.extend([0.0] * (key - self.lo - len(counts)))
            counts.append(c)
        else:
            counts[key - self.lo] += c
        self.count += c

    def merge(self, other: _Bins) -> None:
        if not other.count:
            return
        if not self.count:
            self.lo, self.counts, self.count = other.lo, list(other.counts), other.count
            return
        self.add(other.lo, 0.0)  # widen to cover other's range
        self.add(other.lo + len(other.counts) - 1, 0.0)
        counts, shift = self.counts, other.lo - self.lo
        for i, c in enumerate(other.counts):
            counts[shift + i] += c
        self.count += other.count

    def key_at_rank(self, rank: float, lower: bool = True) -> int:
        """The key of the value at ``rank`` (DDSketch's ``Store.key_at_rank``: lower → the bin whose
        running count first exceeds ``rank``, otherwise first reaches ``rank + 1``)."""
        running = 0.0
        for i, c in enumerate(self.counts):
            running += c
            if (lower and running > rank) or (not lower and running >= rank + 1):
                return self.lo + i
        return self.lo + len(self.counts) - 1

    def as_dict(self) -> dict[int, float]:
        return {self.lo + i: c for i, c in enumerate(self.counts) if c}

    def to_json(self) -> list[object]:
        """[first_key, [count, ...]] over the dense key range (zeros inside the range kept)."""
        return [self.lo, [_num(c) for c in self.counts]] if self.count else []

    @classmethod
    def from_json(cls, enc: list[object]) -> _Bins:
        if not enc:
            return cls()
        counts = enc[1]
        assert isinstance(counts, list)
        return cls(int(enc[0]), [float(c) for c in counts])  # type: ignore[call-overload]


class MetricSummary:
    """count/sum/min/max exactly, quantiles from a DDSketch with 1 % relative accuracy.

    The sketch is DDSketch's (logarithmic key mapping of ``ddsketch.mapping``, one dense store of counts
    for positive values, one for the magnitudes of negative ones, a zero count) and answers quantiles with
    DDSketch's algorithm; its stores are ``_Bins`` so that ``extend`` and the codec work on whole counts.
    """

    __slots__ = ("count", "max", "min", "negative", "positive", "sum", "zero")

    def __init__(self) -> None:
        self.positive = _Bins()
        self.negative = _Bins()
        self.zero = 0.0
        self.count = 0
        self.sum = 0.0
        self.min: float | None = None
        self.max: float | None = None

    # ------------------------------------------------------------------ building

    def add(self, v: float) -> None:
        self.extend((v,))

    def extend(self, values: Iterable[float]) -> None:
        """Add many values at once (a value of magnitude below the mapping's smallest counts as zero)."""
        vals = [float(v) for v in values]
        vals = [v for v in vals if math.isfinite(v)]
        if not vals:
            return
        key, tiny = _MAPPING.key, _MAPPING.min_possible
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
            self.positive.add(k, float(c))
        for k, c in neg.items():
            self.negative.add(k, float(c))
        self.zero += float(zeros)
        n, total, lo, hi = len(vals), math.fsum(vals), min(vals), max(vals)
        self.count += n
        self.sum += total
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)

    def merge(self, other: MetricSummary) -> None:
        if other.count == 0:
            return
        self.positive.merge(other.positive)
        self.negative.merge(other.negative)
        self.zero += other.zero
        self.count += other.count
        self.sum += other.sum
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max

    def merge_weighted(self, other: MetricSummary, weight: int, divide: bool = False) -> None:
        """Merge ``other`` with each value counted ``weight`` times or, with ``divide``, as ``weight`` values
        v / weight (a sum over one period spread over ``weight`` sub-periods: the total is kept). Counts are
        exact; ``divide`` maps each bin's representative value / weight to its key again (within 2 %)."""
        if other.count == 0:
            return
        assert other.min is not None and other.max is not None
        w, t = float(weight), MetricSummary()
        t.count, t.zero = other.count * weight, other.zero * w
        if divide:
            t.sum, t.min, t.max = other.sum, other.min / w, other.max / w
            for mine, theirs in ((t.positive, other.positive), (t.negative, other.negative)):
                for k, c in theirs.as_dict().items():
                    v = _MAPPING.value(k) / w
                    if v > _MAPPING.min_possible:
                        mine.add(_MAPPING.key(v), c * w)
                    else:
                        t.zero += c * w
        else:
            t.sum, t.min, t.max = other.sum * w, other.min, other.max
            t.positive = _Bins(other.positive.lo, [c * w for c in other.positive.counts])
            t.negative = _Bins(other.negative.lo, [c * w for c in other.negative.counts])
        self.merge(t)

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
        """DDSketch's ``get_quantile_value``, clamped to the exact [min, max]."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q}")
        neg, pos = self.negative, self.positive
        total = neg.count + self.zero + pos.count
        if self.count == 0 or total == 0:
            return None
        rank = q * (total - 1)
        if rank < neg.count:
            v = -_MAPPING.value(neg.key_at_rank(neg.count - rank - 1, lower=False))
        elif rank < self.zero + neg.count:
            v = 0.0
        else:
            v = _MAPPING.value(pos.key_at_rank(rank - self.zero - neg.count))
        assert self.min is not None and self.max is not None
        return float(min(max(v, self.min), self.max))

    def percentile(self, p: float) -> float | None:
        return self.quantile(p / 100.0)

    def bins(self) -> dict[str, dict[int, float]]:
        """The sketch's bins: ``{"positive": {key: count}, "negative": {key: count}, "zero": {0: count}}``."""
        return {"positive": self.positive.as_dict(), "negative": self.negative.as_dict(),
                "zero": {0: self.zero} if self.zero else {}}

    # ------------------------------------------------------------------ codec

    def to_json(self) -> dict[str, object]:
        return {"v": _FORMAT, "c": self.count, "s": self.sum, "lo": self.min, "hi": self.max,
                "p": self.positive.to_json(), "n": self.negative.to_json(), "z": _num(self.zero)}

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> MetricSummary:
        out = cls()
        out.positive = _Bins.from_json(doc.get("p") or [])  # type: ignore[arg-type]
        out.negative = _Bins.from_json(doc.get("n") or [])  # type: ignore[arg-type]
        out.zero = float(doc.get("z") or 0)  # type: ignore[arg-type]
        out.count = int(doc.get("c") or 0)  # type: ignore[call-overload]
        out.sum = float(doc.get("s") or 0.0)  # type: ignore[arg-type]
        lo, hi = doc.get("lo"), doc.get("hi")
        out.min = None if lo is None else float(lo)  # type: ignore[arg-type]
        out.max = None if hi is None else float(hi)  # type: ignore[arg-type]
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
