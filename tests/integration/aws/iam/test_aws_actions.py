"""Every module's AWS_ACTIONS is true: its scenarios below (moto, or botocore's Stubber where moto lacks the
API) call exactly the actions it declares, so no declaration is missing (tests/integration/aws/conftest.py fails any
unit test with an undeclared call) and none is stale (each declared action is called here at least once).
tests/contract/test_iam.py then checks template.yaml grants what the modules declare.

Most scenarios are the modules' own moto tests, run again with their calls recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from costopt.actuators.aws import client
from costopt.actuators.registry import actuator_for
from costopt.config import settings
from tests.aws_actions import AwsCallRecorder, declared_actions, iam_actions
from tests.integration.aws.actuators import test_actuators_on_moto as actuators
from tests.integration.aws.actuators import test_ecs_revisions_on_moto, test_preflight_on_moto
from tests.integration.aws.connectors import test_cloudwatch_on_moto, test_cost_explorer_on_moto, test_focus_on_moto
from tests.integration.aws.jobs import test_change_flow, test_recompute_on_moto
from tests.integration.aws.jobs.test_change_flow import call, resize  # noqa: F401  (fixtures of the _async_resize scenario)
from tests.support.aws_fixtures import NOW, REGION, ebs_volume, make_service
from tests.unit.actuators import test_ecs_revisions, test_lambda_provisioned
from tests.unit.connectors import test_spot_prices

DECLARED = declared_actions()
Scenario = Callable[[pytest.FixtureRequest], None]


def _lambda_provisioned(request: pytest.FixtureRequest) -> None:
    with Stubber(client("lambda", REGION)) as stub:
        test_lambda_provisioned.test_drop_idle_provisioned_concurrency(stub)
        test_lambda_provisioned.test_lower_provisioned_concurrency_waits_until_ready(
            stub, request.getfixturevalue("monkeypatch"))
        stub.assert_no_pending_responses()


def _ebs_read_back_lags_the_modification(request: pytest.FixtureRequest) -> None:
    """DescribeVolumes shows the old settings until the modification is "optimizing": the accepted
    modification (DescribeVolumesModifications) is the read-back."""
    volume = ebs_volume(100, "gp2")
    service = make_service([{"resource_id": "data", "kind": "ebs_volume", "volume_id": volume,
                             "config": {"volume_type": "gp2", "size_gb": 100}}])
    act = actuator_for("ebs_volume")
    before = act.parse({"volume_type": "gp2", "size_gb": 100})
    target = act.parse({"volume_type": "gp3", "size_gb": 100, "iops": 3000, "throughput_mbps": 125})
    old = {"VolumeId": volume, "VolumeType": "gp2", "Size": 100, "Iops": 300}
    mod = {"VolumeId": volume, "ModificationState": "modifying", "TargetVolumeType": "gp3", "TargetSize": 100,
           "TargetIops": 3000, "TargetThroughput": 125, "StartTime": NOW}
    with Stubber(client("ec2", REGION)) as stub:
        stub.add_response("modify_volume", {"VolumeModification": mod})
        stub.add_response("describe_volumes", {"Volumes": [old]}, {"VolumeIds": [volume]})
        stub.add_response("describe_volumes_modifications", {"VolumesModifications": [mod]}, {"VolumeIds": [volume]})
        done = act.apply(service, service.resource("data"), before, target, change_id="c", now=NOW)
        stub.assert_no_pending_responses()
    assert done.after == target and "modifying" in done.warnings[0]


def _cost_explorer_by_resource(request: pytest.FixtureRequest) -> None:
    from costopt.connectors.cost_explorer import CostExplorerBilling

    ce = boto3.client("ce", region_name="us-east-1")
    day = test_cost_explorer_on_moto.day("2026-11-20", "2026-11-21",
                                           [test_cost_explorer_on_moto.group("checkout-api", "3.5")])
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage_with_resources", {"ResultsByTime": [day]})
        CostExplorerBilling(client=ce, now=datetime(2026, 11, 22, 6, tzinfo=UTC)).fetch_costs(
            test_cost_explorer_on_moto.service("checkout"), test_cost_explorer_on_moto.D20,
            test_cost_explorer_on_moto.D21)
        stub.assert_no_pending_responses()


def _billing_api_key(request: pytest.FixtureRequest) -> None:
    from costopt.connectors.billing_http import api_key

    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="costopt/iam-billing-key", SecretString='{"api_key": "k-123"}')
    request.getfixturevalue("monkeypatch").setattr(settings, "billing_api_key_secret", "costopt/iam-billing-key")
    assert api_key() == "k-123"


def _budget_alert(request: pytest.FixtureRequest) -> None:
    from costopt.connectors.notify import publish_budget_alert
    from costopt.domain.budget import BudgetAlert

    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="costopt-iam-alerts")["TopicArn"]
    request.getfixturevalue("monkeypatch").setattr(settings, "alert_topic_arn", topic)
    publish_budget_alert(BudgetAlert(service_id="checkout", month="2026-11", type="ACTUAL", kind="PERCENTAGE",
                                     threshold=80, threshold_usd=800, budget_usd=1000, month_to_date_usd=812.5,
                                     forecast_usd=None, crossed_at=NOW))


def _price_list(request: pytest.FixtureRequest) -> None:
    from costopt.pricing.price_list import get_products

    pricing = boto3.client("pricing", region_name="us-east-1")
    with Stubber(pricing) as stub:
        stub.add_response("get_products", {"PriceList": [], "FormatVersion": "aws_v1"})
        assert get_products(pricing, "AmazonEC2", {"regionCode": "eu-west-1"}) == []
        stub.assert_no_pending_responses()


def _fixture(name: str, test: Callable[..., Any]) -> Scenario:
    return lambda request: test(request.getfixturevalue(name))


def _plain(test: Callable[[], Any]) -> Scenario:
    return lambda request: test()


def _async_resize(request: pytest.FixtureRequest) -> None:
    """An EC2 resize handed to the actuation worker's queue (and carried out by it)."""
    fixtures = [request.getfixturevalue(n) for n in ("call", "resize", "run_actuations")]
    test_change_flow.test_an_ec2_resize_is_accepted_then_carried_out_and_rolled_back_by_the_worker(*fixtures)


