"""Demo services for the local stack: one per resource kind, each over-provisioned in a way a
FinOps engineer would recognise, with synthetic telemetry and billing so recommendations exist.

The ids of live resources (EC2 instance, EBS volume, target group) are only known once the
sandbox has created them, so a service spec is built from its template plus those identities.
"""

from __future__ import annotations

import copy
from typing import Any

DEMO_CLUSTER = "costopt-demo"
MANAGED_TAG = {"costopt:managed": "true"}


def _tags(service_id: str) -> dict[str, str]:
    return {**MANAGED_TAG, "costopt:service": service_id}


# Each entry is a ServicePut body (minus live identities, filled in by the sandbox).
DEMO_SERVICES: dict[str, dict[str, Any]] = {
    # A Lambda-backed API given 3008 MB "to be safe": ~60 ms of CPU and 180 ms of I/O per request,
    # ~12% of its memory used. Memory is the only knob and it is four times too big.
    "checkout-api": {
        "name": "Checkout API",
        "team": "payments",
        "description": "Public checkout API (API Gateway + Lambda), x86_64 at 3008 MB",
        "resources": [
            {"resource_id": "handler", "kind": "lambda_function", "function_name": "checkout-api",
             "config": {"memory_mb": 3008, "architecture": "x86_64", "provisioned_concurrency": 0},
             "tags": _tags("checkout-api")},
        ],
        "sla": {"latency_p99_ms": 900, "max_error_rate_pct": 1.0},
        "budget": {"monthly_usd": 400},
        "telemetry": {"source": "synthetic", "synthetic": {
            "base_rps": 6, "cpu_ms_per_request": 60, "io_ms_per_request": 180,
            "memory_utilization_pct": 12, "daily_amplitude": 0.6, "weekend_factor": 0.7}},
        "billing": {"source": "synthetic"},
        "policy": {"strategy": "balanced"},
        "tags": {"env": "demo", "cost-center": "cc-1001"},
    },
    # ECS Fargate: 4 tasks of 2 vCPU / 4 GB behind an ALB, averaging ~6% CPU and ~20% memory.
    "orders-service": {
        "name": "Orders service",
        "team": "commerce",
        "description": "Order management API on ECS Fargate behind an ALB",
        "resources": [
            {"resource_id": "api", "kind": "ecs_service", "cluster": DEMO_CLUSTER, "service_name": "orders",
             "config": {"cpu_units": 2048, "memory_mb": 4096, "desired_count": 4, "min_count": 2,
                        "max_count": 8, "architecture": "x86_64", "capacity": "on_demand"},
             "tags": _tags("orders-service")},
        ],
        "sla": {"availability_pct": 99.9, "latency_p99_ms": 400, "max_error_rate_pct": 0.5},
        "budget": {"monthly_usd": 450},
        "telemetry": {"source": "synthetic", "synthetic": {
            "base_rps": 40, "cpu_ms_per_request": 12, "io_ms_per_request": 35, "error_rate_pct": 0.04,
            "memory_utilization_pct": 20, "daily_amplitude": 0.5, "weekend_factor": 0.6}},
        "billing": {"source": "synthetic"},
        "tags": {"env": "demo", "cost-center": "cc-2040"},
    },
    # A nightly batch host: m5.xlarge at ~12% CPU with a 500 GB gp2 scratch volume.
    # Its budget is far below what it costs: the demo's over-budget service.
    "nightly-batch": {
        "name": "Nightly batch",
        "team": "data",
        "description": "ETL host: m5.xlarge with a 500 GB gp2 scratch volume (over budget)",
        "resources": [
            {"resource_id": "host", "kind": "ec2_instance", "config": {"instance_type": "m5.xlarge"},
             "tags": _tags("nightly-batch")},
            {"resource_id": "scratch", "kind": "ebs_volume",
             "config": {"volume_type": "gp2", "size_gb": 500}, "tags": _tags("nightly-batch")},
        ],
        "sla": {"max_cpu_utilization_pct": 80},
        "budget": {"monthly_usd": 100, "notifications": [
            {"type": "ACTUAL", "threshold": 50, "kind": "PERCENTAGE"},
            {"type": "ACTUAL", "threshold": 100, "kind": "PERCENTAGE"},
            {"type": "FORECASTED", "threshold": 100, "kind": "PERCENTAGE"}]},
        "telemetry": {"source": "synthetic", "synthetic": {
            "base_rps": 4, "cpu_ms_per_request": 120, "io_ms_per_request": 400,
            "memory_utilization_pct": 30, "daily_amplitude": 0.8, "weekend_factor": 1.0}},
        "billing": {"source": "synthetic"},
        "policy": {"allow_disruptive": True},
        "tags": {"env": "demo", "cost-center": "cc-3300"},
    },
    # A PROVISIONED table at 500 RCU / 500 WCU serving a few requests per second.
    "sessions-store": {
        "name": "Session store",
        "team": "platform",
        "description": "User sessions in DynamoDB, provisioned 500 RCU / 500 WCU, mostly idle",
        "resources": [
            {"resource_id": "table", "kind": "dynamodb_table", "table_name": "demo-sessions",
             "config": {"billing_mode": "PROVISIONED", "rcu": 500, "wcu": 500},
             "tags": _tags("sessions-store")},
        ],
        "sla": {"latency_p99_ms": 50},
        "budget": {"monthly_usd": 350},
        "telemetry": {"source": "synthetic", "synthetic": {
            "base_rps": 8, "cpu_ms_per_request": 1, "io_ms_per_request": 4,
            "memory_utilization_pct": 10, "daily_amplitude": 0.7, "weekend_factor": 0.5}},
        "billing": {"source": "synthetic"},
        "tags": {"env": "demo", "cost-center": "cc-4100"},
    },
    # A Kubernetes deployment (via Prometheus in real life): 6 replicas of 2 cores / 8 GB, ~12% busy. Its unit
    # prices are what EKS on Fargate bills a pod in us-east-1 (Linux/x86 per vCPU-hour and per GB-hour,
    # https://aws.amazon.com/fargate/pricing/, as in the bundled catalog of 2026-11-29); a generic resource
    # registered without prices is priced at that same rate but labelled an estimate.
    "recommender-k8s": {
        "name": "Recommender (EKS)",
        "team": "ml",
        "description": "Product recommendations on Kubernetes: 6 replicas x 2 cores / 8 GB",
        "resources": [
            {"resource_id": "deployment", "kind": "generic", "workload": "ml/recommender",
             "config": {"replicas": 6, "cpu_cores": 2, "memory_gb": 8, "min_replicas": 2, "max_replicas": 12,
                        "price_per_core_hour_usd": 0.04048, "price_per_gb_hour_usd": 0.004445}},
        ],
        "sla": {"latency_p95_ms": 300, "availability_pct": 99.5},
        "budget": {"monthly_usd": 600},
        "telemetry": {"source": "synthetic", "synthetic": {
            "base_rps": 30, "cpu_ms_per_request": 50, "io_ms_per_request": 20,
            "memory_utilization_pct": 25, "daily_amplitude": 0.6, "weekend_factor": 0.6}},
        "billing": {"source": "synthetic"},
        "tags": {"env": "demo", "cost-center": "cc-5200"},
    },
}

