"""DynamoDB: UpdateTable billing mode (on-demand <-> provisioned) and provisioned throughput.

When a table becomes PROVISIONED its global secondary indexes need capacity too: they get the
table's RCU/WCU (said in the warnings). The table is waited for until ACTIVE again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from costopt.actuators.aws import aws_errors, client, region_of, waiter_config
from costopt.actuators.base import Actuation, Actuator, Progress, as_kind
from costopt.domain.common import Model
from costopt.domain.resources import DynamoDbConfig, DynamoDbTable, Resource, ResourceKind
from costopt.domain.service import Service

KIND = ResourceKind.DYNAMODB_TABLE

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "dynamodb:DescribeTable",  # read, and the table_exists waiter
    "dynamodb:UpdateTable",
})


class DynamoDbActuator(Actuator):
    kind = KIND
    config_model = DynamoDbConfig
    managed_fields = ("billing_mode", "rcu", "wcu")

    def _describe(self, ddb: Any, name: str) -> dict[str, Any]:
        with aws_errors(KIND, "DescribeTable"):
            table: dict[str, Any] = ddb.describe_table(TableName=name)["Table"]
        return table

    def parse(self, config: dict[str, Any] | Model) -> Model:
        data = config.model_dump() if isinstance(config, Model) else dict(config)
        if data.get("billing_mode") == "PAY_PER_REQUEST":  # capacity does not apply on demand
            data["rcu"] = data["wcu"] = None
        return DynamoDbConfig.model_validate(data)

    def read(self, service: Service, resource: Resource) -> Model:
        tbl = as_kind(resource, DynamoDbTable)
        table = self._describe(client("dynamodb", region_of(service, tbl), tbl.account_id), tbl.table_name)
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        throughput = table.get("ProvisionedThroughput") or {}
        live: dict[str, Any] = {"billing_mode": mode, "rcu": None, "wcu": None}
        if mode == "PROVISIONED":
            live.update(rcu=int(throughput["ReadCapacityUnits"]), wcu=int(throughput["WriteCapacityUnits"]))
        return self.parse({**tbl.config.model_dump(), **live})

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse_as(before, DynamoDbConfig), self.parse_as(target, DynamoDbConfig)
        if b.billing_mode == "PROVISIONED" and t.billing_mode == "PAY_PER_REQUEST":
            return ["AWS limits how often a table can switch to on-demand in a 24-hour window; a rollback "
                    "back to provisioned is always allowed"]
        return []

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime, progress: Progress | None = None) -> Actuation:
        tbl = as_kind(resource, DynamoDbTable)
        t = self.parse_as(target, DynamoDbConfig)
        ddb = client("dynamodb", region_of(service, tbl), tbl.account_id)
        table = self._describe(ddb, tbl.table_name)
        args: dict[str, Any] = {"TableName": tbl.table_name, "BillingMode": t.billing_mode}
        warnings: list[str] = []
        if t.billing_mode == "PROVISIONED":
            assert t.rcu is not None and t.wcu is not None
            capacity = {"ReadCapacityUnits": t.rcu, "WriteCapacityUnits": t.wcu}
            args["ProvisionedThroughput"] = capacity
            indexes = [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])]
            if indexes and (table.get("BillingModeSummary") or {}).get("BillingMode") == "PAY_PER_REQUEST":
                args["GlobalSecondaryIndexUpdates"] = [
                    {"Update": {"IndexName": name, "ProvisionedThroughput": capacity}} for name in indexes]
                warnings.append(f"global secondary indexes {', '.join(indexes)} get the table's capacity "
                                f"({t.rcu} RCU / {t.wcu} WCU)")
        with aws_errors(KIND, "UpdateTable"):
            ddb.update_table(**args)
        with aws_errors(KIND, "waiting for the table to be ACTIVE", partial=True):
            ddb.get_waiter("table_exists").wait(TableName=tbl.table_name, WaiterConfig=waiter_config())
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, tbl)
        self.confirm(t, after)
        return Actuation(after=after, warnings=warnings)
