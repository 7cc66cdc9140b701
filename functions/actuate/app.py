"""actuate: the worker that carries out changes too long for a request (EC2 stop/modify/start)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.jobs.actuate import handle
from costopt.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event)
