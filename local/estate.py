"""The demo's discoverable estate: tagged resources in two member accounts of the sandbox, with 14 days of
CloudWatch history written by PutMetricData and the bill Cost Explorer answers for them.

``populate_member_accounts(sandbox_url, now)`` builds it the way an organisation looks to costopt:

- account ``SHOP_ACCOUNT`` runs ``storefront``: the Lambda function ``storefront-api`` (3008 MB, x86_64)
  and the Fargate service ``storefront-worker`` (2 vCPU / 4 GB x 3 tasks) on the cluster ``shop``;
- account ``DATA_ACCOUNT`` runs ``ledger``: the EC2 instance ``ledger-db`` (m5.2xlarge) with a 500 GB gp2
  volume attached, and a 200 GB gp2 volume ``ledger-old-backup`` attached to nothing.

Every resource carries the tag ``costopt:service`` = its service. Each account has costopt's member role
(``costopt-member``, as member-role.yaml makes it) trusting the home account with the ExternalId
``MEMBER_EXTERNAL_ID``; local.moto_ext.sts checks both. The resources are made with an administrator's
clients in each account (moto's ``x-moto-account-id`` header, the sandbox's stand-in for the org's own
admin), and costopt then finds them through its member role, exactly as in a real organisation.

The metrics are 5-minute points over the ``DAYS`` days before ``now``, with a daily cycle and a fixed
pseudo-random jitter (the same on every run). The bill (local.moto_ext.ce) prices the same usage at AWS's
published us-east-1 on-demand prices, independently of costopt's own price catalogue:

- Lambda: $0.20 per million requests and $0.0000166667 per GB-second (x86_64), aws.amazon.com/lambda/pricing
- Fargate Linux/x86_64: $0.04048 per vCPU-hour and $0.004445 per GB-hour, aws.amazon.com/fargate/pricing
- EC2 m5.2xlarge Linux: $0.384 per hour, aws.amazon.com/ec2/pricing/on-demand
- EBS gp2: $0.10 per GB-month, prorated by the day's share of its month, aws.amazon.com/ebs/pricing

Import it after ``local.env.configure()`` (it uses boto3 against the sandbox).
"""

from __future__ import annotations

import calendar
import io
import json
import math
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.env import ACCOUNT_ID, MEMBER_EXTERNAL_ID, REGION

SHOP_ACCOUNT = "210987654321"
DATA_ACCOUNT = "109876543210"
MEMBER_ACCOUNTS = (SHOP_ACCOUNT, DATA_ACCOUNT)
MEMBER_ROLE = "costopt-member"
SERVICE_TAG = "costopt:service"
SERVICES = ("storefront", "ledger")
DAYS = 14
PERIOD_S = 300
AZ = f"{REGION}a"
AMI = "ami-04681a1dbd79675a5"  # Amazon Linux 2 (x86_64) in moto's default AMI set

LAMBDA_REQUEST_USD = 0.20 / 1e6
LAMBDA_GB_SECOND_USD = 0.0000166667
FARGATE_VCPU_HOUR_USD = 0.04048
FARGATE_GB_HOUR_USD = 0.004445
M5_2XLARGE_HOUR_USD = 0.384
GP2_GB_MONTH_USD = 0.10

LAMBDA_MEMORY_MB = 3008
WORKER_CPU_UNITS, WORKER_MEMORY_MB, WORKER_TASKS = 2048, 4096, 3
DATA_VOLUME_GB, BACKUP_VOLUME_GB = 500, 200

Shape = Callable[[datetime], float]


@dataclass
class Estate:
    """What ``populate_member_accounts`` made: ids per (service, name), metric points written, bill rows."""

    now: datetime
    resources: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {account, service, id}
    points: int = 0
    bill_days: int = 0
    bill_usd: dict[str, float] = field(default_factory=dict)  # resource name -> the bill's total over the days

    def discover_body(self) -> dict[str, Any]:
        """The POST /v1/discover body that finds the estate."""
        return {"accounts": list(MEMBER_ACCOUNTS), "regions": [REGION],
                "selector": {"type": "tag", "tag_key": SERVICE_TAG},
                "group_by": SERVICE_TAG, "team": "demo", "lookback_days": DAYS}


def admin_client(service: str, endpoint: str, account_id: str) -> Any:
    """A boto3 client acting as ``account_id``'s administrator in the sandbox."""
    import boto3

    c = boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local",
                     aws_secret_access_key="local")

    def add_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    c.meta.events.register("before-sign", add_account)
    return c


