"""Lambda: memory via UpdateFunctionConfiguration (then wait for LastUpdateStatus Successful) and
provisioned concurrency. The architecture is recommend-only: switching to arm64 needs a new
deployment package built for it (UpdateFunctionCode with Architectures), which config cannot do.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from costopt.actuators.base import Actuation, ActuationFailed, Actuator, aws_errors, client, region_of, waiter_config
from costopt.config import settings
from costopt.domain.common import Model
from costopt.domain.resources import LambdaConfig, LambdaFunction, Resource
from costopt.domain.service import Service
from costopt.errors import Unprocessable

KIND = "lambda_function"

# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({
    "lambda:GetFunctionConfiguration",  # read, and the wait for LastUpdateStatus after a memory change
    "lambda:UpdateFunctionConfiguration",
    "lambda:ListProvisionedConcurrencyConfigs",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
})


class LambdaActuator(Actuator):
    kind = KIND
    config_model = LambdaConfig
    managed_fields = ("memory_mb", "architecture", "provisioned_concurrency")

    def _fn(self, resource: Resource) -> LambdaFunction:
        assert isinstance(resource, LambdaFunction)
        return resource

    def _reads_provisioned(self, resource: LambdaFunction, target: LambdaConfig | None = None) -> bool:
        # Provisioned concurrency is read when the service registers some or a change targets it.
        return resource.config.provisioned_concurrency > 0 or bool(target and target.provisioned_concurrency)

    def _provisioned(self, lam: Any, function_name: str) -> list[dict[str, Any]]:
        configs: list[dict[str, Any]] = []
        with aws_errors(KIND, "ListProvisionedConcurrencyConfigs"):
            for page in lam.get_paginator("list_provisioned_concurrency_configs").paginate(
                    FunctionName=function_name):
                configs.extend(page.get("ProvisionedConcurrencyConfigs", []))
        return configs

    def read(self, service: Service, resource: Resource) -> Model:
        fn = self._fn(resource)
        lam = client("lambda", region_of(service, fn))
        with aws_errors(KIND, "GetFunctionConfiguration"):
            cfg = lam.get_function_configuration(FunctionName=fn.function_name)
        live: dict[str, Any] = {
            "memory_mb": int(cfg["MemorySize"]),
            "architecture": (cfg.get("Architectures") or ["x86_64"])[0],
        }
        if self._reads_provisioned(fn):
            live["provisioned_concurrency"] = sum(
                int(c.get("RequestedProvisionedConcurrentExecutions", 0))
                for c in self._provisioned(lam, fn.function_name))
        return self.merge_live(fn, live)

    def check(self, service: Service, resource: Resource, before: Model, target: Model) -> list[str]:
        b, t = self.parse(before), self.parse(target)
        assert isinstance(b, LambdaConfig) and isinstance(t, LambdaConfig)
        if b.architecture != t.architecture:
            raise Unprocessable(
                f"switching a Lambda function to {t.architecture} is recommend-only: it needs a deployment "
                f"package built for {t.architecture} (UpdateFunctionCode with Architectures), which a "
                "configuration change cannot do. Rebuild and deploy the function, then re-run recommend.",
                extra={"actuator": KIND, "field": "architecture"},
            )
        if t.provisioned_concurrency > 0 and b.provisioned_concurrency == 0:
            raise Unprocessable(
                "adding provisioned concurrency needs a published version or alias; configure it in your "
                "deployment", extra={"actuator": KIND, "field": "provisioned_concurrency"})
        if b.provisioned_concurrency > 0 and t.provisioned_concurrency == 0:
            return ["dropping provisioned concurrency deletes its configuration: a rollback cannot recreate it "
                    "(re-add it in your deployment)"]
        return []

    def apply(self, service: Service, resource: Resource, before: Model, target: Model, *,
              change_id: str, now: datetime) -> Actuation:
        fn = self._fn(resource)
        b, t = self.parse(before), self.parse(target)
        assert isinstance(b, LambdaConfig) and isinstance(t, LambdaConfig)
        lam = client("lambda", region_of(service, fn))
        changed = False
        if t.memory_mb != b.memory_mb:
            with aws_errors(KIND, "UpdateFunctionConfiguration"):
                lam.update_function_configuration(FunctionName=fn.function_name, MemorySize=t.memory_mb)
            changed = True
            with aws_errors(KIND, "waiting for LastUpdateStatus Successful", partial=True):
                # function_updated polls GetFunctionConfiguration (function_updated_v2 polls GetFunction,
                # which also hands out the code's download URL: a permission costopt does not need)
                lam.get_waiter("function_updated").wait(FunctionName=fn.function_name, WaiterConfig=waiter_config())
        if t.provisioned_concurrency != b.provisioned_concurrency:
            self._set_provisioned(lam, fn.function_name, t.provisioned_concurrency, partial=changed)
        with aws_errors(KIND, "read-back", partial=True):
            after = self.read(service, fn)
        self.confirm(t, after)
        return Actuation(after=after)

    def _set_provisioned(self, lam: Any, function_name: str, value: int, *, partial: bool) -> None:
        configs = self._provisioned(lam, function_name)
        qualifiers = [c["FunctionArn"].rsplit(":", 1)[-1] for c in configs]
        if value == 0:
            for i, qualifier in enumerate(qualifiers):
                with aws_errors(KIND, f"DeleteProvisionedConcurrencyConfig {qualifier}", partial=partial or i > 0):
                    lam.delete_provisioned_concurrency_config(FunctionName=function_name, Qualifier=qualifier)
            return
        if len(qualifiers) != 1:
            raise ActuationFailed(KIND, f"provisioned concurrency is set on {len(qualifiers)} qualifiers; "
                                  "costopt changes it only when there is exactly one", partial=partial)
        qualifier = qualifiers[0]
        with aws_errors(KIND, "PutProvisionedConcurrencyConfig", partial=partial):
            lam.put_provisioned_concurrency_config(FunctionName=function_name, Qualifier=qualifier,
                                                   ProvisionedConcurrentExecutions=value)
        for _ in range(settings.actuator_wait_max_attempts):
            with aws_errors(KIND, "GetProvisionedConcurrencyConfig", partial=True):
                status = lam.get_provisioned_concurrency_config(FunctionName=function_name,
                                                                Qualifier=qualifier).get("Status")
            if status == "READY":
                return
            if status == "FAILED":
                raise ActuationFailed(KIND, "provisioned concurrency allocation FAILED", partial=True)
            time.sleep(settings.actuator_wait_delay_s)
        raise ActuationFailed(KIND, "provisioned concurrency did not become READY in time", partial=True)
