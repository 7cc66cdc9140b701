"""discover: POST /v1/discover, the history pull of one service, and the daily re-discovery schedule."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.api import discover
from costopt.http import make_resolver
from costopt.jobs.discover import handle_schedule, is_schedule
from costopt.observability import logger, tracer

app = make_resolver()
app.include_router(discover.router)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_schedule(event):
        return handle_schedule(event, context.get_remaining_time_in_millis())
    return app.resolve(event, context)
