"""The local stack: DynamoDB Local, the AWS sandbox, a local HTTP API gateway and invoke."""
