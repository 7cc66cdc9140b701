"""Live resources created in moto for actuator, apply and rollback tests."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3

from costopt.domain.service import Service

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# AMIs of moto's default catalog (moto/ec2/resources/amis.json)
X86_AMI = "ami-04681a1dbd79675a5"  # amzn2-ami-hvm-2.0.20180810-x86_64-gp2
ARM64_AMI = "ami-0e9271c829888680e"  # al2022-ami-2022.0.20220728.1-kernel-5.15-arm64
PARAVIRTUAL_AMI = "ami-8104a4f8"  # amzn-ami-pv-2017.09.1.20171103-x86_64-ebs


def make_service(resources: list[dict[str, Any]], service_id: str = "checkout", **policy: Any) -> Service:
    return Service.model_validate({
        "service_id": service_id, "name": "Checkout", "team": "payments", "region": REGION, "version": 1,
        "created_at": NOW, "updated_at": NOW, "resources": resources, "policy": policy,
        "sla": {"latency_p99_ms": 300, "max_error_rate_pct": 1.0},
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
    })


def _zip(files: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
        for path, data in (files or {}).items():
            zf.writestr(path, data)
    return buf.getvalue()


EM_X86_64, EM_AARCH64 = 0x3E, 0xB7


def elf_shared_object(machine: int) -> bytes:
    """A 64-bit little-endian ELF header of a shared object (ET_DYN) for ``machine`` (System V gABI layout:
    e_ident, e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize,
    e_phnum, e_shentsize, e_shnum, e_shstrndx), followed by filler: what a native module starts with."""
    e_ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, ELFDATA2LSB, EV_CURRENT, System V ABI
    header = e_ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    return header + bytes(256)


def lambda_function(name: str, memory_mb: int = 1024, *, files: dict[str, bytes] | None = None,
                    layers: list[str] | None = None, runtime: str = "python3.11") -> str:
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
    lam.create_function(FunctionName=name, Runtime=runtime, Role=arn, Handler="app.handler",
                        Code={"ZipFile": _zip(files)}, MemorySize=memory_mb, Architectures=["x86_64"],
                        Layers=layers or [])
    return name


def lambda_layer(name: str, architectures: list[str] | None) -> str:
    """A published layer version (CompatibleArchitectures as given; None declares nothing): its ARN."""
    lam = boto3.client("lambda", region_name=REGION)
    extra = {"CompatibleArchitectures": architectures} if architectures is not None else {}
    return str(lam.publish_layer_version(LayerName=name, Content={"ZipFile": _zip()},
                                         CompatibleRuntimes=["python3.11"], **extra)["LayerVersionArn"])


def moto_code_location(url: str, max_bytes: int) -> bytes:
    """What S3 serves at a GetFunction Code.Location in moto: moto names a URL
    (https://awslambda-<region>-tasks.s3.<region>.amazonaws.com/<function>-<uuid>) it does not serve, so
    the sandbox reads the package moto stored. A URL of an older package is refused as S3 would (403)."""
    from urllib.parse import urlparse

    from moto.awslambda.models import lambda_backends

    from costopt.actuators.lambda_function import PackageUnavailable

    parsed = urlparse(url)
    region = parsed.netloc.split(".")[0].removeprefix("awslambda-").removesuffix("-tasks")
    key = parsed.path.lstrip("/")
    fn = lambda_backends[ACCOUNT][region].get_function(key[:-37])  # "-" + a 36-character uuid4
    if fn.code.get("S3Key") != key:
        raise PackageUnavailable("HTTP 403")
    if len(fn.code_bytes) > max_bytes:
        raise PackageUnavailable(f"larger than {max_bytes} bytes")
    return bytes(fn.code_bytes)


def moto_honours_code_architectures(monkeypatch: Any) -> None:
    """moto's UpdateFunctionCode ignores Architectures; AWS sets them: make the sandbox do what AWS does."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.update_function_code

    def update_function_code(self: Any, updated_spec: dict[str, Any]) -> dict[str, Any]:
        response = original(self, updated_spec)
        if updated_spec.get("Architectures") and not updated_spec.get("DryRun"):
            self.architectures = updated_spec["Architectures"]
            response = self.get_configuration()
        return response

    monkeypatch.setattr(LambdaFunction, "update_function_code", update_function_code)


def ecs_service(cluster: str, name: str, cpu: int = 1024, memory: int = 2048, count: int = 4,
                image: str = "public.ecr.aws/nginx/nginx:1.27", os_family: str = "LINUX") -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=cluster)
    task_def = ecs.register_task_definition(
        family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu=str(cpu), memory=str(memory),
        executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[{"name": "app", "image": image, "essential": True,
                               "portMappings": [{"containerPort": 80}]}],
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": os_family},
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=task_def, desiredCount=count,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    return task_def


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def ecr_image(repository: str, tag: str, platforms: list[str] | None) -> str:
    """An image pushed to ECR: an OCI index of ``platforms`` ("os/arch", plus the unknown/unknown
    attestation manifest docker buildx adds), or a single-platform OCI manifest when None. Its URI."""
    ecr = boto3.client("ecr", region_name=REGION)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    if platforms is None:
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1470,
                               "digest": _digest(f"{repository}:{tag}:config")},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3623807,
                                "digest": _digest(f"{repository}:{tag}:layer")}]}
    else:
        entries = [{"mediaType": OCI_MANIFEST, "size": 1795, "digest": _digest(f"{repository}:{tag}:{p}"),
                    "platform": {"os": p.split("/")[0], "architecture": p.split("/")[1],
                                 **({"variant": "v8"} if p.endswith("arm64") else {})}} for p in platforms]
        entries += [{"mediaType": OCI_MANIFEST, "size": 840, "digest": _digest(f"{repository}:{tag}:{p}:att"),
                     "annotations": {"vnd.docker.reference.digest": e["digest"],
                                     "vnd.docker.reference.type": "attestation-manifest"},
                     "platform": {"os": "unknown", "architecture": "unknown"}}
                    for p, e in zip(platforms, list(entries), strict=True)]
        manifest = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):  # pushed by an earlier test: same image
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag,
                      imageManifestMediaType=manifest["mediaType"])
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}"


def ec2_instance(instance_type: str = "m5.xlarge", image_id: str = X86_AMI, az: str | None = None) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    placement = {"Placement": {"AvailabilityZone": az}} if az else {}
    return str(ec2.run_instances(ImageId=image_id, InstanceType=instance_type, MinCount=1, MaxCount=1, **placement)
               ["Instances"][0]["InstanceId"])


@contextlib.contextmanager
def describe_instances_adds(instance_id: str, **fields: Any) -> Iterator[None]:
    """DescribeInstances of ``instance_id`` through costopt's client also returns ``fields`` (AWS returns
    e.g. ``EnaSupport: true`` for an instance with ENA enabled; moto never does); a None field is left out."""
    from costopt.actuators.aws import client

    def add(parsed: dict[str, Any], **_: Any) -> None:
        for reservation in parsed.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance["InstanceId"] == instance_id:
                    for name, value in fields.items():
                        if value is None:
                            instance.pop(name, None)
                        else:
                            instance[name] = value

    events = client("ec2", REGION).meta.events
    events.register("after-call.ec2.DescribeInstances", add)
    try:
        yield
    finally:
        events.unregister("after-call.ec2.DescribeInstances", add)


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
                                      "sla": {"latency_p99_ms": 300, "max_error_rate_pct": 1.0},
                                      "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}})
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
