"""Lambda provisioned concurrency (moto does not implement its API): botocore Stubber with the real
response shapes of ListProvisionedConcurrencyConfigs / Put / Get / Delete."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from costopt.actuators.aws import client
from costopt.actuators.registry import actuator_for
from costopt.errors import Unprocessable
from tests.support.aws_fixtures import NOW, REGION, make_service

FN = "checkout-api"
ARN = f"arn:aws:lambda:{REGION}:123456789012:function:{FN}"


def function_config(memory=1024):
    return {"FunctionName": FN, "FunctionArn": ARN, "MemorySize": memory, "Architectures": ["x86_64"],
            "LastUpdateStatus": "Successful", "State": "Active"}


def pc_config(requested, allocated=None, status="READY"):
    return {"FunctionArn": f"{ARN}:live", "RequestedProvisionedConcurrentExecutions": requested,
            "AvailableProvisionedConcurrentExecutions": allocated if allocated is not None else requested,
            "AllocatedProvisionedConcurrentExecutions": allocated if allocated is not None else requested,
            "Status": status, "LastModified": "2026-11-01T10:00:00+0000"}


@pytest.fixture
def stub():
    lam = client("lambda", REGION)
    with Stubber(lam) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def service(pc):
    return make_service([{"resource_id": "api", "kind": "lambda_function", "function_name": FN,
                          "config": {"memory_mb": 1024, "provisioned_concurrency": pc}}])


def test_drop_idle_provisioned_concurrency(stub):
    svc = service(pc=5)
    act = actuator_for("lambda_function")
    stub.add_response("get_function_configuration", function_config(), {"FunctionName": FN})
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": [pc_config(5)]},
                      {"FunctionName": FN})
    before = act.read(svc, svc.resource("api"))
    assert before.provisioned_concurrency == 5

    target = act.parse({"memory_mb": 1024, "provisioned_concurrency": 0})
    warnings = act.check(svc, svc.resource("api"), before, target)
    assert "rollback cannot recreate it" in warnings[0]
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": [pc_config(5)]},
                      {"FunctionName": FN})
    stub.add_response("delete_provisioned_concurrency_config", {}, {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_function_configuration", function_config(), {"FunctionName": FN})
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": []},
                      {"FunctionName": FN})
    done = act.apply(svc, svc.resource("api"), before, target, change_id="c1", now=NOW)
    assert done.after.provisioned_concurrency == 0 and done.after.memory_mb == 1024
    # restoring it would need a version/alias costopt does not manage: refused clearly, not half-done
    with pytest.raises(Unprocessable) as info:
        act.check(svc, svc.resource("api"), done.after, before)
    assert "published version or alias" in info.value.detail


def test_lower_provisioned_concurrency_waits_until_ready(stub, monkeypatch):
    from costopt.config import settings

    monkeypatch.setattr(settings, "actuator_wait_delay_s", 0.0)
    svc = service(pc=20)
    act = actuator_for("lambda_function")
    before = act.parse({"memory_mb": 1024, "provisioned_concurrency": 20})
    target = act.parse({"memory_mb": 1024, "provisioned_concurrency": 8})
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": [pc_config(20)]},
                      {"FunctionName": FN})
    stub.add_response("put_provisioned_concurrency_config",
                      {"RequestedProvisionedConcurrentExecutions": 8, "Status": "IN_PROGRESS"},
                      {"FunctionName": FN, "Qualifier": "live", "ProvisionedConcurrentExecutions": 8})
    stub.add_response("get_provisioned_concurrency_config",
                      {"RequestedProvisionedConcurrentExecutions": 8, "Status": "IN_PROGRESS"},
                      {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_provisioned_concurrency_config",
                      {"RequestedProvisionedConcurrentExecutions": 8, "AllocatedProvisionedConcurrentExecutions": 8,
                       "Status": "READY"}, {"FunctionName": FN, "Qualifier": "live"})
    stub.add_response("get_function_configuration", function_config(), {"FunctionName": FN})
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": [pc_config(8)]},
                      {"FunctionName": FN})
    done = act.apply(svc, svc.resource("api"), before, target, change_id="c2", now=NOW)
    assert done.after.provisioned_concurrency == 8


def test_failed_allocation_is_a_partial_failure(stub, monkeypatch):
    from costopt.actuators.base import ActuationFailed
    from costopt.config import settings

    monkeypatch.setattr(settings, "actuator_wait_delay_s", 0.0)
    svc = service(pc=20)
    act = actuator_for("lambda_function")
    stub.add_response("list_provisioned_concurrency_configs", {"ProvisionedConcurrencyConfigs": [pc_config(20)]},
                      {"FunctionName": FN})
    stub.add_response("put_provisioned_concurrency_config",
                      {"RequestedProvisionedConcurrentExecutions": 8, "Status": "IN_PROGRESS"},
                      {"FunctionName": FN, "Qualifier": "live", "ProvisionedConcurrentExecutions": 8})
    stub.add_response("get_provisioned_concurrency_config",
                      {"RequestedProvisionedConcurrentExecutions": 8, "Status": "FAILED",
                       "StatusReason": "FUNCTION_ERROR_INIT_FAILURE"}, {"FunctionName": FN, "Qualifier": "live"})
    with pytest.raises(ActuationFailed) as info:
        act.apply(svc, svc.resource("api"), act.parse({"memory_mb": 1024, "provisioned_concurrency": 20}),
                  act.parse({"memory_mb": 1024, "provisioned_concurrency": 8}), change_id="c3", now=NOW)
    assert info.value.partial and "FAILED" in info.value.detail
