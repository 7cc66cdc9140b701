"""apply: apply a recommendation to the live resource, and the config change history."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from costopt.api import apply
from costopt.http import make_resolver
from costopt.jobs.apply import idempotency_config
from costopt.observability import logger, tracer

app = make_resolver()
app.include_router(apply.router)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
