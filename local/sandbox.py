"""The AWS sandbox: moto's server on loopback serving Lambda, ECS, EC2, CloudWatch, Cost Explorer,
EventBridge, SNS, SQS and Secrets Manager, with the demo services' live resources created in it.

Everything here talks to the sandbox with plain boto3 clients pointed at its URL, exactly as the
costopt code does through AWS_ENDPOINT_URL. DynamoDB resources go wherever
AWS_ENDPOINT_URL_DYNAMODB points (DynamoDB Local).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from local.demo import DEMO_CLUSTER
from local.env import ACTUATION_QUEUE_NAME, ALERT_TOPIC_NAME, RECOMPUTE_QUEUE_NAME, REGION

LAMBDA_ROLE = "costopt-demo-lambda"
DEMO_AZ = f"{REGION}a"


def start_server(port: int, host: str = "127.0.0.1") -> Any:
    """moto's ThreadedMotoServer, started (stop() it when done)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per sandbox request is noise
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local",
                        aws_secret_access_key="local")


def reset(endpoint: str) -> None:
    """Forget every resource of the sandbox (moto's reset API)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)


def create_messaging(endpoint: str) -> dict[str, str]:
    """The SNS alert topic, the recompute queue and the actuation queue (each with its dead-letter queue)."""
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    topic_arn = sns.create_topic(Name=ALERT_TOPIC_NAME)["TopicArn"]

    def queue(name: str, visibility_s: int) -> tuple[str, str]:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": str(visibility_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        })["QueueUrl"]
        return url, dlq_url

    queue_url, dlq_url = queue(RECOMPUTE_QUEUE_NAME, 180)
    actuation_url, _ = queue(ACTUATION_QUEUE_NAME, 180)
    client("events", endpoint).describe_event_bus(Name="default")  # exists in every account
    return {"topic_arn": topic_arn, "queue_url": queue_url, "dlq_url": dlq_url, "actuation_queue_url": actuation_url}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def lambda_handler(event, context):\n    return {'statusCode': 200}\n")
    return buf.getvalue()


def _lambda_role(endpoint: str) -> str:
    iam = client("iam", endpoint)
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"Service": "lambda.amazonaws.com"}}]}
        return str(iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def create_lambda(endpoint: str, resource: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    lam = client("lambda", endpoint)
    name = resource["function_name"]
    try:
        lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        lam.create_function(
            FunctionName=name, Runtime="python3.11", Role=_lambda_role(endpoint), Handler="app.lambda_handler",
            Code={"ZipFile": _lambda_zip()}, MemorySize=int(config["memory_mb"]), Timeout=10,
            Architectures=[config.get("architecture", "x86_64")], Tags=resource.get("tags") or {},
            Publish=True,
        )
        if config.get("provisioned_concurrency"):
            lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1",
                                                   ProvisionedConcurrentExecutions=int(config["provisioned_concurrency"]))
    return {"function_name": name}


def _default_network(endpoint: str) -> tuple[str, list[str]]:
    ec2 = client("ec2", endpoint)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return vpc, [s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])]


def create_ecs_service(endpoint: str, resource: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """Cluster + task definition + service (+ an ALB target group for its latency metrics)."""
    ecs, elb = client("ecs", endpoint), client("elbv2", endpoint)
    cluster, service = resource.get("cluster", DEMO_CLUSTER), resource["service_name"]
    vpc, subnets = _default_network(endpoint)
    identity = {"cluster": cluster, "service_name": service}
    tg_name = f"{service}-tg"[:32]
    try:
        tg_arn = elb.describe_target_groups(Names=[tg_name])["TargetGroups"][0]["TargetGroupArn"]
    except elb.exceptions.TargetGroupNotFoundException:
        tg_arn = elb.create_target_group(Name=tg_name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
                                         HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
        lb_arn = elb.create_load_balancer(Name=f"{service}-alb"[:32], Subnets=subnets[:2], Scheme="internal",
                                          Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    lbs = elb.describe_target_groups(TargetGroupArns=[tg_arn])["TargetGroups"][0].get("LoadBalancerArns") or []
    identity["target_group_arn"] = tg_arn
    if lbs:
        identity["load_balancer_arn"] = lbs[0]

    ecs.create_cluster(clusterName=cluster)
    existing = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if any(s.get("status") == "ACTIVE" for s in existing):
        return identity
    arch = "ARM64" if config.get("architecture") == "arm64" else "X86_64"
    task_def = ecs.register_task_definition(
        family=service, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu=str(config["cpu_units"]), memory=str(config["memory_mb"]),
        runtimePlatform={"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"},
        containerDefinitions=[{"name": service, "image": f"public.ecr.aws/demo/{service}:latest", "essential": True,
                               "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
    )["taskDefinition"]["taskDefinitionArn"]
    sg = client("ec2", endpoint).describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    capacity: dict[str, Any]
    if config.get("capacity") == "spot":
        capacity = {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}
    else:
        capacity = {"launchType": "FARGATE"}
    ecs.create_service(
        cluster=cluster, serviceName=service, taskDefinition=task_def, desiredCount=int(config["desired_count"]),
        loadBalancers=[{"targetGroupArn": tg_arn, "containerName": service, "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[:2], "securityGroups": [sg],
                                                      "assignPublicIp": "DISABLED"}},
        tags=[{"key": k, "value": v} for k, v in (resource.get("tags") or {}).items()], **capacity,
    )
    return identity


DEMO_AMI = "ami-04681a1dbd79675a5"  # Amazon Linux 2 (x86_64) in moto's default AMI set


def _image_id(endpoint: str) -> str:
    ec2 = client("ec2", endpoint)
    try:  # asking for one AMI is fast; listing all of moto's amazon AMIs takes seconds
        return str(ec2.describe_images(ImageIds=[DEMO_AMI])["Images"][0]["ImageId"])
    except Exception:
        images = ec2.describe_images(Owners=["amazon"])["Images"]
        return str(images[0]["ImageId"])


def find_instance(endpoint: str, name: str) -> str | None:
    ec2 = client("ec2", endpoint)
    for reservation in ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])["Reservations"]:
        for instance in reservation["Instances"]:
            return str(instance["InstanceId"])
    return None


def create_ec2_instance(endpoint: str, name: str, resource: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    existing = find_instance(endpoint, name)
    if existing:
        return {"instance_id": existing}
    ec2 = client("ec2", endpoint)
    instance = ec2.run_instances(
        ImageId=_image_id(endpoint), InstanceType=config["instance_type"], MinCount=1, MaxCount=1,
        Placement={"AvailabilityZone": DEMO_AZ},
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": _tag_list({"Name": name, **(resource.get("tags") or {})})}],
    )["Instances"][0]
    return {"instance_id": instance["InstanceId"]}


def create_ebs_volume(endpoint: str, name: str, resource: dict[str, Any], config: dict[str, Any],
                      attach_to: str | None = None) -> dict[str, str]:
    ec2 = client("ec2", endpoint)
    found = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": [name]}])["Volumes"]
    if found:
        return {"volume_id": found[0]["VolumeId"]}
    args: dict[str, Any] = {"AvailabilityZone": DEMO_AZ, "Size": int(config["size_gb"]),
                            "VolumeType": config["volume_type"]}
    if config.get("iops") and config["volume_type"] in ("gp3", "io1", "io2"):
        args["Iops"] = int(config["iops"])
    if config.get("throughput_mbps") and config["volume_type"] == "gp3":
        args["Throughput"] = int(config["throughput_mbps"])
    volume = ec2.create_volume(**args, TagSpecifications=[
        {"ResourceType": "volume", "Tags": _tag_list({"Name": name, **(resource.get("tags") or {})})}])
    if attach_to:
        ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=attach_to, Device="/dev/sdf")
    return {"volume_id": volume["VolumeId"]}


def create_dynamodb_table(resource: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """A table the demo service pays for, in DynamoDB (Local): AWS_ENDPOINT_URL_DYNAMODB decides where."""
    import boto3

    ddb = boto3.client("dynamodb", region_name=REGION)
    name = resource["table_name"]
    if name in ddb.list_tables().get("TableNames", []):
        return {"table_name": name}
    args: dict[str, Any] = {
        "TableName": name, "AttributeDefinitions": [{"AttributeName": "session_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "session_id", "KeyType": "HASH"}], "BillingMode": config["billing_mode"],
        "Tags": _tag_list(resource.get("tags") or {}) or [{"Key": "env", "Value": "demo"}],
    }
    if config["billing_mode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = {"ReadCapacityUnits": int(config["rcu"]),
                                         "WriteCapacityUnits": int(config["wcu"])}
    ddb.create_table(**args)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
    return {"table_name": name}


def create_service_resources(endpoint: str, service_id: str, spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Create (or find) the live resources of ``spec`` with its configs; returns their identities."""
    identities: dict[str, dict[str, str]] = {}
    instance_id: str | None = None
    resources = sorted(spec.get("resources", []), key=lambda r: r["kind"] != "ec2_instance")  # instances first
    for resource in resources:
        rid, kind, config = resource["resource_id"], resource["kind"], resource["config"]
        name = f"{service_id}-{rid}"
        if kind == "lambda_function":
            identities[rid] = create_lambda(endpoint, resource, config)
        elif kind == "ecs_service":
            identities[rid] = create_ecs_service(endpoint, resource, config)
        elif kind == "ec2_instance":
            identities[rid] = create_ec2_instance(endpoint, name, resource, config)
            instance_id = identities[rid]["instance_id"]
        elif kind == "ebs_volume":
            identities[rid] = create_ebs_volume(endpoint, name, resource, config, attach_to=instance_id)
        elif kind == "dynamodb_table":
            identities[rid] = create_dynamodb_table(resource, config)
        else:  # generic: lives outside AWS (a GitOps pipeline applies it); nothing to create
            identities[rid] = {"workload": resource["workload"]}
    return identities
