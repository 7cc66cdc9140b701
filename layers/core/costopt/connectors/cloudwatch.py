"""CloudWatch telemetry through ``GetMetricData``.

One query per (resource, CloudWatch metric, statistic); at most 500 queries per call
(CloudWatch's limit), each call paged with ``NextToken``. Per kind:

=================  =============================================================================
lambda_function    AWS/Lambda Duration p99 → duration_ms (``duration_stats`` adds p50/p95 as extra
                   ``duration_ms`` series with stat "p50"/"p95" for ad-hoc reads: the observation store
                   keeps one stat per (resource, metric), so the pull folds p99 only), Duration Average →
                   duration_mean_ms (what cost uses), Invocations→requests, Errors,
                   Throttles (Sum), ConcurrentExecutions (Maximum); LambdaInsights
                   memory_utilization→memory_utilization_pct, cpu_total_time→cpu_time_ms (Average),
                   init_duration→init_duration_ms (Sum: all INIT ms of the period's cold starts) (when the
                   function has the Insights extension; otherwise CloudWatch returns nothing for them)
ecs_service        AWS/ECS CPUUtilization, MemoryUtilization (ClusterName, ServiceName); with a target
                   group: AWS/ApplicationELB TargetResponseTime p99 (s → ms) as latency_ms,
                   RequestCount→requests, HTTPCode_Target_5XX_Count→errors (TargetGroup, LoadBalancer
                   dimensions parsed from the ARNs)
ec2_instance       AWS/EC2 CPUUtilization; CWAgent mem_used_percent (InstanceId) when the agent runs
ebs_volume         AWS/EBS VolumeRead/WriteOps, VolumeRead/WriteBytes (Sum) → iops = ops / period,
                   throughput_mbps = bytes / period / 2**20 (MiB/s, as EBS quotes gp3's 125 MiB/s)
dynamodb_table     AWS/DynamoDB ConsumedRead/WriteCapacityUnits (Sum) → per-second average
generic            not CloudWatch's (use Prometheus)
=================  =============================================================================

``SERVES`` (the connector's ``serves``) is derived from the tables that map CloudWatch values to
canonical metrics, so it cannot drift from what ``to_series`` produces.

Missing data is missing: no zero filling, empty series are dropped. GetMetricData answers a metric
that does not exist (a misspelt function name) exactly as one without datapoints in the window (an
idle function publishes no Invocations): an empty result, so the two cannot be told apart here; the
pull reports the resource as having no data either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from costopt.clock import floor_day, now
from costopt.connectors.base import METRIC_STAT, TelemetrySource
from costopt.connectors.retry import aws_errors, boto_client
from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.resources import ResourceKind
from costopt.errors import ConnectorError

if TYPE_CHECKING:
    from costopt.domain.resources import Resource
    from costopt.domain.service import Service

SOURCE = "cloudwatch"
# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"cloudwatch:GetMetricData"})
MAX_QUERIES_PER_CALL = 500
MIB = 1024 * 1024


@dataclass(frozen=True)
class MetricQuery:
    """One GetMetricData MetricStat query and where its values go."""

    resource_id: str
    key: str                                   # local name, e.g. "read_ops"
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str                                  # CloudWatch statistic: Average, Sum, Maximum, p99...

    def to_api(self, query_id: str, period_s: int) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": self.namespace, "MetricName": self.metric_name,
                           "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions]},
                "Period": period_s,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


# --------------------------------------------------------------------------- identities from ARNs


def arn_resource(arn: str) -> str:
    """The resource part of an ARN (after the 5th colon), or the input when it is not an ARN."""
    parts = arn.split(":", 5)
    return parts[5] if arn.startswith("arn:") and len(parts) == 6 else arn


def lambda_function_name(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else name_or_arn
    return name_or_arn


def last_segment(name_or_arn: str) -> str:
    return arn_resource(name_or_arn).rsplit("/", 1)[-1]


def target_group_dimension(arn: str) -> str:
    """``arn:...:targetgroup/name/id`` → ``targetgroup/name/id`` (the TargetGroup dimension value)."""
    return arn_resource(arn)


def load_balancer_dimension(arn: str) -> str:
    """``arn:...:loadbalancer/app/name/id`` → ``app/name/id`` (the LoadBalancer dimension value)."""
    res = arn_resource(arn)
    return res.removeprefix("loadbalancer/")


# --------------------------------------------------------------------------- per-kind plans


DEFAULT_DURATION_STATS = ("p99",)


# Kinds whose metrics all share one dimension: kind -> (dimension, resource attribute, its queries as
# (key, namespace, metric name, stat)).
_ONE_DIMENSION: dict[str, tuple[str, str, tuple[tuple[str, str, str, str], ...]]] = {
    ResourceKind.EC2_INSTANCE: ("InstanceId", "instance_id", (
        ("cpu", "AWS/EC2", "CPUUtilization", "Average"), ("memory", "CWAgent", "mem_used_percent", "Average"))),
    ResourceKind.EBS_VOLUME: ("VolumeId", "volume_id", (
        ("read_ops", "AWS/EBS", "VolumeReadOps", "Sum"), ("write_ops", "AWS/EBS", "VolumeWriteOps", "Sum"),
        ("read_bytes", "AWS/EBS", "VolumeReadBytes", "Sum"), ("write_bytes", "AWS/EBS", "VolumeWriteBytes", "Sum"))),
    ResourceKind.DYNAMODB_TABLE: ("TableName", "table_name", (
        ("rcu", "AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum"),
        ("wcu", "AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum"))),
}


def queries_for(resource: Resource, duration_stats: tuple[str, ...] = DEFAULT_DURATION_STATS) -> list[MetricQuery]:
    """The GetMetricData queries of one resource (p99 first among the Lambda duration percentiles)."""
    rid = resource.resource_id
    kind = resource.kind

    def q(key: str, ns: str, name: str, dims: dict[str, str], stat: str) -> MetricQuery:
        return MetricQuery(rid, key, ns, name, tuple(dims.items()), stat)

    if kind == ResourceKind.LAMBDA_FUNCTION:
        fn = {"FunctionName": lambda_function_name(resource.function_name)}  # type: ignore[union-attr]
        insights = {"function_name": fn["FunctionName"]}
        stats = ["p99"] + [s for s in duration_stats if s != "p99"]
        return [q(f"duration_{s}", "AWS/Lambda", "Duration", fn, s) for s in stats] + [
            q("duration_mean", "AWS/Lambda", "Duration", fn, "Average"),
            q("invocations", "AWS/Lambda", "Invocations", fn, "Sum"),
            q("errors", "AWS/Lambda", "Errors", fn, "Sum"),
            q("throttles", "AWS/Lambda", "Throttles", fn, "Sum"),
            q("concurrency", "AWS/Lambda", "ConcurrentExecutions", fn, "Maximum"),
            q("insights_memory", "LambdaInsights", "memory_utilization", insights, "Average"),
            q("insights_cpu", "LambdaInsights", "cpu_total_time", insights, "Average"),
            q("insights_init", "LambdaInsights", "init_duration", insights, "Sum"),
        ]
    if kind == ResourceKind.ECS_SERVICE:
        ecs = {"ClusterName": last_segment(resource.cluster),  # type: ignore[union-attr]
               "ServiceName": last_segment(resource.service_name)}  # type: ignore[union-attr]
        out = [
            q("cpu", "AWS/ECS", "CPUUtilization", ecs, "Average"),
            q("memory", "AWS/ECS", "MemoryUtilization", ecs, "Average"),
        ]
        tg_arn = resource.target_group_arn  # type: ignore[union-attr]
        if tg_arn:
            alb = {"TargetGroup": target_group_dimension(tg_arn)}
            lb_arn = resource.load_balancer_arn  # type: ignore[union-attr]
            if lb_arn:
                alb["LoadBalancer"] = load_balancer_dimension(lb_arn)
            out += [
                q("alb_latency_p99", "AWS/ApplicationELB", "TargetResponseTime", alb, "p99"),
                q("alb_requests", "AWS/ApplicationELB", "RequestCount", alb, "Sum"),
                q("alb_5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum"),
            ]
        return out
    one = _ONE_DIMENSION.get(kind)
    if one is not None:
        dimension, attribute, rows = one
        dims = {dimension: str(getattr(resource, attribute))}
        return [q(key, ns, name, dims, stat) for key, ns, name, stat in rows]
    return []


Values = dict[str, dict[datetime, float]]  # key -> timestamp -> value

# key -> canonical metric, for the metrics that map one-to-one. The stat is the key's percentile suffix
# (duration_p95 -> p95), else the metric's own (METRIC_STAT); values are scaled by _SCALE (ALB: seconds).
_DIRECT: dict[str, dict[str, Metric]] = {
    ResourceKind.LAMBDA_FUNCTION: {
        "duration_p99": Metric.DURATION_MS, "duration_p95": Metric.DURATION_MS, "duration_p50": Metric.DURATION_MS,
        "duration_mean": Metric.DURATION_MEAN_MS, "invocations": Metric.REQUESTS, "errors": Metric.ERRORS,
        "throttles": Metric.THROTTLES, "concurrency": Metric.CONCURRENCY, "insights_memory": Metric.MEMORY_PCT,
        "insights_cpu": Metric.CPU_TIME_MS, "insights_init": Metric.INIT_MS,
    },
    ResourceKind.ECS_SERVICE: {
        "cpu": Metric.CPU_PCT, "memory": Metric.MEMORY_PCT, "alb_latency_p99": Metric.LATENCY_MS,
        "alb_requests": Metric.REQUESTS, "alb_5xx": Metric.ERRORS,
    },
    ResourceKind.EC2_INSTANCE: {"cpu": Metric.CPU_PCT, "memory": Metric.MEMORY_PCT},
}
_SCALE: dict[str, float] = {"alb_latency_p99": 1000.0}


def _direct_stat(key: str, metric: Metric) -> str:
    suffix = key.rpartition("_")[2]
    return suffix if suffix[:1] == "p" and suffix[1:].isdigit() else METRIC_STAT[metric]


# (keys, metric, stat, scale): sums of several Sum queries per period, divided by the period (per second)
_PER_SECOND: dict[str, tuple[tuple[tuple[str, ...], Metric, str, float], ...]] = {
    ResourceKind.EBS_VOLUME: (
        (("read_ops", "write_ops"), Metric.IOPS, "avg", 1.0),
        (("read_bytes", "write_bytes"), Metric.THROUGHPUT_MBPS, "avg", 1.0 / MIB),
    ),
    ResourceKind.DYNAMODB_TABLE: (
        (("rcu",), Metric.CONSUMED_RCU, "avg", 1.0),
        (("wcu",), Metric.CONSUMED_WCU, "avg", 1.0),
    ),
}

# What CloudWatch can serve per kind (``TelemetrySource.serves``), read off the two tables above.
SERVES: dict[str, tuple[Metric, ...]] = {
    kind: tuple(dict.fromkeys([*_DIRECT.get(kind, {}).values()]
                              + [m for _, m, _, _ in _PER_SECOND.get(kind, ())]))
    for kind in (*_DIRECT, *_PER_SECOND)
}


def to_series(resource: Resource, values: Values, period_s: int) -> list[Series]:
    """Turn one resource's raw CloudWatch values into canonical series (empty ones dropped)."""
    rid = resource.resource_id
    out: list[Series] = []

    def add(metric: Metric, stat: str, points: dict[datetime, float]) -> None:
        if points:
            out.append(Series(resource_id=rid, metric=metric, stat=stat, period_s=period_s,
                              points=[Datapoint(t=t, v=v) for t, v in sorted(points.items())]))

    for key, metric in _DIRECT.get(resource.kind, {}).items():
        scale = _SCALE.get(key, 1.0)
        add(metric, _direct_stat(key, metric), {t: v * scale for t, v in values.get(key, {}).items()})
    for keys, metric, stat, scale in _PER_SECOND.get(resource.kind, ()):
        add(metric, stat, _combine(values, keys, scale / period_s))
    return out


