"""A stand-in for the Lambda context object handlers receive (the fields Powertools reads)."""

from __future__ import annotations


class LambdaContext:
    function_name = "costopt-test"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:costopt-test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/costopt-test"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 25_000