def _member_accounts(request: pytest.FixtureRequest) -> None:
    """A member account's role assumed (with moto's AssumeRole checking it), the organization's accounts listed."""
    from costopt import accounts
    from local.moto_ext import sts as sts_ext
    from tests.integration.aws import test_accounts_on_moto as on_moto

    sts_ext.install()
    request.getfixturevalue("monkeypatch").setattr(settings, "member_external_id", on_moto.EXTERNAL_ID)
    accounts.reset()
    try:
        on_moto.test_a_member_accounts_resources_are_read_through_its_role()
        on_moto.test_member_accounts_outside_then_inside_an_organization()
    finally:
        accounts.reset()


def _inventory(request: pytest.FixtureRequest) -> None:
    """Every selector (tag, stack, ECS cluster) and every kind's describe calls, on moto."""
    from local.moto_ext import lambda_concurrency
    from tests.integration.aws.connectors import test_inventory_on_moto as on_moto

    lambda_concurrency.install()
    on_moto.test_a_tag_finds_every_kind_with_its_live_config()
    on_moto.test_a_stack_names_what_it_created()
    on_moto.test_an_ecs_cluster_names_its_services()


SCENARIOS: dict[str, list[Scenario]] = {
    "costopt.accounts": [_member_accounts],
    "costopt.connectors.inventory": [_inventory],
    "costopt.connectors.inventory_describe": [_inventory],
    "costopt.actuators.lambda_function": [
        _plain(actuators.test_lambda_memory_changes_and_restores), _lambda_provisioned,
        _fixture("lambda_code",
                 test_preflight_on_moto.test_a_pure_python_function_switches_to_arm64_with_the_same_package_and_back),
        _fixture("lambda_code",
                 test_preflight_on_moto.test_layers_must_declare_arm64_and_one_declaring_nothing_is_unknown)],
    "costopt.actuators.ecs_service": [
        _plain(test_ecs_revisions_on_moto.test_a_resized_revision_is_tagged_managed_and_keeps_the_source_tags),
        _plain(test_ecs_revisions.test_a_failed_update_deregisters_only_the_revision_this_apply_registered),
        _fixture("tables", test_preflight_on_moto.test_ecs_graviton_with_a_multi_platform_ecr_image_is_applied)],
    "costopt.actuators.ec2_instance": [
        _plain(actuators.test_ec2_resize_needs_allow_disruptive),
        _fixture("tables",
                 test_preflight_on_moto.test_the_ami_architecture_falls_back_to_describe_images_and_unknown_is_refused)],
    "costopt.connectors.queues": [_async_resize],
    "costopt.actuators.ebs_volume": [_plain(actuators.test_ebs_gp2_to_gp3_then_restore_after_cooldown),
                                     _ebs_read_back_lags_the_modification],
    "costopt.actuators.dynamodb_table": [_plain(actuators.test_dynamodb_provisioned_to_on_demand_and_back)],
    "costopt.actuators.generic": [_fixture("tables", actuators.test_generic_emits_config_change_requested)],
    "costopt.connectors.cloudwatch": [_plain(test_cloudwatch_on_moto.test_sums_and_averages_through_moto)],
    "costopt.connectors.cost_explorer": [
        _plain(test_cost_explorer_on_moto.test_daily_cost_by_aws_service_through_moto), _cost_explorer_by_resource],
    "costopt.connectors.focus": [_plain(test_focus_on_moto.test_focus_from_s3)],
    "costopt.connectors.billing_http": [_billing_api_key],
    "costopt.connectors.notify": [_budget_alert],
    "costopt.connectors.spot_prices": [_plain(test_spot_prices.test_moto_round_trip_and_catalog_enrichment)],
    "costopt.jobs.recompute": [lambda request: test_recompute_on_moto.test_fan_out_sends_one_message_per_service_to_sqs(
        request.getfixturevalue("tables"), request.getfixturevalue("monkeypatch"))],
    "costopt.pricing.price_list": [_price_list],
}