def _combine(values: Values, keys: tuple[str, ...], scale: float) -> dict[datetime, float]:
    """Sum of the keys per timestamp, scaled. A timestamp counts when any key has a value there:
    CloudWatch publishes no EBS datapoint for a period without writes, which means zero writes."""
    out: dict[datetime, float] = defaultdict(float)
    for key in keys:
        for t, v in values.get(key, {}).items():
            out[t] += v
    return {t: v * scale for t, v in out.items()}


# CloudWatch keeps 1-minute datapoints 15 days, 5-minute ones 63 days and hourly ones 455 days; an older part of a
# window is only answered at the coarser period (docs: CloudWatch concepts, "Metrics retention").
RETENTION: tuple[tuple[timedelta, int], ...] = ((timedelta(days=15), 60), (timedelta(days=63), 300),
                                                (timedelta(days=455), 3600))


def retention_segments(start: datetime, end: datetime, period_s: int,
                       at: datetime) -> list[tuple[datetime, datetime, int]]:
    """``[start, end)`` split into (start, end, period) pieces, oldest first, each asked at the finest period
    CloudWatch still keeps for it at ``at`` (never finer than ``period_s``). Boundaries fall on UTC midnights
    (the first day entirely inside the younger retention), so one day of a series never mixes two periods."""
    pieces: list[tuple[datetime, datetime, int]] = []
    lower = start
    coarser = RETENTION[-1][1]
    for age, finest in reversed(RETENTION):  # oldest band first: before this boundary only `coarser` is kept
        boundary = _ceil_day(at - age)
        if age == RETENTION[-1][0]:
            boundary = start  # beyond the longest retention nothing is kept: ask anyway, at the coarsest period
        upper = min(boundary, end)
        if lower < upper:
            _append(pieces, lower, upper, max(period_s, coarser))
            lower = upper
        coarser = finest
    if lower < end:
        _append(pieces, lower, end, max(period_s, coarser))
    return pieces


