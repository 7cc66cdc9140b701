"""rollback: restore the before config of an applied recommendation."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.api import rollback
from costopt.http import make_resolver
from costopt.jobs.apply import idempotency_config
from costopt.observability import logger, tracer

app = make_resolver()
app.include_router(rollback.router)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
