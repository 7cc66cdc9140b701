"""The inventory on moto: each selector finds the tagged / stacked / clustered resources of one account and
region, with the live config the describe calls answer; another account's resources stay out; a resource
costopt does not model is skipped with its reason. (Lambda provisioned concurrency: local.moto_ext.)"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import boto3
import pytest

from costopt.connectors.inventory import find_resources, kind_of
from costopt.domain.discovery import EcsClusterSelector, StackSelector, TagSelector
from local.moto_ext import lambda_concurrency

REGION, HOME = "us-east-1", "123456789012"


@pytest.fixture(scope="module", autouse=True)
def _concurrency() -> None:
    lambda_concurrency.install()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def h(e, c):\n    return 1\n")
    return buf.getvalue()


def _app() -> tuple[str, dict[str, str]]:
    value = "shop-" + uuid.uuid4().hex[:8]
    return value, {"app": value}


def _make_all(value: str, tags: dict[str, str]) -> dict[str, Any]:
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="fn-" + uuid.uuid4().hex[:8], AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    fn = f"{value}-api"
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=role, Handler="app.h", Code={"ZipFile": _zip()},
                        MemorySize=2048, Architectures=["arm64"], Tags=tags, Publish=True)
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="1", ProvisionedConcurrentExecutions=40)
    ec2 = boto3.client("ec2", region_name=REGION)
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="m5.2xlarge",
                             TagSpecifications=spec)["Instances"][0]["InstanceId"]
    vtags = [{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    attached = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=500, VolumeType="gp2",
                                 TagSpecifications=vtags)["VolumeId"]
    ec2.attach_volume(VolumeId=attached, InstanceId=inst, Device="/dev/sdf")
    loose = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=200, VolumeType="gp3", Iops=4000, Throughput=250,
                              TagSpecifications=vtags)["VolumeId"]
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = f"{value}-sessions"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 500, "WriteCapacityUnits": 50},
                     Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    ecs = boto3.client("ecs", region_name=REGION)
    cluster = f"{value}-cluster"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=f"{value}-td", cpu="2048", memory="4096", requiresCompatibilities=["FARGATE"],
                                 networkMode="awsvpc", containerDefinitions=[{"name": "c", "image": "x"}],
                                 runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"})
    ecs.create_service(cluster=cluster, serviceName="orders", taskDefinition=f"{value}-td", desiredCount=4,
                       launchType="FARGATE", tags=[{"key": k, "value": v} for k, v in tags.items()])
    boto3.client("application-autoscaling", region_name=REGION).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{cluster}/orders", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2, MaxCapacity=8)
    return {"fn": fn, "inst": inst, "attached": attached, "loose": loose, "table": table, "cluster": cluster}


def _by_id(found: list[Any]) -> dict[str, Any]:
    return {f.resource.resource_id: f for f in found}


def test_a_tag_finds_every_kind_with_its_live_config() -> None:
    value, tags = _app()
    made = _make_all(value, tags)
    other, other_tags = _app()
    _make_all(other, other_tags)  # same key, another value: left out by tag_values

    got = find_resources(TagSelector(tag_key="app", tag_values=[value]), HOME, REGION)

    found = _by_id(got.found)
    assert set(found) == {made["fn"], made["inst"], made["attached"], made["loose"], made["table"], "orders"}
    fn = found[made["fn"]].resource
    assert (fn.kind, fn.function_name, fn.account_id, fn.region) == ("lambda_function", made["fn"], HOME, REGION)
    assert fn.config.model_dump() == {"memory_mb": 2048, "architecture": "arm64", "provisioned_concurrency": 40}
    assert fn.tags == tags and fn.arn == f"arn:aws:lambda:{REGION}:{HOME}:function:{made['fn']}"
    assert found[made["inst"]].resource.config.instance_type == "m5.2xlarge"
    assert found[made["attached"]].resource.config.model_dump() == {
        "volume_type": "gp2", "size_gb": 500, "iops": None, "throughput_mbps": None}
    assert found[made["attached"]].attached_to == made["inst"]
    assert found[made["loose"]].attached_to is None  # unattached volumes are found too
    assert found[made["loose"]].resource.config.model_dump() == {
        "volume_type": "gp3", "size_gb": 200, "iops": 4000, "throughput_mbps": 250}
    assert found[made["table"]].resource.config.model_dump() == {"billing_mode": "PROVISIONED", "rcu": 500, "wcu": 50}
    ecs = found["orders"].resource
    assert (ecs.cluster, ecs.service_name) == (made["cluster"], "orders")
    assert ecs.config.model_dump() == {"cpu_units": 2048, "memory_mb": 4096, "desired_count": 4, "min_count": 2,
                                       "max_count": 8, "architecture": "x86_64", "capacity": "on_demand"}


def test_an_ecs_cluster_names_its_services() -> None:
    value, tags = _app()
    made = _make_all(value, tags)
    got = find_resources(EcsClusterSelector(cluster=made["cluster"]), HOME, REGION)
    assert [(f.resource.kind, f.resource.service_name) for f in got.found] == [("ecs_service", "orders")]
    assert got.found[0].resource.tags == tags  # tags through the Tagging API


def test_a_stack_names_what_it_created() -> None:
    value, _ = _app()
    body = {"Resources": {
        "Scratch": {"Type": "AWS::EC2::Volume", "Properties": {"AvailabilityZone": f"{REGION}a", "Size": 50,
                                                              "VolumeType": "gp2"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": f"{value}-t", "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}},
        "Topic": {"Type": "AWS::SNS::Topic"},  # not a kind costopt models: not listed
    }}
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName=value, TemplateBody=json.dumps(body))
    got = find_resources(StackSelector(stack_name=value), HOME, REGION)
    kinds = sorted(f.resource.kind for f in got.found)
    assert kinds == ["dynamodb_table", "ebs_volume"]
    table = next(f.resource for f in got.found if f.resource.kind == "dynamodb_table")
    assert table.config.model_dump() == {"billing_mode": "PAY_PER_REQUEST", "rcu": None, "wcu": None}


def test_an_ec2_launch_service_is_skipped_with_its_reason() -> None:
    value, _ = _app()
    ecs = boto3.client("ecs", region_name=REGION)
    cluster = f"{value}-ec2"
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=f"{value}-td", containerDefinitions=[{"name": "c", "image": "x",
                                                                              "memory": 512}])
    ecs.create_service(cluster=cluster, serviceName="legacy", taskDefinition=f"{value}-td", desiredCount=1,
                       launchType="EC2")
    got = find_resources(EcsClusterSelector(cluster=cluster), HOME, REGION)
    assert got.found == []
    assert len(got.skipped) == 1 and "not on Fargate" in got.skipped[0]


def test_kinds_of_arns() -> None:
    assert kind_of("arn:aws:lambda:us-east-1:1:function:f") == "lambda_function"
    assert kind_of("arn:aws:lambda:us-east-1:1:function:f:3") is None  # a version, not the function
    assert kind_of("arn:aws:ecs:us-east-1:1:service/c/s") == "ecs_service"
    assert kind_of("arn:aws:dynamodb:us-east-1:1:table/t/stream/x") is None
    assert kind_of("arn:aws:sns:us-east-1:1:topic") is None
