"""The daily recompute: fan the services out, then per service refresh costs, regenerate the
recommendations, check verification windows and realised savings, evaluate the budget and
auto-apply what the policy allows.

Fan-out: the schedule pages through the services (GSI Query, no Scan) and sends one SQS message
per service in SendMessageBatch calls of 10. The same function consumes the queue with
Powertools' BatchProcessor and ``ReportBatchItemFailures``, so a failing service is retried
alone. A deployment always has the queue; tests and the benchmark that want no queue hand
``fan_out`` the in-process ``Dispatch`` of ``local.fanout`` (the same records through the same
``process_batch``).

``fan_out(now=None, *, dispatch=None) -> FanOutReport`` (mode: where the batches went)
``process_batch(event: dict, context) -> {"batchItemFailures": [...]}``
``recompute_service(service_id, now) -> ServiceRecompute``
``auto_apply(service, now) -> list[str]`` (change ids)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any, Literal, Protocol

from pydantic import Field

from costopt import clock, deps
from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.recommendation import Recommendation
from costopt.domain.recommendation import auto_applicable as domain_auto_applicable
from costopt.domain.service import Service
from costopt.errors import Conflict, CostoptError
from costopt.observability import logger, metrics
from costopt.ports import SqsClient

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"sqs:SendMessage"})  # SendMessageBatch is authorized as sqs:SendMessage
SQS_BATCH = 10
AUTO_ACTOR = "costopt/auto"


class ServiceRecompute(Model):
    service_id: str
    status: Literal["ok", "deleted"] = "ok"
    recommendations: int = 0
    insufficient_data: int = 0
    budget_status: str | None = None
    verified: int = 0
    rolled_back: int = 0
    realised_savings_recorded: int = 0
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


class Dispatch(Protocol):
    """Where the fan-out's batches go: SQS here; ``local.fanout`` runs them in process instead."""

    mode: Literal["sqs", "in_process"]

    def send(self, chunk: list[str], entries: list[dict[str, str]]) -> tuple[int, list[str]]:
        """Hand one batch on; returns (messages accepted, service ids that failed now)."""
        ...

    def finish(self) -> list[str]:
        """Wait for what is still running; returns the service ids that failed."""
        ...


@cache
def _sqs() -> SqsClient:
    import boto3

    from costopt.connectors.queues import sqs_config

    client: SqsClient = boto3.client("sqs", region_name=settings.aws_region, config=sqs_config(10, 5))
    return client


class SqsDispatch:
    """One SendMessageBatch per batch of 10 to the recompute queue."""

    mode: Literal["sqs", "in_process"] = "sqs"

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, chunk: list[str], entries: list[dict[str, str]]) -> tuple[int, list[str]]:
        resp = _sqs().send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(resp.get("Successful", [])), [chunk[int(f["Id"])] for f in resp.get("Failed", [])]

    def finish(self) -> list[str]:
        return []


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


def fan_out(now: datetime | None = None, *, dispatch: Dispatch | None = None,
            run_id: str | None = None) -> FanOutReport:
    """Send every service to the recompute queue (or to ``dispatch``), ``SQS_BATCH`` per call."""
    now = now or clock.now()
    run_id = run_id or uuid.uuid4().hex
    if dispatch is None:
        if not settings.recompute_queue_url:
            raise CostoptError("no recompute queue is configured (RECOMPUTE_QUEUE_URL)")
        dispatch = SqsDispatch(settings.recompute_queue_url)
    services = messages = calls = 0
    failed: list[str] = []
    for chunk in _chunks(deps.services().iter_ids(), SQS_BATCH):
        entries = [{"Id": str(i), "MessageBody": message_body(sid, run_id, now)} for i, sid in enumerate(chunk)]
        calls += 1
        accepted, bad = dispatch.send(chunk, entries)
        messages += accepted
        failed += bad
        services += len(chunk)
    failed += dispatch.finish()
    report = FanOutReport(run_id=run_id, mode=dispatch.mode, services=services, messages=messages,
                          send_calls=calls, failed=sorted(failed))
    logger.info("recompute fan-out", extra=report.model_dump())
    if failed and dispatch.mode == "sqs":  # sending failed: let the schedule's retry policy run it again
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

    service = deps.services().find(service_id)
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

    active, _ = deps.recommendations().list(service.service_id, status="ACTIVE", limit=100)
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
    return fan_out(clock.event_time(event)).model_dump(mode="json")
