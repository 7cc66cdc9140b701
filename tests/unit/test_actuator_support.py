"""Live resources created in moto for actuator, apply and rollback tests."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

import boto3

from costopt.domain.service import Service

REGION = "us-east-1"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def make_service(resources: list[dict[str, Any]], service_id: str = "checkout", **policy: Any) -> Service:
    return Service.model_validate({
        "service_id": service_id, "name": "Checkout", "team": "payments", "region": REGION, "version": 1,
        "created_at": NOW, "updated_at": NOW, "resources": resources, "policy": policy,
        "sla": {"latency_p99_ms": 300, "max_error_rate_pct": 1.0},
    })


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def lambda_function(name: str, memory_mb: int = 1024) -> str:
    iam = boto3.client("iam", region_name=REGION)
    role_name = f"{name}-role"
    try:
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=name)
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=arn, Handler="app.handler",
                        Code={"ZipFile": _zip()}, MemorySize=memory_mb, Architectures=["x86_64"])
    return name


def ecs_service(cluster: str, name: str, cpu: int = 1024, memory: int = 2048, count: int = 4) -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=cluster)
    task_def = ecs.register_task_definition(
        family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu=str(cpu), memory=str(memory),
        executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
                               "portMappings": [{"containerPort": 80}]}],
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=task_def, desiredCount=count,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    return task_def


def ec2_instance(instance_type: str = "m5.xlarge") -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    return str(ec2.run_instances(ImageId="ami-0abcdef1234567890", InstanceType=instance_type, MinCount=1, MaxCount=1)
               ["Instances"][0]["InstanceId"])


def ebs_volume(size_gb: int = 200, volume_type: str = "gp2") -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    return str(ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=size_gb, VolumeType=volume_type)["VolumeId"])


def dynamodb_table(name: str, rcu: int = 50, wcu: int = 20) -> str:
    ddb = boto3.client("dynamodb", region_name=REGION)
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.delete_table(TableName=name)
    ddb.create_table(TableName=name, BillingMode="PROVISIONED",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu})
    return name


def event_queue(name: str, source: str = "costopt.config") -> str:
    """An SQS queue receiving every event of ``source`` on the default bus (what a GitOps pipeline reads)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=f"{name}-rule", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=f"{name}-rule", Targets=[{"Id": "q", "Arn": arn}])
    return url


def register(service_id: str, resources: list[dict[str, Any]], **policy: Any) -> Service:
    """The service in the Services table (as PUT /v1/services would store it)."""
    from costopt.domain.service import ServicePut
    from costopt.store.services import ServiceRepository

    spec = ServicePut.model_validate({"name": "Checkout", "team": "payments", "region": REGION,
                                      "resources": resources, "policy": policy,
                                      "sla": {"latency_p99_ms": 300, "max_error_rate_pct": 1.0}})
    service, _ = ServiceRepository().put(service_id, spec)
    return service


def recommendation(service_id: str, resource_id: str, kind: str, action: str, current: dict[str, Any],
                   proposed: dict[str, Any], *, cost_now: float, cost_proposed: float,
                   failing: list[str] | None = None) -> Any:
    """A stored ACTIVE recommendation (as the recommend job writes it)."""
    from costopt.domain.recommendation import Evidence, Recommendation, SlaClauseVerdict, SlaVerdict
    from costopt.store.base import new_etag, time_ordered_id
    from costopt.store.recommendations import RecommendationRepository

    clauses = [SlaClauseVerdict(clause="latency_p99_ms", limit=300, predicted=210, margin_pct=30, ok=True)]
    clauses += [SlaClauseVerdict(clause=c, limit=80, predicted=95, margin_pct=-18.75, ok=False) for c in failing or []]
    saved = cost_now - cost_proposed
    rec = Recommendation(
        service_id=service_id, recommendation_id=time_ordered_id("r"), resource_id=resource_id, kind=kind,
        action=action, current=current, proposed=proposed, monthly_cost_current_usd=cost_now,
        monthly_cost_proposed_usd=cost_proposed, monthly_savings_usd=saved,
        savings_pct=round(saved / cost_now * 100, 2), performance_risk=1 if not failing else 4, confidence=0.9,
        priority="P2", xor_group=f"{resource_id}:size", sla=SlaVerdict(compliant=not failing, clauses=clauses),
        etag=new_etag(), evidence=Evidence(lookback_days=14, hours_covered=300), engine_version="test",
        created_at=NOW, updated_at=NOW,
    )
    RecommendationRepository().put(rec)
    return rec