# Not a demo of anything: the service events/services-delete.json deletes, so trying that event
# costs no demo data. No resources (nothing to leave behind in the sandbox); the seed re-creates it.
SCRATCH_SERVICE_ID = "scratch-service"
SCRATCH_SERVICES: dict[str, dict[str, Any]] = {
    SCRATCH_SERVICE_ID: {
        "name": "Scratch service",
        "team": "platform",
        "description": "A throwaway service for events/services-delete.json; `python -m local seed` re-creates it",
        "resources": [],
        "telemetry": {"source": "synthetic"},
        "billing": {"source": "synthetic"},
        "tags": {"env": "demo"},
    },
}

# What the seed creates: the demo services, then the scratch service.
SEEDED_SERVICES: dict[str, dict[str, Any]] = {**DEMO_SERVICES, **SCRATCH_SERVICES}

# Fields of a resource that say which live resource it is (filled in from the sandbox).
IDENTITY_FIELDS = ("function_name", "cluster", "service_name", "target_group_arn", "load_balancer_arn",
                   "instance_id", "volume_id", "table_name", "workload")


def demo_spec(service_id: str) -> dict[str, Any]:
    """A fresh copy of the ServicePut body of a seeded service (demo or scratch)."""
    return copy.deepcopy(SEEDED_SERVICES[service_id])


def with_identities(spec: dict[str, Any], identities: dict[str, dict[str, str]]) -> dict[str, Any]:
    """``spec`` with each resource's identity fields set from ``identities[resource_id]``."""
    out = copy.deepcopy(spec)
    for resource in out.get("resources", []):
        resource.update(identities.get(resource["resource_id"], {}))
    return out


def identities_of(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {r["resource_id"]: {k: r[k] for k in IDENTITY_FIELDS if r.get(k) is not None}
            for r in spec.get("resources", [])}


def configs_of(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["resource_id"]: dict(r["config"]) for r in spec.get("resources", [])}


def put_body(service: dict[str, Any]) -> dict[str, Any]:
    """A GET /v1/services/{id} response as a PUT body that replaces it (keeps ``version``)."""
    return {k: v for k, v in service.items() if k not in ("service_id", "created_at", "updated_at")}
