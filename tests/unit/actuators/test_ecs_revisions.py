"""ECS task definition revisions costopt registers: tagged costopt:managed=true with the source revision's
tags (moto), and, when UpdateService fails, only that revision is deregistered (botocore Stubber)."""


from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from costopt.actuators.aws import ActuationFailed, client
from costopt.actuators.ecs_service import MANAGED_TAG, MAX_TAGS, revision_tags
from costopt.actuators.registry import actuator_for
from tests.support.aws_fixtures import NOW, REGION, make_service

EXEC_ROLE = "arn:aws:iam::123456789012:role/costopt-managed/web-exec"


def ecs_resource(cluster: str, name: str) -> dict:
    return {"resource_id": name, "kind": "ecs_service", "cluster": cluster, "service_name": name,
            "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}}


def test_revision_tags_replace_a_stale_managed_tag_drop_aws_tags_and_respect_the_limit():
    source = [{"key": "costopt:managed", "value": "false"}, {"key": "aws:cloudformation:stack-name", "value": "shop"},
              {"key": "team", "value": "payments"}]
    tags, left_out = revision_tags(source)
    assert tags == [MANAGED_TAG, {"key": "team", "value": "payments"}] and left_out == []
    many = [{"key": f"k{i:02d}", "value": "v"} for i in range(MAX_TAGS)]
    tags, left_out = revision_tags(many)
    assert len(tags) == MAX_TAGS and tags[0] == MANAGED_TAG and left_out == [f"k{MAX_TAGS - 1:02d}"]


def test_a_failed_update_deregisters_only_the_revision_this_apply_registered():
    service = make_service([ecs_resource("rev-fail", "api")])
    resource = service.resource("api")
    act = actuator_for("ecs_service")
    current = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7"
    registered = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:8"
    task_def = {"taskDefinitionArn": current, "family": "api", "revision": 7, "cpu": "1024", "memory": "2048",
                "executionRoleArn": EXEC_ROLE, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27"}]}
    with Stubber(client("ecs", REGION)) as stub:
        stub.add_response("describe_services", {"services": [{
            "serviceName": "api", "status": "ACTIVE", "taskDefinition": current, "desiredCount": 2,
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]}]},
            {"cluster": "rev-fail", "services": ["api"]})
        stub.add_response("describe_task_definition", {"taskDefinition": task_def,
                                                       "tags": [{"key": "team", "value": "payments"}]},
                          {"taskDefinition": current, "include": ["TAGS"]})
        new_revision = {**task_def, "taskDefinitionArn": registered, "revision": 8, "cpu": "512", "memory": "1024"}
        stub.add_response("register_task_definition", {"taskDefinition": new_revision},
                          {"family": "api", "executionRoleArn": EXEC_ROLE, "networkMode": "awsvpc",
                           "requiresCompatibilities": ["FARGATE"], "containerDefinitions": ANY, "cpu": "512",
                           "memory": "1024", "runtimePlatform": ANY,
                           "tags": [MANAGED_TAG, {"key": "team", "value": "payments"}]})
        stub.add_client_error("update_service", "InvalidParameterException", "capacity provider not on the cluster")
        stub.add_response("deregister_task_definition", {"taskDefinition": {"taskDefinitionArn": registered}},
                          {"taskDefinition": registered})
        with pytest.raises(ActuationFailed) as info:
            act.apply(service, resource, act.parse({"cpu_units": 1024, "memory_mb": 2048, "desired_count": 2}),
                      act.parse({"cpu_units": 512, "memory_mb": 1024, "desired_count": 2, "capacity": "spot"}),
                      change_id="c", now=NOW)
        stub.assert_no_pending_responses()
    assert "InvalidParameterException" in info.value.detail and not info.value.partial
