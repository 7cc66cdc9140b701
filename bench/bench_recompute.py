"""Daily recompute end to end: services through the in-process fan-out against DynamoDB Local.

Every service (one Lambda function with two days of synthetic telemetry and billing, no budget,
auto-apply off) goes through the same path as in AWS: GSI-paged fan-out, SQS-shaped batches of
10 through the BatchProcessor, then per service: billing refresh, recommendations regenerated and
superseded, verification windows, budget. Reports services per second and DynamoDB calls per
service. ``BENCH_RECOMPUTE_SERVICES`` (default 10000) sets the count.

Seeding copies one template service's items (service, observation days, watermarks) under new
service ids with BatchWriteItem, so the set-up is not what is measured.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
TEMPLATE_ID = "bench-template"


def _spec() -> dict[str, Any]:
    return {
        "name": "bench", "team": "bench",
        "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "bench-api",
                       "config": {"memory_mb": 2048}}],
        "sla": {"latency_p99_ms": 1500},
        "telemetry": {"source": "synthetic", "synthetic": {"seed": 11, "history_days": 2, "base_rps": 8}},
        "billing": {"source": "synthetic"},
    }


def _seed(client: Any, n: int) -> None:
    from costopt.config import settings
    from costopt.domain.service import ServicePut
    from costopt.jobs.pull_metrics import run as pull
    from costopt.store.services import ServiceRepository

    ServiceRepository().put(TEMPLATE_ID, ServicePut.model_validate(_spec()), now=NOW - timedelta(days=3))
    pull(NOW, deadline_s=600, services=[TEMPLATE_ID])

    def items(table: str, **query: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in client.get_paginator("query").paginate(TableName=table, **query):
            out += page["Items"]
        return out

    service_item = client.get_item(TableName=settings.services_table, Key={"service_id": {"S": TEMPLATE_ID}})["Item"]
    from costopt.domain.metrics import METRICS_BY_KIND

    obs: list[dict[str, Any]] = []
    for pk in [f"{TEMPLATE_ID}#api#{m}" for m in METRICS_BY_KIND["lambda_function"]] + \
              [f"{TEMPLATE_ID}#api#cost_usd", f"{TEMPLATE_ID}#_meta"]:
        obs += items(settings.observations_table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": pk}})

    def renamed(item: dict[str, Any], sid: str) -> dict[str, Any]:
        out = dict(item)
        for key in ("pk", "service_id", "doc"):
            if key in out:
                out[key] = {"S": out[key]["S"].replace(TEMPLATE_ID, sid)}
        return out

    batch: list[tuple[str, dict[str, Any]]] = []

    def flush() -> None:
        requests: dict[str, list[dict[str, Any]]] = {}
        for table, item in batch:
            requests.setdefault(table, []).append({"PutRequest": {"Item": item}})
        while requests:
            left = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            requests = left
        batch.clear()

    for i in range(n):
        sid = f"bench-{i:05d}"
        batch.append((settings.services_table, renamed(service_item, sid)))
        for item in obs:
            batch.append((settings.observations_table, renamed(item, sid)))
            if len(batch) == 25:
                flush()
        if len(batch) >= 20:
            flush()
    if batch:
        flush()
    ServiceRepository().delete(TEMPLATE_ID)


def main() -> list[tuple[str, float, str]]:
    from local.ddb import DynamoDBLocal, free_port
    from local.tables import create_tables, export_table_env

    n = int(os.environ.get("BENCH_RECOMPUTE_SERVICES", "10000"))
    ddb = DynamoDBLocal(free_port(), in_memory=True).start()
    try:
        os.environ.update({"AWS_ENDPOINT_URL_DYNAMODB": ddb.endpoint, "AWS_ACCESS_KEY_ID": "local",
                           "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
                           "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_LOG_LEVEL": "ERROR",
                           "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"})
        os.environ.pop("RECOMPUTE_QUEUE_URL", None)
        export_table_env()
        import boto3

        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint, region_name="us-east-1")
        create_tables(client)

        started = time.perf_counter()
        _seed(client, n)
        seeded = time.perf_counter() - started

        import botocore.client

        calls: Counter[str] = Counter()
        original = botocore.client.BaseClient._make_api_call

        def counting(self: Any, operation: str, params: Any) -> Any:
            if self.meta.service_model.service_name == "dynamodb":
                calls[operation] += 1
            return original(self, operation, params)

        from local.fanout import fan_out_in_process

        botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            report = fan_out_in_process(NOW)
            elapsed = time.perf_counter() - started
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
        # PynamoDB calls botocore through its own client: count those too
        total_calls = sum(calls.values())
        rows = [
            ("services recomputed", float(report.services - len(report.failed)), "services"),
            ("services failed", float(len(report.failed)), "services"),
            ("seeding (not measured below)", seeded, "s"),
            ("recompute wall time", elapsed, "s"),
            ("services per second (DynamoDB Local)", report.services / elapsed, "services/s"),
            ("DynamoDB calls per service", total_calls / max(1, report.services), "calls"),
        ]
        rows += [(f"  {op} per service", c / max(1, report.services), "calls") for op, c in calls.most_common()]
        return rows
    finally:
        ddb.stop()


if __name__ == "__main__":
    for row in main():
        print(*row)
