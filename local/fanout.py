"""The recompute fan-out without a queue: each batch of 10 runs in process, as SQS would deliver it.

Tests and the benchmark use it where no SQS queue exists: ``fan_out_in_process(now)`` pages the
services exactly like the scheduled fan-out (``costopt.jobs.recompute.fan_out``), builds the SQS
records Lambda would receive (``sqs_record``) and hands them to the same ``process_batch``,
``workers`` batches at a time (what concurrent Lambda executions do in AWS). The report says
``mode: in_process``; a service whose record failed is listed in ``failed`` (nothing is retried).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from costopt.config import settings
from costopt.jobs.recompute import FanOutReport, fan_out, process_batch

Process = Callable[[dict[str, Any], Any], dict[str, Any]]


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


class InProcessDispatch:
    """``costopt.jobs.recompute.Dispatch`` that consumes each batch here, on a thread pool."""

    mode: Literal["sqs", "in_process"] = "in_process"

    def __init__(self, run_id: str, *, context: Any = None, process: Process | None = None,
                 workers: int | None = None) -> None:
        self.run_id, self.context, self.process = run_id, context, process or process_batch
        self.pool = ThreadPoolExecutor(max_workers=workers or settings.recompute_workers)
        self.pending: list[Future[list[str]]] = []
        self.sent = 0

    def _run(self, records: list[dict[str, Any]]) -> list[str]:
        result = self.process({"Records": records}, self.context)
        bad = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        return [json.loads(r["body"])["service_id"] for r in records if r["messageId"] in bad]

    def send(self, chunk: list[str], entries: list[dict[str, str]]) -> tuple[int, list[str]]:
        records = [sqs_record(e["MessageBody"], f"{self.run_id}-{self.sent + i}") for i, e in enumerate(entries)]
        self.sent += len(entries)
        self.pending.append(self.pool.submit(self._run, records))
        return len(entries), []

    def finish(self) -> list[str]:
        try:
            return [sid for future in self.pending for sid in future.result()]
        finally:
            self.pool.shutdown(wait=True)


def fan_out_in_process(now: datetime | None = None, *, context: Any = None, process: Process | None = None,
                       workers: int | None = None) -> FanOutReport:
    """The scheduled fan-out with every batch processed here instead of queued."""
    import uuid

    run_id = uuid.uuid4().hex
    dispatch = InProcessDispatch(run_id, context=context, process=process, workers=workers)
    try:
        return fan_out(now, dispatch=dispatch, run_id=run_id)
    finally:
        dispatch.pool.shutdown(wait=True)
