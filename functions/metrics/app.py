"""metrics: metric queries, the service list with health, and SLO health per service."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.api import metrics
from costopt.http import make_resolver
from costopt.observability import logger, tracer

app = make_resolver()
app.include_router(metrics.router)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
