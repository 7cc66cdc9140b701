"""The local stack's AWS sandbox and demo data: the demo services are created through the real
services handler, their live resources exist in moto's server / DynamoDB Local with exactly the
configs the services declare (so apply starts without drift), and seeding is idempotent."""

from __future__ import annotations

import pytest

from local import demo, sandbox
from local.seed import seed_demo_services


def _services():
    from costopt.store.services import ServiceRepository

    repo = ServiceRepository()
    return {sid: repo.get(sid) for sid in demo.DEMO_SERVICES}


def test_demo_services_cover_every_resource_kind_and_one_is_over_budget(aws, tables):
    from costopt.pricing.costs import monthly_cost

    assert set(seed_demo_services(aws, say=lambda _: None).values()) == {"created"}
    services = _services()
    kinds = {r.kind for s in services.values() for r in s.resources}
    assert kinds == {"lambda_function", "ecs_service", "ec2_instance", "ebs_volume", "dynamodb_table", "generic"}
    assert services["checkout-api"].sla.latency_p99_ms is not None
    orders = services["orders-service"]
    assert orders.sla.availability_pct == 99.9 and orders.resources[0].target_group_arn.startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/")
    # fixed-capacity costs at public us-east-1 prices
    batch = services["nightly-batch"]
    batch_cost = sum(monthly_cost(r).total_usd for r in batch.resources)
    assert batch_cost == pytest.approx(0.192 * 730 + 0.10 * 500, abs=0.01)  # m5.xlarge + 500 GB gp2
    assert batch.budget is not None and batch_cost > batch.budget.monthly_usd
    for sid in ("orders-service", "sessions-store", "recommender-k8s"):
        service = services[sid]
        assert service.budget is not None
        assert sum(monthly_cost(r).total_usd for r in service.resources) < service.budget.monthly_usd, sid


def test_live_resources_match_the_declared_configs(aws, tables):
    """What the apply path reads (the actuators) equals what the services declare: no drift."""
    from costopt.actuators.registry import actuator_for

    seed_demo_services(aws, say=lambda _: None)
    for service in _services().values():
        for resource in service.resources:
            actuator = actuator_for(resource.kind)
            live = actuator.read(service, resource)
            assert actuator.differences(resource.config, live) == {}, (service.service_id, resource.resource_id)
    ecs = sandbox.client("ecs", aws)
    svc = ecs.describe_services(cluster=demo.DEMO_CLUSTER, services=["orders"])["services"][0]
    task_def = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert (task_def["cpu"], task_def["memory"], svc["desiredCount"]) == ("2048", "4096", 4)
    lam = sandbox.client("lambda", aws).get_function_configuration(FunctionName="checkout-api")
    assert (lam["MemorySize"], lam["Architectures"]) == (3008, ["x86_64"])
    batch = _services()["nightly-batch"]
    volume = sandbox.client("ec2", aws).describe_volumes(VolumeIds=[batch.resources[1].volume_id])["Volumes"][0]
    assert (volume["VolumeType"], volume["Size"]) == ("gp2", 500)
    assert volume["Attachments"][0]["InstanceId"] == batch.resources[0].instance_id


def test_seeding_again_keeps_services_and_follows_a_new_sandbox(aws, tables):
    seed_demo_services(aws, say=lambda _: None)
    before = _services()
    assert set(seed_demo_services(aws, say=lambda _: None).values()) == {"exists"}
    assert {sid: s.version for sid, s in _services().items()} == {sid: s.version for sid, s in before.items()}

    sandbox.reset(aws)  # a new `make run`: the in-memory sandbox starts empty, DynamoDB Local kept its data
    sandbox.create_messaging(aws)
    outcome = seed_demo_services(aws, say=lambda _: None)
    assert outcome["nightly-batch"] == "updated live resource ids"
    assert outcome["checkout-api"] == "exists" and outcome["sessions-store"] == "exists"
    after = _services()
    host = after["nightly-batch"].resources[0]
    assert host.instance_id != before["nightly-batch"].resources[0].instance_id
    assert sandbox.find_instance(aws, "nightly-batch-host") == host.instance_id
    assert after["nightly-batch"].version == before["nightly-batch"].version + 1
