"""Create (or reset) every DynamoDB table of template.yaml in DynamoDB Local or moto."""

from __future__ import annotations

import os
from typing import Any

from local.template import table_definitions, table_env


def export_table_env(prefix: str = "costopt-") -> dict[str, str]:
    """Set SERVICES_TABLE etc. in os.environ to the local names; returns them."""
    env = table_env(prefix=prefix)
    os.environ.update(env)
    return env


def create_tables(client: Any, prefix: str = "costopt-", reset: bool = False) -> list[str]:
    """Create the tables that do not exist yet (``reset`` drops and recreates them)."""
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for definition in table_definitions(prefix=prefix):
        args = definition["create"]
        name = args["TableName"]
        if name in existing:
            if not reset:
                continue
            client.delete_table(TableName=name)
            client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05})
        client.create_table(**args)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05})
        ttl = definition["ttl"]
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created.append(name)
    return created


def clear_tables(client: Any, prefix: str = "costopt-") -> None:
    """Delete every item of every table (fast reset between tests)."""
    for definition in table_definitions(prefix=prefix):
        args = definition["create"]
        keys = [k["AttributeName"] for k in args["KeySchema"]]
        paginator = client.get_paginator("scan")
        for page in paginator.paginate(TableName=args["TableName"], ProjectionExpression=", ".join(
                f"#k{i}" for i in range(len(keys))),
                ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)}):
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                batch = [{"DeleteRequest": {"Key": item}} for item in items[start:start + 25]]
                client.batch_write_item(RequestItems={args["TableName"]: batch})
