"""ECS task definition revisions costopt registers: tagged costopt:managed=true with the source revision's: the
tests that need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/actuators/test_ecs_revisions.py``."""


from __future__ import annotations

import boto3

from costopt.actuators.registry import actuator_for
from tests.support.aws_fixtures import NOW, REGION, make_service
from tests.unit.actuators.test_ecs_revisions import EXEC_ROLE, ecs_resource  # shared with the tests that need no AWS


def tagged_service(cluster: str, name: str, tags: list[dict[str, str]]) -> str:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=cluster)
    arn = ecs.register_task_definition(
        family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="2048",
        executionRoleArn=EXEC_ROLE, tags=tags,
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=arn, desiredCount=2,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    return arn




def test_a_resized_revision_is_tagged_managed_and_keeps_the_source_tags():
    # the source revision's number: the IAM scenarios (tests/integration/aws/iam) run this test again in the
    # same moto account, where the family already has revisions
    source = tagged_service("rev-tags", "rev-web", [{"key": "costopt-service", "value": "checkout"},
                                                {"key": "team", "value": "payments"}])
    source_rev = int(source.rsplit(":", 1)[1])
    service = make_service([ecs_resource("rev-tags", "rev-web")])
    act = actuator_for("ecs_service")
    before = act.read(service, service.resource("rev-web"))
    act.apply(service, service.resource("rev-web"), before,
              act.parse({"cpu_units": 512, "memory_mb": 1024, "desired_count": 2}), change_id="c", now=NOW)
    ecs = boto3.client("ecs", region_name=REGION)
    live = ecs.describe_services(cluster="rev-tags", services=["rev-web"])["services"][0]
    assert live["taskDefinition"].endswith(f"rev-web:{source_rev + 1}")
    new = ecs.describe_task_definition(taskDefinition=f"rev-web:{source_rev + 1}", include=["TAGS"])
    assert {t["key"]: t["value"] for t in new["tags"]} == {
        "costopt:managed": "true", "costopt-service": "checkout", "team": "payments"}
    assert new["taskDefinition"]["executionRoleArn"] == EXEC_ROLE  # the role passed again is the revision's own
    # the revision the service ran before is left as it was
    assert {t["key"] for t in ecs.describe_task_definition(taskDefinition=source, include=["TAGS"])["tags"]} == {
        "costopt-service", "team"}
