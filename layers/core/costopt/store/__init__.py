"""DynamoDB persistence through PynamoDB. Repositories return domain models."""
