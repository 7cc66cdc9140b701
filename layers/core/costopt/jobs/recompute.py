"""The daily recompute: fan the services out, then per service refresh costs, regenerate the
recommendations, check verification windows and realised savings, evaluate the budget and
auto-apply what the policy allows.

Fan-out: the schedule pages through the services (GSI Query, no Scan) and sends one SQS message
per service in SendMessageBatch calls of 10. The same function consumes the queue with
Powertools' BatchProcessor and ``ReportBatchItemFailures``, so a failing service is retried
alone. Without a queue (the local stack, tests, the benchmark) the same records are built in
process and go through the same ``process_batch`` code path.

``fan_out(now=None, send=None) -> FanOutReport``
``process_batch(event: dict, context) -> {"batchItemFailures": [...]}``
``recompute_service(service_id, now) -> ServiceRecompute``
``auto_apply(service, now) -> list[str]`` (change ids)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import Field

from costopt import clock
from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.recommendation import Recommendation
from costopt.domain.recommendation import auto_applicable as domain_auto_applicable
from costopt.domain.service import Service
from costopt.errors import Conflict, CostoptError
from costopt.observability import logger, metrics

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"sqs:SendMessage"})  # SendMessageBatch is authorized as sqs:SendMessage
SQS_BATCH = 10
AUTO_ACTOR = "costopt/auto"


class ServiceRecompute(Model):
    service_id: str
    status: Literal["ok", "deleted"] = "ok"
    recommendations: int = 0
    insufficient_data: int = 0
    verified: int = 0
    rolled_back: int = 0
    realised_savings_recorded: int = 0
    budget_status: str | None = None
    alerts_sent: int = 0
    auto_applied: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class FanOutReport(Model):
    run_id: str
    mode: Literal["sqs", "in_process"]
    services: int
    messages: int
    send_calls: int
    failed: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- fan-out


@cache
def _sqs() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", region_name=settings.aws_region,
                        config=Config(connect_timeout=3, read_timeout=10,
                                      retries={"mode": "standard", "max_attempts": 5}))


def _service_ids() -> Iterator[str]:
    from costopt.store.services import ServiceRepository

    yield from ServiceRepository().iter_ids()


def _chunks(ids: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for sid in ids:
        chunk.append(sid)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def message_body(service_id: str, run_id: str, now: datetime) -> str:
    return json.dumps({"service_id": service_id, "run_id": run_id, "scheduled_at": now.isoformat()})


def sqs_record(body: str, message_id: str) -> dict[str, Any]:
    """An SQS record as Lambda delivers it (shape of `sam local generate-event sqs receive-message`)."""
    return {
        "messageId": message_id, "receiptHandle": f"in-process-{message_id}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "costopt",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{settings.aws_region}:000000000000:costopt-recompute-in-process",
        "awsRegion": settings.aws_region,
    }


def fan_out(now: datetime | None = None, *, context: Any = None,
            process: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
            workers: int | None = None) -> FanOutReport:
    """Send every service to the queue, or (no queue configured) process the same batches in
    process, ``workers`` batches at a time (what concurrent Lambda executions do in AWS)."""
    now = now or clock.now()
    run_id = uuid.uuid4().hex
    services = messages = calls = 0
    failed: list[str] = []
    in_process = not settings.recompute_queue_url
    consume = process or process_batch

    def run_in_process(records: list[dict[str, Any]]) -> list[str]:
        result = consume({"Records": records}, context)
        bad = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        return [json.loads(r["body"])["service_id"] for r in records if r["messageId"] in bad]

    pool = ThreadPoolExecutor(max_workers=workers or settings.recompute_workers) if in_process else None
    pending = []
    try:
        for chunk in _chunks(_service_ids(), SQS_BATCH):
            entries = [{"Id": str(i), "MessageBody": message_body(sid, run_id, now)} for i, sid in enumerate(chunk)]
            calls += 1
            if pool is not None:
                records = [sqs_record(e["MessageBody"], f"{run_id}-{services + i}") for i, e in enumerate(entries)]
                pending.append(pool.submit(run_in_process, records))
                messages += len(entries)
            else:
                resp = _sqs().send_message_batch(QueueUrl=settings.recompute_queue_url, Entries=entries)
                messages += len(resp.get("Successful", []))
                failed += [chunk[int(f["Id"])] for f in resp.get("Failed", [])]
            services += len(chunk)
        for future in pending:
            failed += future.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    mode: Literal["sqs", "in_process"] = "in_process" if in_process else "sqs"
    report = FanOutReport(run_id=run_id, mode=mode, services=services, messages=messages, send_calls=calls,
                          failed=sorted(failed))
    logger.info("recompute fan-out", extra=report.model_dump())
    if failed and not in_process:  # sending failed: let the schedule's retry policy run it again
        raise CostoptError(f"{len(failed)} services could not be queued for recompute")
    return report


# --------------------------------------------------------------------------- consuming


def process_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Recompute every service in an SQS batch; failures are reported per message."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    def handle(record: SQSRecord) -> None:
        body = json.loads(record.body)
        scheduled = body.get("scheduled_at")
        now = clock.parse_instant(scheduled) if scheduled else clock.now()
        recompute_service(str(body["service_id"]), now)

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
    failed = len(response["batchItemFailures"])
    result: dict[str, Any] = dict(response)
    metrics.add_metric(name="ServicesRecomputed", unit="Count", value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="ServicesRecomputeFailed", unit="Count", value=failed)
    return result


# --------------------------------------------------------------------------- one service


def recompute_service(service_id: str, now: datetime) -> ServiceRecompute:
    from costopt.jobs.budget import check_budget
    from costopt.jobs.recommend import recommend_service
    from costopt.store.services import ServiceRepository

    service = ServiceRepository().find(service_id)
    if service is None:  # deleted since the fan-out: nothing to do, not a failure
        return ServiceRecompute(service_id=service_id, status="deleted")
    out = ServiceRecompute(service_id=service_id)

    out.warnings += refresh_costs(service, now)

    result = recommend_service(service, now=now)
    out.recommendations = len(result.recommendations)
    out.insufficient_data = len(result.insufficient)
    out.warnings += list(result.warnings)

    out.verified, out.rolled_back, out.realised_savings_recorded = check_changes(service, now)

    report, out.alerts_sent = check_budget(service, now)
    out.budget_status = report.status if report else None

    if service.policy.auto_apply == "low_risk":
        out.auto_applied = auto_apply(service, now)

    logger.info("recomputed", extra=out.model_dump())
    return out


def refresh_costs(service: Service, now: datetime) -> list[str]:
    """Pull the billing source up to now so budgets see today's cost (idempotent fold)."""
    from costopt.jobs.pull_metrics import pull_billing

    try:
        pull_billing(service, now)
    except CostoptError as exc:  # the source is marked stale; budgets use what is stored
        return [f"billing refresh failed: {exc.detail}"]
    return []


