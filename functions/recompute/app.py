"""recompute: the daily schedule fans services out to SQS; SQS batches recompute each service."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.jobs.recompute import handle
from costopt.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
