"""pull_metrics: the hourly ScheduleV2 job. Thin: the event's time, the Lambda's remaining time, the job."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.jobs.pull_metrics import run
from costopt.observability import logger, metrics, tracer

SAFETY_MARGIN_S = 15.0  # left for the last fold to finish and the report to be logged


def _event_time(event: dict[str, Any]) -> datetime:
    """The schedule's time (a Scheduled Event's ``time``), else now; never in the future."""
    now = datetime.now(UTC)
    raw = event.get("time") if isinstance(event, dict) else None
    try:
        t = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else now
    except ValueError:
        return now
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return min(t, now)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline_s = context.get_remaining_time_in_millis() / 1000.0 - SAFETY_MARGIN_S
    report = run(_event_time(event), deadline_s)
    metrics.add_metric(name="ServicesPulled", unit=MetricUnit.Count, value=len(report.services))
    metrics.add_metric(name="ServicesStale", unit=MetricUnit.Count, value=len(report.stale))
    metrics.add_metric(name="ServicesNotReached", unit=MetricUnit.Count, value=len(report.not_reached))
    logger.info("pull finished", extra={"services": len(report.services), "stale": report.stale,
                                        "not_reached": len(report.not_reached), "elapsed_s": report.elapsed_s})
    return report.model_dump(mode="json", exclude={"services"}) | {
        "services": len(report.services), "stale": report.stale}
