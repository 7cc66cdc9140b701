"""Each actuator against moto: the live config really changes, and applying `before` restores it: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/actuators/test_actuators.py``."""


from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from costopt.actuators.registry import actuator_for
from costopt.errors import Unprocessable
from tests.support.aws_fixtures import (
    NOW,
    REGION,
    dynamodb_table,
    ebs_volume,
    ec2_instance,
    ecr_image,
    ecs_service,
    event_queue,
    lambda_function,
    make_service,
)


def roundtrip(service, resource_id, target):
    """apply target, then apply the recorded before: returns (before, after, restored)."""
    resource = service.resource(resource_id)
    act = actuator_for(resource.kind)
    before = act.read(service, resource)
    act.check(service, resource, before, act.parse(target))
    done = act.apply(service, resource, before, act.parse(target), change_id="c-test", now=NOW)
    live_after = act.read(service, resource)
    back, _ = act.rollback_target(before, live_after)
    act.apply(service, resource, live_after, back, change_id="c-test-rb", now=NOW + timedelta(hours=7))
    return before, done, live_after, act.read(service, resource)


def test_lambda_memory_changes_and_restores():
    name = lambda_function("act-lambda", memory_mb=1024)
    service = make_service([{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                             "config": {"memory_mb": 1024}}])
    lam = boto3.client("lambda", region_name=REGION)
    before, done, after, restored = roundtrip(service, "api", {"memory_mb": 512})
    assert before.memory_mb == 1024 and done.after.memory_mb == 512 and after.memory_mb == 512
    assert restored.memory_mb == 1024
    cfg = lam.get_function_configuration(FunctionName=name)
    assert cfg["MemorySize"] == 1024 and cfg["LastUpdateStatus"] == "Successful"


def test_lambda_arm64_is_recommend_only_when_its_package_cannot_be_read(monkeypatch):
    from costopt.actuators.lambda_function import PackageUnavailable

    name = lambda_function("act-lambda-arm", memory_mb=1024)
    service = make_service([{"resource_id": "api", "kind": "lambda_function", "function_name": name,
                             "config": {"memory_mb": 1024}}])
    resource = service.resource("api")
    act = actuator_for("lambda_function")
    urls = []

    def expired(url, max_bytes):  # what S3 answers for a presigned URL past its 10 minutes
        urls.append(url)
        raise PackageUnavailable("HTTP 403")

    monkeypatch.setattr(act, "download", expired)
    before = act.read(service, resource)
    with pytest.raises(Unprocessable) as info:
        act.check(service, resource, before, act.parse({"memory_mb": 1024, "architecture": "arm64"}))
    assert info.value.status == 422 and "recommend-only" in info.value.detail and "HTTP 403" in info.value.detail
    assert info.value.extra["preflight"] == "package_download"
    location = boto3.client("lambda", region_name=REGION).get_function(FunctionName=name)["Code"]["Location"]
    assert urls == [location]  # GetFunction's Code.Location is what was fetched
    with pytest.raises(Unprocessable):  # apply itself refuses too, before changing anything
        act.apply(service, resource, before, act.parse({"memory_mb": 512, "architecture": "arm64"}),
                  change_id="c", now=NOW)
    cfg = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=name)
    assert cfg["Architectures"] == ["x86_64"] and cfg["MemorySize"] == 1024


def test_missing_lambda_is_422_not_500():
    service = make_service([{"resource_id": "api", "kind": "lambda_function", "function_name": "no-such-fn",
                             "config": {"memory_mb": 1024}}])
    with pytest.raises(Unprocessable) as info:
        actuator_for("lambda_function").read(service, service.resource("api"))
    assert "ResourceNotFoundException" in info.value.detail