def check_changes(service: Service, now: datetime) -> tuple[int, int, int]:
    """Verification windows and realised savings of recent changes."""
    from costopt.jobs.verify import record_realised_savings, verify_recent_changes

    verdicts = verify_recent_changes(service, now)
    rolled_back = sum(1 for v in verdicts if getattr(v, "rolled_back", False))
    realised = record_realised_savings(service, now)
    return len(verdicts), rolled_back, len(realised)


def auto_applicable(rec: Recommendation) -> bool:
    """Low risk, non-disruptive, SLA-compliant, the best option for its resource, no person needed
    (the recommendation's own ``auto_applicable`` rule, checked again on what is stored)."""
    return (rec.status == "ACTIVE" and rec.rank == 1 and not rec.action.startswith("idle_")
            and domain_auto_applicable(option_allows=rec.auto_applicable, performance_risk=rec.performance_risk,
                                       disruptive=rec.disruptive, compliant=rec.sla.compliant))


def auto_apply(service: Service, now: datetime) -> list[str]:
    """Apply, through the same path as the API, what policy.auto_apply = low_risk allows."""
    from costopt.domain.change import ApplyRequest
    from costopt.jobs.apply import apply_recommendation
    from costopt.store.recommendations import RecommendationRepository

    active, _ = RecommendationRepository().list(service.service_id, status="ACTIVE", limit=100)
    applied: list[str] = []
    done_resources: set[str] = set()
    for rec in sorted(active, key=lambda r: -r.monthly_savings_usd):
        if rec.resource_id in done_resources or not auto_applicable(rec):
            continue
        request = ApplyRequest(service_id=service.service_id, recommendation_id=rec.recommendation_id,
                               etag=rec.etag, reason="auto-apply: policy.auto_apply=low_risk")
        try:
            result = apply_recommendation(request, actor=AUTO_ACTOR, idempotency_key=f"auto:{rec.recommendation_id}",
                                          now=now)
        except Conflict as exc:  # drift, a change in progress, or a stale etag: a person should look
            logger.warning("auto-apply skipped", extra={"recommendation_id": rec.recommendation_id,
                                                        "reason": exc.detail})
            continue
        except CostoptError as exc:  # the apply path recorded the failure; the next run may retry
            logger.warning("auto-apply failed", extra={"recommendation_id": rec.recommendation_id,
                                                       "error": exc.detail})
            continue
        done_resources.add(rec.resource_id)
        if result.change_id:
            applied.append(result.change_id)
    return applied


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The recompute function's entry: an SQS batch, or the schedule's fan-out."""
    if "Records" in event:
        return process_batch(event, context)
    return fan_out(clock.event_time(event), context=context).model_dump(mode="json")