def _append(pieces: list[tuple[datetime, datetime, int]], lo: datetime, hi: datetime, period: int) -> None:
    if pieces and pieces[-1][2] == period and pieces[-1][1] == lo:
        pieces[-1] = (pieces[-1][0], hi, period)
    else:
        pieces.append((lo, hi, period))


def _ceil_day(t: datetime) -> datetime:
    day = floor_day(t)
    return day if day == t else day + timedelta(days=1)


class CloudWatchTelemetry(TelemetrySource):
    """TelemetrySource over CloudWatch GetMetricData."""

    name: ClassVar[str] = SOURCE
    serves: ClassVar[Mapping[str, tuple[Metric, ...]] | None] = SERVES

    def __init__(self, client: Any | None = None,
                 duration_stats: tuple[str, ...] = DEFAULT_DURATION_STATS) -> None:
        self._client = client  # tests pass a stubbed client; otherwise one cached client per region
        self._duration_stats = duration_stats

    def client_for(self, region: str, account_id: str | None = None) -> Any:
        return self._client or boto_client("cloudwatch", region, account_id)

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        period = service.telemetry.period_s
        if period % 60:
            raise ConnectorError(SOURCE, f"period_s {period} is not a multiple of 60", retryable=False)
        # one batch of queries per (account, region): each is a client of its own (a member account's role)
        by_place: dict[tuple[str | None, str], list[MetricQuery]] = defaultdict(list)
        for resource in service.resources:
            place = (resource.account_id, resource.region or service.region)
            by_place[place].extend(queries_for(resource, self._duration_stats))
        out: list[Series] = []
        for seg_start, seg_end, seg_period in retention_segments(start, end, period, now()):
            values: dict[str, Values] = defaultdict(dict)
            for (account_id, region), queries in by_place.items():
                got = self.get_metric_data(self.client_for(region, account_id), queries, seg_start, seg_end,
                                           seg_period)
                for query, points in zip(queries, got, strict=True):
                    values[query.resource_id][query.key] = points
            for resource in service.resources:
                out.extend(to_series(resource, values.get(resource.resource_id, {}), seg_period))
        return out

    @staticmethod
    def get_metric_data(client: Any, queries: list[MetricQuery], start: datetime, end: datetime,
                        period_s: int) -> list[dict[datetime, float]]:
        """Values per query (same order), points with start <= t < end; ≤ 500 queries a call, paged."""
        out: list[dict[datetime, float]] = [{} for _ in queries]
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[offset:offset + MAX_QUERIES_PER_CALL]
            ids = {f"q{offset + i}": offset + i for i in range(len(chunk))}
            request: dict[str, Any] = {
                "MetricDataQueries": [qq.to_api(qid, period_s) for qid, qq in zip(ids, chunk, strict=True)],
                "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending",
            }
            token: str | None = None
            while True:
                if token:
                    request["NextToken"] = token
                with aws_errors(SOURCE):
                    resp = client.get_metric_data(**request)
                for result in resp.get("MetricDataResults", []):
                    index = ids.get(result.get("Id", ""))
                    if index is None:
                        continue
                    if result.get("StatusCode") in ("InternalError", "Forbidden"):
                        raise ConnectorError(SOURCE, f"{chunk[index - offset].metric_name}: "
                                             f"{result.get('StatusCode')} {result.get('Messages', '')}",
                                             retryable=result.get("StatusCode") == "InternalError")
                    for ts, v in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                        t = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
                        if start <= t < end:
                            out[index][t] = float(v)
                token = resp.get("NextToken")
                if not token:
                    break
        return out
