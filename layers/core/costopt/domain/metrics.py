"""Which metrics each resource kind has: what a telemetry source returns, what sufficiency requires, and the
pseudo-resource id of a service's unattributed cost.

``METRICS_BY_KIND`` -- the canonical metrics a telemetry source should return per kind.
``REQUIRED_METRICS`` -- the metrics data sufficiency checks per kind.
``SERVICE_TOTAL = "_service"`` -- the resource id billing uses for cost not attributed to a resource.
"""

from __future__ import annotations

from costopt.domain.observation import Metric
from costopt.domain.resources import ResourceKind

SERVICE_TOTAL = "_service"

_COMPUTE = (Metric.CPU_PCT, Metric.MEMORY_PCT, Metric.REQUESTS, Metric.LATENCY_MS, Metric.ERRORS)

METRICS_BY_KIND: dict[str, tuple[Metric, ...]] = {
    ResourceKind.LAMBDA_FUNCTION: (Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES, Metric.DURATION_MS,
                        Metric.DURATION_MEAN_MS, Metric.INIT_MS, Metric.CPU_TIME_MS, Metric.CONCURRENCY,
                        Metric.MEMORY_PCT),
    ResourceKind.ECS_SERVICE: _COMPUTE,
    ResourceKind.EC2_INSTANCE: _COMPUTE,
    ResourceKind.GENERIC: _COMPUTE,
    ResourceKind.EBS_VOLUME: (Metric.IOPS, Metric.THROUGHPUT_MBPS),
    ResourceKind.DYNAMODB_TABLE: (Metric.CONSUMED_RCU, Metric.CONSUMED_WCU, Metric.REQUESTS),
}

REQUIRED_METRICS: dict[str, tuple[Metric, ...]] = {
    ResourceKind.LAMBDA_FUNCTION: (Metric.REQUESTS,),
    ResourceKind.ECS_SERVICE: (Metric.CPU_PCT, Metric.MEMORY_PCT),
    ResourceKind.EC2_INSTANCE: (Metric.CPU_PCT,),
    ResourceKind.GENERIC: (Metric.CPU_PCT, Metric.MEMORY_PCT),
    ResourceKind.EBS_VOLUME: (Metric.IOPS, Metric.THROUGHPUT_MBPS),
    ResourceKind.DYNAMODB_TABLE: (Metric.CONSUMED_RCU, Metric.CONSUMED_WCU),
}


__all__ = ["METRICS_BY_KIND", "REQUIRED_METRICS", "SERVICE_TOTAL"]