def test_every_module_that_declares_aws_actions_has_scenarios() -> None:
    assert set(SCENARIOS) == set(DECLARED), (
        "modules declaring AWS_ACTIONS without a scenario here: "
        f"{sorted(set(DECLARED) - set(SCENARIOS))}; scenarios for modules that declare none: "
        f"{sorted(set(SCENARIOS) - set(DECLARED))}")


@pytest.mark.parametrize("module", sorted(SCENARIOS))
def test_a_module_calls_exactly_the_aws_actions_it_declares(module: str, request: pytest.FixtureRequest) -> None:
    recorder = AwsCallRecorder()
    with recorder.recording():
        for scenario in SCENARIOS[module]:
            scenario(request)
    called = recorder.by_module()
    assert recorder.undeclared(DECLARED) == {}
    assert called.get(module, set()) == set(DECLARED.get(module, ())), (
        f"{module} declares actions its scenarios never call: {sorted(set(DECLARED[module]) - called[module])}")


# ---------------------------------------------------------------- the recorder and the mapping themselves


def test_api_operations_map_to_the_iam_actions_that_authorize_them() -> None:
    assert iam_actions("lambda", "GetFunctionConfiguration", {}) == {"lambda:GetFunctionConfiguration"}
    assert iam_actions("cloudwatch", "GetMetricData", {}) == {"cloudwatch:GetMetricData"}
    assert iam_actions("sqs", "SendMessageBatch", {"Entries": []}) == {"sqs:SendMessage"}
    assert iam_actions("ecs", "RegisterTaskDefinition", {"family": "web"}) == {"ecs:RegisterTaskDefinition"}
    assert iam_actions("ecs", "RegisterTaskDefinition", {
        "family": "web", "executionRoleArn": "arn:aws:iam::123456789012:role/x", "tags": [{"key": "a", "value": "b"}],
    }) == {"ecs:RegisterTaskDefinition", "iam:PassRole", "ecs:TagResource"}
    assert iam_actions("ecs", "UpdateService", {"tags": [{"key": "a", "value": "b"}]}) == {"ecs:UpdateService"}


def test_the_recorder_attributes_waiter_calls_to_the_module_and_skips_test_code_and_own_tables() -> None:
    from costopt.store.services import ServiceRepository

    recorder = AwsCallRecorder()
    with recorder.recording():
        boto3.client("ec2", region_name=REGION).describe_regions()  # test code: not a module's call
        list(ServiceRepository().iter_ids())  # costopt's own table: the store's, not an AWS_ACTIONS call
        actuators.test_dynamodb_provisioned_to_on_demand_and_back()  # UpdateTable, then the table_exists waiter
    assert [c.operation for c in recorder.calls if c.module is None][:1] == ["DescribeRegions"]
    assert not any(c.module and c.module.startswith("costopt.store") for c in recorder.calls)
    waited = [c for c in recorder.calls if c.module == "costopt.actuators.dynamodb_table"]
    assert [c.operation for c in waited].count("DescribeTable") >= 2  # the read and the waiter's poll
    assert recorder.by_module() == {"costopt.actuators.dynamodb_table": {"dynamodb:DescribeTable",
                                                                        "dynamodb:UpdateTable"}}
    assert recorder.undeclared({}) == {"costopt.actuators.dynamodb_table": {"dynamodb:DescribeTable",
                                                                           "dynamodb:UpdateTable"}}
