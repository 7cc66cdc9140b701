"""template.yaml: linters, tables, timeouts, layer, queues, schedules and IAM least privilege."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.support import (
    CFN_LINT,
    EVENTS,
    EXPECTED_FUNCTIONS,
    ROOT,
    SCOPES,
    effective,
    function_name,
    functions,
    http_routes,
    sam_bin,
    sam_env,
    template,
)

# IAM actions that have no resource-level permissions, so a statement granting them must use
# Resource "*" (AWS Service Authorization Reference: the action's "Resource types" column is
# empty). Anything else with "*" is a least-privilege violation.
WILDCARD_ONLY_ACTIONS = {
    "cloudwatch:GetMetricData",  # CloudWatch: no resource types for GetMetricData
    "ce:GetCostAndUsage",  # Cost Explorer: no resource for a request that names no billing view
    "ce:GetCostAndUsageWithResources",
    "pricing:GetProducts",  # Price List: no resource types at all
    "organizations:ListAccounts",  # Organizations: no resource types for ListAccounts
    "ecs:DescribeTaskDefinition",  # ECS: no resource types for these two (RegisterTaskDefinition has one)
    "ecs:DeregisterTaskDefinition",
    "ec2:DescribeInstances",  # EC2: Describe* actions take no resource types
    "ec2:DescribeVolumes",
    "ec2:DescribeVolumesModifications",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeImages",
    "tag:GetResources",  # discovery's inventory: no resource types for these three
    "ecs:ListServices",
    "application-autoscaling:DescribeScalableTargets",  # member accounts: no resource types
}

API_TIMEOUT_LIMIT_S = 29  # API Gateway's integration timeout is 30 s; answer before it
TTL_ATTRIBUTES = {"SimulationsTable": "expires_at", "IdempotencyTable": "expiration", "PricingCacheTable": "expires_at"}


@pytest.fixture(scope="module")
def tpl() -> dict[str, Any]:
    return template()


def _resources(tpl: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == kind}


# ---------------------------------------------------------------- linters


def test_cfn_lint_is_clean() -> None:
    assert CFN_LINT.exists(), f"{CFN_LINT} missing: install requirements-dev.txt"
    proc = subprocess.run([str(CFN_LINT), "template.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_sam_validate_lint_is_clean() -> None:
    proc = subprocess.run([str(sam_bin()), "validate", "--lint", "-t", "template.yaml"], cwd=ROOT, env=sam_env(),
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "is a valid SAM Template" in out


# ---------------------------------------------------------------- functions


def test_the_functions_of_design_are_declared(tpl: dict[str, Any]) -> None:
    fns = functions(tpl)
    assert {k: function_name(v) for k, v in fns.items()} == EXPECTED_FUNCTIONS
    for res in fns.values():
        props = res["Properties"]
        assert props["CodeUri"] == f"functions/{function_name(res)}/"
        assert props["Handler"] == "app.lambda_handler"


def test_runtime_architecture_and_layer(tpl: dict[str, Any]) -> None:
    glob = tpl["Globals"]["Function"]
    assert glob["Runtime"] == "python3.11"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Layers"] == [{"Ref": "CoreLayer"}]
    for res in functions(tpl).values():
        assert "Architectures" not in res["Properties"], "every function runs on the layer's architecture"
    layer = tpl["Resources"]["CoreLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.11", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert layer["Properties"]["ContentUri"] == "layers/core/"


def test_api_functions_answer_before_the_gateway_times_out(tpl: dict[str, Any]) -> None:
    api_functions = {k: v for k, v in functions(tpl).items() if http_routes(v)}
    assert len(api_functions) == 7
    for logical_id, res in api_functions.items():
        timeout = effective(res, "Timeout", tpl)
        assert isinstance(timeout, int) and timeout < API_TIMEOUT_LIMIT_S, (logical_id, timeout)


def test_simulate_gets_at_least_a_gigabyte(tpl: dict[str, Any]) -> None:
    assert effective(tpl["Resources"]["SimulateFunction"], "MemorySize", tpl) >= 1024


def test_every_table_name_reaches_every_function_and_the_outputs(tpl: dict[str, Any]) -> None:
    tables = set(_resources(tpl, "AWS::DynamoDB::Table"))
    env_refs = {v["Ref"] for v in tpl["Globals"]["Function"]["Environment"]["Variables"].values()
                if isinstance(v, dict) and "Ref" in v}
    assert tables <= env_refs
    output_refs = {o["Value"].get("Ref") for o in tpl["Outputs"].values() if isinstance(o["Value"], dict)}
    assert tables <= output_refs
    assert {"RecomputeQueue", "AlertTopic", "HttpApi"} <= output_refs
    assert "ApiUrl" in tpl["Outputs"]


# ---------------------------------------------------------------- tables (DESIGN §5)


def test_tables_are_on_demand_with_pitr_and_deletion_protection(tpl: dict[str, Any]) -> None:
    tables = _resources(tpl, "AWS::DynamoDB::Table")
    assert set(tables) == {"ServicesTable", "RecommendationsTable", "ChangesTable", "ObservationsTable",
                           "SimulationsTable", "AlertsTable", "IdempotencyTable", "PricingCacheTable"}
    for name, res in tables.items():
        props = res["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["DeletionProtectionEnabled"] is True, name
        assert res["DeletionPolicy"] == "Retain" and res["UpdateReplacePolicy"] == "Retain", name


def test_ttl_where_design_lists_it(tpl: dict[str, Any]) -> None:
    for name, res in _resources(tpl, "AWS::DynamoDB::Table").items():
        ttl = res["Properties"].get("TimeToLiveSpecification")
        if name in TTL_ATTRIBUTES:
            assert ttl == {"AttributeName": TTL_ATTRIBUTES[name], "Enabled": True}, name
        else:
            assert ttl is None, f"{name} keeps its items: no TTL"


# ---------------------------------------------------------------- API


def test_http_api_has_a_default_jwt_authorizer_and_throttling(tpl: dict[str, Any]) -> None:
    api = tpl["Resources"]["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    props = api["Properties"]
    auth = props["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    assert {"JwtIssuer", "JwtAudience"} <= set(tpl["Parameters"])
    settings = props["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] and settings["ThrottlingBurstLimit"]
    assert "CorsConfiguration" not in props, "the API serves no browser app from another origin"


def test_every_route_is_on_the_api_and_needs_a_scope_except_the_docs_page(tpl: dict[str, Any]) -> None:
    public = []
    for res in functions(tpl).values():
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            assert props["ApiId"] == {"Ref": "HttpApi"}
            auth = props.get("Auth") or {}
            if auth.get("Authorizer") == "NONE":
                public.append((props["Method"], props["Path"]))
                continue
            scopes = auth.get("AuthorizationScopes")
            assert scopes and set(scopes) <= SCOPES, (props["Method"], props["Path"], scopes)
    assert public == [("GET", "/v1/docs")]


# ---------------------------------------------------------------- schedules, queue, topic


def _event(tpl: dict[str, Any], logical_id: str, kind: str) -> dict[str, Any]:
    events = [e for e in tpl["Resources"][logical_id]["Properties"]["Events"].values() if e["Type"] == kind]
    assert len(events) == 1, (logical_id, kind)
    return events[0]["Properties"]


def _schedule_input(props: dict[str, Any]) -> dict[str, Any]:
    raw = props["Input"]["Fn::Sub"]
    return json.loads(raw.replace("${AWS::AccountId}", "123456789012").replace("${AWS::Region}", "us-east-1"))


def test_schedules(tpl: dict[str, Any]) -> None:
    hourly = _event(tpl, "PullMetricsFunction", "ScheduleV2")
    assert hourly["ScheduleExpression"] == "rate(1 hour)"
    daily = _event(tpl, "RecomputeFunction", "ScheduleV2")
    assert re.fullmatch(r"cron\(\d{1,2} \d{1,2} \* \* \? \*\)", daily["ScheduleExpression"])
    assert tpl["Resources"]["PullMetricsFunction"]["Properties"]["Timeout"] >= 300
    for schedule in (hourly, daily):  # one stack per stage in one account: names must not collide
        assert "${Stage}" in schedule["Name"]["Fn::Sub"]


@pytest.mark.parametrize("logical_id", ["PullMetricsFunction", "RecomputeFunction"])
def test_schedule_input_is_what_the_sample_event_holds(tpl: dict[str, Any], logical_id: str) -> None:
    body = _schedule_input(_event(tpl, logical_id, "ScheduleV2"))
    sample = json.loads((EVENTS / f"{function_name(tpl['Resources'][logical_id])}-schedule.json").read_text())
    assert set(body) == set(sample)
    assert body["detail"] == sample["detail"]
    assert body["detail-type"] == sample["detail-type"] == "Scheduled Event"
    assert body["source"] == sample["source"]


def test_recompute_queue_reports_item_failures_and_redrives_to_a_dlq(tpl: dict[str, Any]) -> None:
    sqs = _event(tpl, "RecomputeFunction", "SQS")
    assert sqs["Queue"] == {"Fn::GetAtt": ["RecomputeQueue", "Arn"]}
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["BatchSize"] == 10
    queue = tpl["Resources"]["RecomputeQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["RecomputeDLQ", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 1
    timeout = effective(tpl["Resources"]["RecomputeFunction"], "Timeout", tpl)
    # AWS: set the source queue's visibility timeout to at least six times the function timeout
    assert queue["VisibilityTimeout"] >= 6 * timeout
    dlq = tpl["Resources"]["RecomputeDLQ"]["Properties"]
    assert dlq["MessageRetentionPeriod"] > queue.get("MessageRetentionPeriod", 345600)


def test_actuation_queue_feeds_a_worker_that_outlasts_an_ec2_resize(tpl: dict[str, Any]) -> None:
    sqs = _event(tpl, "ActuateFunction", "SQS")
    assert sqs["Queue"] == {"Fn::GetAtt": ["ActuationQueue", "Arn"]}
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and sqs["BatchSize"] == 1
    timeout = effective(tpl["Resources"]["ActuateFunction"], "Timeout", tpl)
    assert timeout == 900  # Lambda's limit: stop + modify + start + status checks take minutes
    queue = tpl["Resources"]["ActuationQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ActuationDLQ", "Arn"]}
    assert tpl["Globals"]["Function"]["Environment"]["Variables"]["ACTUATION_QUEUE_URL"] == {"Ref": "ActuationQueue"}
    senders = {k for k, v in functions(tpl).items()
               if {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["ActuationQueue", "QueueName"]}}}
               in v["Properties"].get("Policies", [])}
    # everything that starts or recovers a change can hand it to the worker
    assert {"ApplyFunction", "RollbackFunction", "PullMetricsFunction", "RecomputeFunction"} <= senders


def test_function_environment(tpl: dict[str, Any]) -> None:
    env = {k: v["Properties"].get("Environment", {}).get("Variables", {}) for k, v in functions(tpl).items()}
    assert env["RecomputeFunction"]["RECOMPUTE_QUEUE_URL"] == {"Ref": "RecomputeQueue"}
    assert tpl["Globals"]["Function"]["Environment"]["Variables"]["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    for logical_id in ("ApplyFunction", "RollbackFunction", "PullMetricsFunction", "RecomputeFunction"):
        assert env[logical_id]["EVENT_BUS_NAME"] == "default"
    for logical_id in ("PullMetricsFunction", "RecomputeFunction"):
        assert env[logical_id]["BILLING_API_URL"] == {"Ref": "BillingApiUrl"}
        assert env[logical_id]["BILLING_API_KEY_SECRET"] == {"Ref": "BillingApiKeySecretName"}
        assert env[logical_id]["PROMETHEUS_URL"] == {"Ref": "PrometheusUrl"}
    for name in ("BillingApiUrl", "BillingApiKeySecretName", "PrometheusUrl", "FocusCsvBucket"):
        assert tpl["Parameters"][name]["Default"] == ""


# ---------------------------------------------------------------- IAM


def _statements(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement anywhere in the template (managed policies and inline ones)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                for stmt in value if isinstance(value, list) else [value]:
                    yield path, stmt
            else:
                yield from _statements(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _statements(value, f"{path}/{i}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_text(raw: str, sid: str) -> str:
    """The lines of template.yaml from ``- Sid: <sid>`` to the next statement."""
    lines = raw.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s*- Sid: {re.escape(sid)}\s*", line))
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    return "\n".join(lines[start:end])


def test_no_wildcard_resource_without_a_justified_action(tpl: dict[str, Any]) -> None:
    raw = (ROOT / "template.yaml").read_text()
    wildcard = [(where, s) for where, s in _statements(tpl["Resources"]) if "*" in _as_list(s.get("Resource"))]
    assert wildcard, "the telemetry/billing/pricing reads need Resource '*'; the walk found none"
    for where, stmt in wildcard:
        actions = _as_list(stmt["Action"])
        assert stmt["Effect"] == "Allow"
        unjustified = set(actions) - WILDCARD_ONLY_ACTIONS
        assert not unjustified, f"{where}: {sorted(unjustified)} support resource-level permissions: scope them"
        assert "Sid" in stmt, f"{where}: a Resource '*' statement needs a Sid and a comment"
        comments = " ".join(line.split("#", 1)[1] for line in _statement_text(raw, stmt["Sid"]).splitlines()
                            if "#" in line)
        for action in actions:
            assert action in comments, f"{stmt['Sid']}: no comment saying why {action} needs Resource '*'"
        assert "requires" in comments


def test_no_wildcard_actions_anywhere(tpl: dict[str, Any]) -> None:
    for where, stmt in _statements(tpl["Resources"]):
        for action in _as_list(stmt["Action"]):
            assert action != "*" and not action.endswith(":*"), (where, action)


def test_mutating_actuator_statements_are_scoped_to_this_account(tpl: dict[str, Any]) -> None:
    doc = tpl["Resources"]["ActuatorPolicy"]["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    for sid in ("LambdaChange", "EcsServiceChange", "Ec2InstanceChange", "EbsVolumeChange", "DynamoDbTableChange"):
        stmt = by_sid[sid]
        for arn in _as_list(stmt["Resource"]):
            assert "${AWS::AccountId}" in arn["Fn::Sub"], (sid, arn)
        assert stmt["Condition"]["Fn::If"][0] == "TagGatedActuators"
    pass_role = by_sid["EcsPassTaskRoles"]
    assert pass_role["Action"] == ["iam:PassRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_function_policies_are_templates_or_this_stacks_managed_policies(tpl: dict[str, Any]) -> None:
    """No AWS-managed *FullAccess policies: SAM policy templates scoped to one resource, or ours."""
    own = {k for k, v in tpl["Resources"].items() if v["Type"] == "AWS::IAM::ManagedPolicy"}
    templates = {"DynamoDBCrudPolicy", "DynamoDBReadPolicy", "SQSSendMessagePolicy", "SNSPublishMessagePolicy",
                 "EventBridgePutEventsPolicy", "AWSSecretsManagerGetSecretValuePolicy", "S3ReadPolicy"}

    def check(item: Any) -> None:
        if isinstance(item, dict) and "Fn::If" in item:
            for branch in item["Fn::If"][1:]:
                if branch != {"Ref": "AWS::NoValue"}:
                    check(branch)
        elif isinstance(item, dict) and "Ref" in item:
            assert item["Ref"] in own, item
        else:
            assert isinstance(item, dict) and len(item) == 1, item
            (name, args), = item.items()
            assert name in templates, name
            assert all(v not in ("*", "") for v in args.values()), item

    for logical_id, res in functions(tpl).items():
        policies = res["Properties"]["Policies"]
        assert isinstance(policies, list) and policies, logical_id
        for item in policies:
            check(item)


def test_each_function_may_touch_only_the_tables_it_needs(tpl: dict[str, Any]) -> None:
    def tables(logical_id: str, policy: str) -> set[str]:
        policies = tpl["Resources"][logical_id]["Properties"]["Policies"]
        return {p[policy]["TableName"]["Ref"] for p in policies if isinstance(p, dict) and policy in p}

    # read-only API functions write nothing
    assert tables("MetricsFunction", "DynamoDBCrudPolicy") == set()
    # only the functions that change live resources hold the actuators
    holders = {k for k, v in functions(tpl).items() if {"Ref": "ActuatorPolicy"} in v["Properties"]["Policies"]}
    assert holders == {"ApplyFunction", "RollbackFunction", "PullMetricsFunction", "RecomputeFunction",
                       "ActuateFunction"}
    # idempotency records are written by the functions that change things
    assert "IdempotencyTable" in tables("ApplyFunction", "DynamoDBCrudPolicy")
    assert "IdempotencyTable" in tables("RollbackFunction", "DynamoDBCrudPolicy")
    assert "SimulationsTable" in tables("SimulateFunction", "DynamoDBCrudPolicy")
    assert "AlertsTable" in tables("RecomputeFunction", "DynamoDBCrudPolicy")