def member_role(endpoint: str, account_id: str) -> str:
    """costopt's member role in ``account_id``, trusting the home account with the ExternalId (member-role.yaml)."""
    iam = admin_client("iam", endpoint, account_id)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": MEMBER_EXTERNAL_ID}}}]}
    try:
        return str(iam.get_role(RoleName=MEMBER_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=MEMBER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _cycle(base: float, amplitude: float, seed: str, jitter: float = 0.08) -> Shape:
    """``base`` x (1 + amplitude x a daily sine peaking at 18:00 UTC), x (1 +- jitter) fixed per point."""
    def value(t: datetime) -> float:
        rng = random.Random(f"{seed}:{int(t.timestamp())}")
        day_phase = (t.hour + t.minute / 60 - 12) / 24 * 2 * math.pi
        return base * (1 + amplitude * math.sin(day_phase)) * (1 + jitter * (2 * rng.random() - 1))
    return value


def _zero(t: datetime) -> float:
    return 0.0


def _times(now: datetime) -> list[datetime]:
    end = now.astimezone(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 5)
    start = end - timedelta(days=DAYS)
    return [start + timedelta(seconds=PERIOD_S * i) for i in range(DAYS * 86_400 // PERIOD_S)]


def _put(cw: Any, namespace: str, dims: dict[str, str], times: list[datetime],
         series: dict[str, list[float]]) -> int:
    dimensions = [{"Name": k, "Value": v} for k, v in dims.items()]
    data = [{"MetricName": name, "Dimensions": dimensions, "Timestamp": t, "Value": round(v, 6)}
            for name, values in series.items() for t, v in zip(times, values, strict=True)]
    for i in range(0, len(data), 1000):  # CloudWatch takes at most 1,000 values per PutMetricData
        cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 1000])
    return len(data)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buf.getvalue()


def _days(times: list[datetime]) -> list[date]:
    """The complete UTC days the history covers (the bill's days)."""
    per_day = 86_400 // PERIOD_S
    counts: dict[date, int] = {}
    for t in times:
        counts[t.date()] = counts.get(t.date(), 0) + 1
    return sorted(d for d, n in counts.items() if n == per_day)


def _by_day(times: list[datetime], values: list[float]) -> dict[date, float]:
    out: dict[date, float] = {}
    for t, v in zip(times, values, strict=True):
        out[t.date()] = out.get(t.date(), 0.0) + v
    return out


def _storefront(endpoint: str, times: list[datetime], estate: Estate) -> list[Any]:
    from local.moto_ext.ce import BillRow

    account, tags = SHOP_ACCOUNT, {SERVICE_TAG: "storefront"}
    lam = admin_client("lambda", endpoint, account)
    role = admin_client("iam", endpoint, account).create_role(
        RoleName="storefront-api", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    fn = lam.create_function(FunctionName="storefront-api", Runtime="python3.11", Role=role, Handler="app.handler",
                             Code={"ZipFile": _zip()}, MemorySize=LAMBDA_MEMORY_MB, Timeout=10,
                             Architectures=["x86_64"], Tags=tags, Publish=True)["FunctionArn"]
    invocations = [round(v) for v in map(_cycle(3000, 0.6, "inv"), times)]  # ~10 requests/s, 16/s at the peak
    duration = [v for v in map(_cycle(85, 0.3, "dur", 0.15), times)]  # ms, ~110 at the peak
    concurrency = [max(1.0, round(i / PERIOD_S * d / 1000 * 2.5)) for i, d in zip(invocations, duration, strict=True)]
    cw = admin_client("cloudwatch", endpoint, account)
    estate.points += _put(cw, "AWS/Lambda", {"FunctionName": "storefront-api"}, times, {
        "Invocations": [float(i) for i in invocations], "Duration": duration, "Errors": list(map(_zero, times)),
        "Throttles": list(map(_zero, times)), "ConcurrentExecutions": concurrency})
    gb = LAMBDA_MEMORY_MB / 1024
    lambda_usd = _by_day(times, [i * LAMBDA_REQUEST_USD + i * d / 1000 * gb * LAMBDA_GB_SECOND_USD
                                 for i, d in zip(invocations, duration, strict=True)])

    ec2 = admin_client("ec2", endpoint, account)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    groups = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    group = groups[0]["GroupId"]
    ecs = admin_client("ecs", endpoint, account)
    ecs.create_cluster(clusterName="shop")
    task_def = ecs.register_task_definition(
        family="storefront-worker", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu=str(WORKER_CPU_UNITS), memory=str(WORKER_MEMORY_MB),
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=[{"name": "worker", "image": "public.ecr.aws/demo/storefront-worker:1",
                               "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    service_arn = ecs.create_service(
        cluster="shop", serviceName="storefront-worker", taskDefinition=task_def, desiredCount=WORKER_TASKS,
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}},
        tags=[{"key": k, "value": v} for k, v in tags.items()],
    )["service"]["serviceArn"]
    estate.points += _put(cw, "AWS/ECS", {"ClusterName": "shop", "ServiceName": "storefront-worker"}, times, {
        "CPUUtilization": list(map(_cycle(11, 0.5, "ecs-cpu"), times)),
        "MemoryUtilization": list(map(_cycle(24, 0.1, "ecs-mem", 0.03), times))})
    task_day_usd = 24 * WORKER_TASKS * (WORKER_CPU_UNITS / 1024 * FARGATE_VCPU_HOUR_USD
                                        + WORKER_MEMORY_MB / 1024 * FARGATE_GB_HOUR_USD)
    estate.resources.update({"storefront-api": {"account": account, "service": "storefront", "id": fn},
                             "storefront-worker": {"account": account, "service": "storefront", "id": service_arn}})
    rows = []
    for d in _days(times):
        rows.append(BillRow(d, account, REGION, "AWS Lambda", fn, lambda_usd[d], tags))
        rows.append(BillRow(d, account, REGION, "Amazon Elastic Container Service", service_arn, task_day_usd, tags))
    return rows


def _ledger(endpoint: str, times: list[datetime], estate: Estate) -> list[Any]:
    from local.moto_ext.ce import BillRow

    account, tags = DATA_ACCOUNT, {SERVICE_TAG: "ledger"}
    ec2 = admin_client("ec2", endpoint, account)

    def tag_spec(kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in {"Name": name, **tags}.items()]}]

    instance = ec2.run_instances(ImageId=AMI, InstanceType="m5.2xlarge", MinCount=1, MaxCount=1,
                                 Placement={"AvailabilityZone": AZ},
                                 TagSpecifications=tag_spec("instance", "ledger-db"))["Instances"][0]["InstanceId"]
    data = ec2.create_volume(AvailabilityZone=AZ, Size=DATA_VOLUME_GB, VolumeType="gp2",
                             TagSpecifications=tag_spec("volume", "ledger-data"))["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=instance, Device="/dev/sdf")
    backup = ec2.create_volume(AvailabilityZone=AZ, Size=BACKUP_VOLUME_GB, VolumeType="gp2",
                               TagSpecifications=tag_spec("volume", "ledger-old-backup"))["VolumeId"]
    cw = admin_client("cloudwatch", endpoint, account)
    estate.points += _put(cw, "AWS/EC2", {"InstanceId": instance}, times,
                          {"CPUUtilization": list(map(_cycle(5, 0.5, "ec2-cpu"), times))})
    # ~120 read and ~60 write IOPS of 16 KiB: far below gp2's 1,500 baseline for 500 GB
    reads = [round(v) for v in map(_cycle(120 * PERIOD_S, 0.4, "rd"), times)]
    writes = [round(v) for v in map(_cycle(60 * PERIOD_S, 0.4, "wr"), times)]
    estate.points += _put(cw, "AWS/EBS", {"VolumeId": data}, times, {
        "VolumeReadOps": [float(r) for r in reads], "VolumeWriteOps": [float(w) for w in writes],
        "VolumeReadBytes": [r * 16384.0 for r in reads], "VolumeWriteBytes": [w * 16384.0 for w in writes]})
    # a detached volume publishes no EBS metrics (CloudWatch sends them only for attached volumes)
    estate.resources.update({"ledger-db": {"account": account, "service": "ledger", "id": instance},
                             "ledger-data": {"account": account, "service": "ledger", "id": data},
                             "ledger-old-backup": {"account": account, "service": "ledger", "id": backup}})
    rows = []
    for d in _days(times):
        gb_month_day = GP2_GB_MONTH_USD / calendar.monthrange(d.year, d.month)[1]
        rows.append(BillRow(d, account, REGION, "Amazon Elastic Compute Cloud - Compute", instance,
                            24 * M5_2XLARGE_HOUR_USD, tags))
        rows.append(BillRow(d, account, REGION, "EC2 - Other", data, DATA_VOLUME_GB * gb_month_day, tags))
        rows.append(BillRow(d, account, REGION, "EC2 - Other", backup, BACKUP_VOLUME_GB * gb_month_day, tags))
    return rows


def populate_member_accounts(sandbox_url: str, now: datetime) -> Estate:
    """Build the estate in the sandbox (fresh: the sandbox lives in memory) and set the bill; returns it."""
    from local.moto_ext import ce

    estate = Estate(now=now)
    for account in MEMBER_ACCOUNTS:
        member_role(sandbox_url, account)
    times = _times(now)
    rows = _storefront(sandbox_url, times, estate) + _ledger(sandbox_url, times, estate)
    ce.set_bill(rows, payer=ACCOUNT_ID, resource_level=True)
    estate.bill_days = len({r.day for r in rows})
    names = {ids["id"]: name for name, ids in estate.resources.items()}
    for r in rows:
        estate.bill_usd[names[r.resource_id]] = estate.bill_usd.get(names[r.resource_id], 0.0) + r.usd
    return estate
