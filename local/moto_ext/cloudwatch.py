"""GetMetricData for moto with percentiles and a per-metric index (local sandbox only).

moto 5.2.5 scans every datapoint for every period and answers None for percentile statistics. This
replaces `CloudWatchBackend.get_metric_data` for MetricStat queries: datapoints are indexed per
(namespace, metric name, dimension set), sorted by timestamp, rebuilt lazily when data was put. Metric
math and Metrics Insights queries are delegated to moto's original implementation.

Percentile `pNN`/`pNN.N`: nearest rank over the raw values of the period (the smallest value v such that
at least NN % of the values are <= v), i.e. numpy's `method="inverted_cdf"`. CloudWatch documents
percentiles over the raw values ("Statistics definitions", CloudWatch User Guide) without naming an
interpolation; nearest rank always answers an observed value. Aggregated datums (StatisticValues) carry
no values: a percentile over them answers nothing for that period, as AWS does.
"""

from __future__ import annotations

import bisect
import math
import re
from datetime import datetime, timedelta
from typing import Any

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_INSTALLED = {"done": False}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of non-empty values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _key(namespace: str, name: str, dims: Any) -> tuple[str, str, frozenset[tuple[str, str]]]:
    return namespace, name, frozenset((d.name, d.value) for d in dims)


def _index(backend: Any) -> dict[Any, tuple[list[datetime], list[Any]]]:
    data = backend.metric_data
    cached = getattr(backend, "_costopt_index", None)
    if cached is not None and cached[0] is data and cached[1] == len(data):
        return cached[2]  # type: ignore[no-any-return]
    groups: dict[Any, list[Any]] = {}
    for md in data:
        groups.setdefault(_key(md.namespace, md.name, md.dimensions), []).append(md)
    index = {}
    for k, mds in groups.items():
        mds.sort(key=lambda m: m.timestamp)
        index[k] = ([m.timestamp for m in mds], mds)
    backend._costopt_index = (data, len(data), index)
    return index


def _stat(mds: list[Any], stat: str) -> float | None:
    from moto.cloudwatch.models import MetricAggregatedDatum

    values = [m.value for m in mds if not isinstance(m, MetricAggregatedDatum)]
    aggs = [m for m in mds if isinstance(m, MetricAggregatedDatum)]
    match = _PERCENTILE.match(stat)
    if match:
        return percentile(values, float(match.group(1))) if values and not aggs else None
    count = len(values) + sum(a.sample_count for a in aggs)
    total = sum(values) + sum(a.sum for a in aggs)
    if stat == "SampleCount":
        return float(count)
    if stat == "Sum":
        return float(total)
    if stat == "Average":
        return float(total / count) if count else None
    if stat == "Minimum":
        return float(min([*values, *(a.min for a in aggs)]))
    if stat == "Maximum":
        return float(max([*values, *(a.max for a in aggs)]))
    return None


def _metric_stat(backend: Any, query: dict[str, Any], start: datetime, end: datetime, scan_by: str) -> dict[str, Any]:
    ms = query["MetricStat"]
    metric = ms["Metric"]
    dims = [type("D", (), {"name": d["Name"], "value": d["Value"]}) for d in metric.get("Dimensions", [])]
    entry = _index(backend).get(_key(metric["Namespace"], metric["MetricName"], dims))
    delta = timedelta(seconds=int(ms["Period"]))
    unit = ms.get("Unit")
    values: list[float] = []
    stamps: list[datetime] = []
    if entry is not None:
        times, mds = entry
        t = start
        while t <= end:
            lo, hi = bisect.bisect_left(times, t), bisect.bisect_left(times, min(t + delta, end))
            chunk = [m for m in mds[lo:hi] if not unit or m.unit == unit]
            if chunk:
                v = _stat(chunk, ms["Stat"])
                if v is not None:
                    values.append(v)
                    stamps.append(t)
            t += delta
    if scan_by == "TimestampDescending":
        values.reverse()
        stamps.reverse()
    label = query.get("Label") or f"{metric['MetricName']} {ms['Stat']}"
    return {"id": query["Id"], "label": label, "values": values, "timestamps": stamps, "status_code": "Complete"}


def install() -> None:
    """Replace CloudWatchBackend.get_metric_data (idempotent)."""
    if _INSTALLED["done"]:
        return
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.get_metric_data

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if any("MetricStat" not in q for q in queries):
            return original(self, queries, start_time, end_time, scan_by)  # type: ignore[no-any-return]
        start, end = start_time.replace(microsecond=0), end_time.replace(microsecond=0)
        original(self, [], start, end, scan_by)  # moto's validation of the window
        return [_metric_stat(self, q, start, end, scan_by) for q in queries if q.get("ReturnData", True)]

    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
    _INSTALLED["done"] = True
