"""pull_metrics: the hourly schedule pulls telemetry and billing and verifies recent changes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.jobs.pull_metrics import handle
from costopt.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context.get_remaining_time_in_millis())