def test_ecs_task_size_count_graviton_and_spot_then_restore():
    image = ecr_image("web", "1.4.2", ["linux/amd64", "linux/arm64"])
    ecs_service("act-cluster", "web", cpu=1024, memory=2048, count=4, image=image)
    service = make_service([{"resource_id": "web", "kind": "ecs_service", "cluster": "act-cluster",
                             "service_name": "web",
                             "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 4}}])
    target = {"cpu_units": 512, "memory_mb": 1024, "desired_count": 3, "architecture": "arm64", "capacity": "spot"}
    before, _done, after, restored = roundtrip(service, "web", target)
    assert (before.cpu_units, before.memory_mb, before.desired_count, before.architecture, before.capacity) == (
        1024, 2048, 4, "x86_64", "on_demand")
    assert (after.cpu_units, after.memory_mb, after.desired_count, after.architecture, after.capacity) == (
        512, 1024, 3, "arm64", "spot")
    assert (restored.cpu_units, restored.memory_mb, restored.desired_count, restored.architecture,
            restored.capacity) == (1024, 2048, 4, "x86_64", "on_demand")
    ecs = boto3.client("ecs", region_name=REGION)
    live = ecs.describe_services(cluster="act-cluster", services=["web"])["services"][0]
    task_def = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])["taskDefinition"]
    assert task_def["revision"] == 3  # original, applied, restored
    assert task_def["containerDefinitions"][0]["image"] == image  # copied
    applied = ecs.describe_task_definition(taskDefinition="web:2")["taskDefinition"]
    assert applied["runtimePlatform"]["cpuArchitecture"] == "ARM64" and applied["cpu"] == "512"


def test_ec2_resize_needs_allow_disruptive():
    instance = ec2_instance("m5.xlarge")
    resources = [{"resource_id": "box", "kind": "ec2_instance", "instance_id": instance,
                  "config": {"instance_type": "m5.xlarge"}}]
    strict = make_service(resources)
    act = actuator_for("ec2_instance")
    before = act.read(strict, strict.resource("box"))
    with pytest.raises(Unprocessable) as info:
        act.check(strict, strict.resource("box"), before, act.parse({"instance_type": "m5.large"}))
    assert "allow_disruptive" in info.value.detail
    with pytest.raises(Unprocessable):  # apply itself refuses too
        act.apply(strict, strict.resource("box"), before, act.parse({"instance_type": "m5.large"}),
                  change_id="c", now=NOW)

    service = make_service(resources, allow_disruptive=True)
    before, _done, after, restored = roundtrip(service, "box", {"instance_type": "m5.large"})
    assert (before.instance_type, after.instance_type, restored.instance_type) == ("m5.xlarge", "m5.large",
                                                                                    "m5.xlarge")
    ec2 = boto3.client("ec2", region_name=REGION)
    inst = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert inst["State"]["Name"] == "running"  # started again after each resize


def test_ebs_gp2_to_gp3_then_restore_after_cooldown():
    volume = ebs_volume(200, "gp2")
    service = make_service([{"resource_id": "data", "kind": "ebs_volume", "volume_id": volume,
                             "config": {"volume_type": "gp2", "size_gb": 200}}])
    act = actuator_for("ebs_volume")
    before = act.read(service, service.resource("data"))
    assert before.volume_type == "gp2" and before.iops is None  # gp2 IOPS follow its size
    warnings = act.check(service, service.resource("data"), before,
                         act.parse({"volume_type": "gp3", "size_gb": 200, "iops": 3000, "throughput_mbps": 125}))
    assert any("6 hours" in w for w in warnings)
    done = act.apply(service, service.resource("data"), before,
                     act.parse({"volume_type": "gp3", "size_gb": 200, "iops": 3000, "throughput_mbps": 125}),
                     change_id="c", now=NOW)
    assert done.rollback_not_before == NOW + timedelta(hours=6)
    live = boto3.client("ec2", region_name=REGION).describe_volumes(VolumeIds=[volume])["Volumes"][0]
    assert (live["VolumeType"], live["Iops"], live["Throughput"]) == ("gp3", 3000, 125)
    after = act.read(service, service.resource("data"))
    act.apply(service, service.resource("data"), after, before, change_id="c2", now=NOW + timedelta(hours=6))
    assert boto3.client("ec2", region_name=REGION).describe_volumes(
        VolumeIds=[volume])["Volumes"][0]["VolumeType"] == "gp2"


def test_ebs_never_shrinks():
    volume = ebs_volume(200, "gp2")
    service = make_service([{"resource_id": "data", "kind": "ebs_volume", "volume_id": volume,
                             "config": {"volume_type": "gp2", "size_gb": 200}}])
    act = actuator_for("ebs_volume")
    before = act.read(service, service.resource("data"))
    with pytest.raises(Unprocessable):
        act.check(service, service.resource("data"), before, act.parse({"volume_type": "gp3", "size_gb": 100}))
    # a rollback after a grow keeps the size and says so
    grown = act.parse({"volume_type": "gp3", "size_gb": 300, "iops": 3000, "throughput_mbps": 125})
    target, notes = act.rollback_target(before, grown)
    assert target.size_gb == 300 and target.volume_type == "gp2" and "cannot shrink" in notes[0]


def test_dynamodb_provisioned_to_on_demand_and_back():
    name = dynamodb_table("act-orders", rcu=50, wcu=20)
    service = make_service([{"resource_id": "orders", "kind": "dynamodb_table", "table_name": name,
                             "config": {"billing_mode": "PROVISIONED", "rcu": 50, "wcu": 20}}])
    before, _done, after, restored = roundtrip(service, "orders", {"billing_mode": "PAY_PER_REQUEST"})
    assert (before.billing_mode, before.rcu, before.wcu) == ("PROVISIONED", 50, 20)
    assert (after.billing_mode, after.rcu) == ("PAY_PER_REQUEST", None)
    assert (restored.billing_mode, restored.rcu, restored.wcu) == ("PROVISIONED", 50, 20)
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 50


def test_generic_emits_config_change_requested(tables):
    url = event_queue("act-gitops")
    service = make_service([{"resource_id": "worker", "kind": "generic", "workload": "shop/worker",
                             "config": {"replicas": 6, "cpu_cores": 2, "memory_gb": 4}}])
    act = actuator_for("generic")
    before = act.read(service, service.resource("worker"))
    assert before.replicas == 6  # no change recorded yet: the registered config
    done = act.apply(service, service.resource("worker"), before,
                     act.parse({"replicas": 4, "cpu_cores": 1.5, "memory_gb": 4}), change_id="c123", now=NOW)
    assert done.after.replicas == 4
    messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    events = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    assert len(events) == 1
    event = events[0]
    assert event["source"] == "costopt.config" and event["detail-type"] == "ConfigChangeRequested"
    assert event["detail"]["service_id"] == "checkout" and event["detail"]["workload"] == "shop/worker"
    assert event["detail"]["before"]["replicas"] == 6 and event["detail"]["after"]["replicas"] == 4
    assert event["detail"]["after"]["cpu_cores"] == 1.5 and event["detail"]["change_id"] == "c123"


def test_ecs_refuses_a_task_size_its_containers_do_not_fit():
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="act-fit")
    task_def = ecs.register_task_definition(
        family="fat", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="4096",
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 3072}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="act-fit", serviceName="fat", taskDefinition=task_def, desiredCount=2)
    service = make_service([{"resource_id": "fat", "kind": "ecs_service", "cluster": "act-fit",
                             "service_name": "fat", "config": {"cpu_units": 1024, "memory_mb": 4096,
                                                               "desired_count": 2}}])
    act = actuator_for("ecs_service")
    before = act.read(service, service.resource("fat"))
    with pytest.raises(Unprocessable) as info:
        act.apply(service, service.resource("fat"), before,
                  act.parse({"cpu_units": 512, "memory_mb": 2048, "desired_count": 2}), change_id="c", now=NOW)
    assert "memory of app" in info.value.detail
    live = ecs.describe_services(cluster="act-fit", services=["fat"])["services"][0]
    assert live["taskDefinition"].endswith("fat:1")  # nothing registered or deployed
    assert len(ecs.list_task_definitions(familyPrefix="fat")["taskDefinitionArns"]) == 1
