"""IAM contract: template.yaml grants each function exactly the AWS actions of the modules it runs.

Each costopt module that calls AWS declares the IAM actions it needs (``AWS_ACTIONS``; the moto tests
prove the declarations true: tests/integration/aws/iam/test_aws_actions.py). Here: costopt's managed policies grant
exactly the declared actions that no SAM policy template already grants, each function gets what its
modules need and no managed-policy action it does not, and every statement is as narrow as IAM allows,
checked against the Service Authorization Reference data cfn-lint ships (actions, resource types and
which resource types carry ``aws:ResourceTag``).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.aws_actions import PACKAGE_DIR, declared_actions, product_modules
from tests.contract.support import ROOT, functions, template

DECLARED = declared_actions()

# Modules that declare AWS actions but run in no function yet, and why.
UNDEPLOYED = {"costopt.connectors.spot_prices": "no recommender reads Spot prices yet (see its docstring)"}


@cache
def groups() -> dict[str, frozenset[str]]:
    """The modules behind each capability a function can have (module names, each declaring AWS_ACTIONS)."""
    from costopt.connectors.base import _BILLING_CLASSES, _TELEMETRY_CLASSES

    def registered(table: dict[str, str]) -> frozenset[str]:  # the connector registry's modules
        return frozenset(t.split(":")[0] for t in table.values()) & set(DECLARED)

    return {
        "actuators": frozenset(m for m in DECLARED if m.startswith("costopt.actuators.")),  # actuator_for(any kind)
        "telemetry": registered(_TELEMETRY_CLASSES),  # source_for(service)
        "billing": registered(_BILLING_CLASSES),  # billing_for(service)
        "pricing": frozenset({"costopt.pricing.price_list"}),  # get_catalog(region other than us-east-1)
        "alerts": frozenset({"costopt.connectors.notify"}),  # budget alerts; changes needing attention
        "fan_out": frozenset({"costopt.jobs.recompute"}),  # the schedule's SQS fan-out
        "actuation_queue": frozenset({"costopt.connectors.queues"}),  # long changes handed to the worker
        "accounts": frozenset({"costopt.accounts"}),  # member accounts: their role, the organization's list
        # discovery's live resources
        "inventory": frozenset({"costopt.connectors.inventory", "costopt.connectors.inventory_describe"}),
    }


# What each function runs (functions/<name>/app.py and the jobs it calls).
FUNCTION_GROUPS: dict[str, set[str]] = {
    "ServicesFunction": set(),
    "RecommendFunction": {"pricing"},
    "SimulateFunction": {"pricing"},
    # a change: the actuators, the worker's queue for long ones, the recovery of a stalled one (an alert)
    "ApplyFunction": {"accounts", "actuators", "actuation_queue", "alerts"},
    "RollbackFunction": {"accounts", "actuators", "actuation_queue", "alerts"},
    "MetricsFunction": set(),
    # pull; the recovery sweep; verify may auto-roll back
    "PullMetricsFunction": {"accounts", "telemetry", "billing", "actuators", "actuation_queue", "alerts"},
    # + auto-apply
    "RecomputeFunction": {"accounts", "billing", "pricing", "actuators", "alerts", "fan_out", "actuation_queue"},
    # the worker; settles a change it cannot carry on
    "ActuateFunction": {"accounts", "actuators", "alerts"},
    # discovery and the history pull of its services
    "DiscoverFunction": {"accounts", "telemetry", "billing", "inventory"},
}

# The non-DynamoDB SAM policy templates the functions use and the actions they grant (samtranslator's
# policy_templates.json; test_sam_policy_templates_grant_what_this_table_says checks this table against it).
SAM_TEMPLATE_ACTIONS: dict[str, frozenset[str]] = {
    "SQSSendMessagePolicy": frozenset({"sqs:SendMessage*"}),
    "SNSPublishMessagePolicy": frozenset({"sns:Publish"}),
    "EventBridgePutEventsPolicy": frozenset({"events:PutEvents"}),
    "AWSSecretsManagerGetSecretValuePolicy": frozenset({"secretsmanager:GetSecretValue"}),
    "S3ReadPolicy": frozenset({"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
                               "s3:GetLifecycleConfiguration"}),
}
TABLE_TEMPLATES = {"DynamoDBCrudPolicy", "DynamoDBReadPolicy"}  # costopt's own tables (the store): out of scope

# Writes in the actuator policy that are not gated by the costopt:managed tag, and why.
UNGATED_WRITES = {
    "ecs:RegisterTaskDefinition": "creates a new revision; what it can hand a task is bounded by iam:PassRole",
    "ecs:TagResource": "only tags the revision being registered (ecs:CreateAction = RegisterTaskDefinition)",
    "ecs:DeregisterTaskDefinition": "no resource type, so no tag condition can apply (test below)",
    "iam:PassRole": "IAM cannot limit it by role tags: the roles are listed (EcsTaskRoleArns)",
}
READ_VERBS = ("Describe", "Get", "List", "BatchGet")


@pytest.fixture(scope="module")
def tpl() -> dict[str, Any]:
    return template()


# ---------------------------------------------------------------- reading the template


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def managed_policies(tpl: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """logical id -> its statements, for costopt's own AWS::IAM::ManagedPolicy resources."""
    return {k: _as_list(v["Properties"]["PolicyDocument"]["Statement"]) for k, v in tpl["Resources"].items()
            if v["Type"] == "AWS::IAM::ManagedPolicy"}


def allowed(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in _as_list(s["Action"])}


def _branches(item: Any) -> list[Any]:
    """A Policies entry, with both branches of an ``!If`` (a policy attached under a condition counts)."""
    if isinstance(item, dict) and "Fn::If" in item:
        return [b for branch in item["Fn::If"][1:] if branch != {"Ref": "AWS::NoValue"} for b in _branches(branch)]
    return [item]


def attached(tpl: dict[str, Any], logical_id: str) -> tuple[set[str], set[str]]:
    """(managed policies, SAM policy templates) a function holds."""
    own, sam = set(), set()
    for item in tpl["Resources"][logical_id]["Properties"]["Policies"]:
        for entry in _branches(item):
            if "Ref" in entry:
                own.add(entry["Ref"])
            else:
                (name, _), = entry.items()
                sam.add(name)
    return own, sam


def needed(logical_id: str) -> set[str]:
    return {a for g in FUNCTION_GROUPS[logical_id] for m in groups()[g] for a in DECLARED[m]}


def covered(action: str, grants: set[str] | frozenset[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), g.lower()) for g in grants)


@cache
def sar() -> dict[str, Any]:
    """The Service Authorization Reference as cfn-lint ships it: {prefix: {Actions: {action: {Resources}},
    Resources: {type: {ARNFormats, ConditionKeys}}}} (action names lower-cased)."""
    import cfnlint

    path = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
    return dict(json.loads(path.read_text()))


def resource_types(action: str) -> list[dict[str, Any]]:
    prefix, name = action.split(":")
    service = sar()[prefix]
    types = {k.lower(): v for k, v in service["Resources"].items()}  # the data spells some in two cases
    return [types[r.lower()] for r in service["Actions"][name.lower()].get("Resources", [])]


def _condition_keys(condition: Any) -> set[str]:
    if isinstance(condition, dict) and "Fn::If" in condition:
        return {k for branch in condition["Fn::If"][1:] for k in _condition_keys(branch)}
    if isinstance(condition, dict):
        return {key for op in condition.values() if isinstance(op, dict) for key in op}
    return set()


# ---------------------------------------------------------------- what each function may do


def test_every_module_that_declares_aws_actions_runs_in_a_function_or_is_named_undeployed() -> None:
    deployed = set().union(*groups().values())
    assert deployed.isdisjoint(UNDEPLOYED)
    assert set(DECLARED) == deployed | set(UNDEPLOYED), sorted(set(DECLARED) ^ (deployed | set(UNDEPLOYED)))
    assert all(groups().values()), groups()


def test_the_function_table_is_the_template_s(tpl: dict[str, Any]) -> None:
    assert set(FUNCTION_GROUPS) == set(functions(tpl))


def test_managed_policies_grant_exactly_what_the_modules_declare(tpl: dict[str, Any]) -> None:
    """Every declared action of a deployed module is granted by a managed policy unless a SAM policy template
    the function holds grants it already; and the managed policies grant nothing else."""
    policies = managed_policies(tpl)
    by_template = set()
    for logical_id in FUNCTION_GROUPS:
        _, sam = attached(tpl, logical_id)
        grants = {a for t in sam - TABLE_TEMPLATES for a in SAM_TEMPLATE_ACTIONS[t]}
        by_template |= {a for a in needed(logical_id) if covered(a, grants)}
    deployed = {a for m in set().union(*groups().values()) for a in DECLARED[m]}
    granted = set().union(*(allowed(s) for s in policies.values()))
    assert not deployed - by_template - granted, f"declared but granted nowhere: {sorted(deployed - granted)}"
    extra = granted - (deployed - by_template)
    assert not extra, f"granted but declared by no deployed module, or granted by a SAM template too: {sorted(extra)}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_GROUPS))
def test_each_function_holds_what_its_modules_need_and_no_other_managed_policy_action(
        tpl: dict[str, Any], logical_id: str) -> None:
    policies = managed_policies(tpl)
    own, sam = attached(tpl, logical_id)
    need = needed(logical_id)
    managed = set().union(set(), *(allowed(policies[p]) for p in own))
    template_grants = {t: SAM_TEMPLATE_ACTIONS[t] for t in sam - TABLE_TEMPLATES}
    grants = managed | set().union(set(), *template_grants.values())
    assert not {a for a in need if not covered(a, grants)}, f"{logical_id} lacks {sorted(need - grants)}"
    assert managed <= need, f"{logical_id} holds actions none of its modules calls: {sorted(managed - need)}"
    for name, actions in template_grants.items():
        assert any(covered(a, actions) for a in need), f"{logical_id}: {name} grants nothing its modules call"
        assert not any(covered(a, actions) for a in managed), f"{logical_id}: {name} and a managed policy overlap"


def test_every_managed_policy_is_attached_to_a_function(tpl: dict[str, Any]) -> None:
    holders = {p for logical_id in FUNCTION_GROUPS for p in attached(tpl, logical_id)[0]}
    assert holders == set(managed_policies(tpl))


def test_sam_policy_templates_grant_what_this_table_says() -> None:
    found = sorted((ROOT / ".tools" / "sam").glob("lib/python*/site-packages/samtranslator/policy_templates_data/"
                                                  "policy_templates.json"))
    if not found:
        pytest.fail("samtranslator's policy templates not found under .tools/sam: run `make tools`")
    templates = json.loads(found[0].read_text())["Templates"]
    for name, actions in SAM_TEMPLATE_ACTIONS.items():
        statements = _as_list(templates[name]["Definition"]["Statement"])
        assert {a for s in statements for a in _as_list(s["Action"])} == actions, name


def test_undeployed_modules_are_imported_by_no_product_module() -> None:
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value.split(":")[0])  # "costopt.x:Class" registry entries, importlib targets
        for module in UNDEPLOYED:
            if path.relative_to(PACKAGE_DIR.parent).with_suffix("").as_posix().replace("/", ".") != module:
                assert module not in names, f"{path.relative_to(ROOT)} uses {module}: grant its AWS_ACTIONS"


# Where AWS clients come from: a module using one of these, or boto3 / Powertools parameters directly, calls AWS
# (costopt.pricing.price_list calls the client regions.pricing_client() hands it: its scenario proves it).
CLIENT_FACTORIES = {"costopt.actuators.aws": "client", "costopt.connectors.retry": "boto_client",
                    "costopt.pricing.regions": "pricing_client"}


POWERTOOLS_PARAMETERS = "aws_lambda_powertools.utilities.parameters"  # get_secret & co build boto3 clients


def _gets_aws_clients(path: Path) -> list[str]:
    uses = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            uses += [a.name for a in node.names if a.name.split(".")[0] == "boto3"]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "boto3" or node.module.startswith(POWERTOOLS_PARAMETERS):
                uses.append(node.module)
            uses += [f"{node.module}.{a.name}" for a in node.names if CLIENT_FACTORIES.get(node.module) == a.name]
    return uses


def test_every_module_that_gets_an_aws_client_declares_its_actions() -> None:
    getting = set()
    for module in product_modules():
        path = PACKAGE_DIR.parent / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = PACKAGE_DIR.parent / module.replace(".", "/") / "__init__.py"
        uses = _gets_aws_clients(path)
        if uses and module not in CLIENT_FACTORIES:  # factories build clients; their users make the calls
            assert module in DECLARED, f"{module} gets AWS clients ({uses}) but declares no AWS_ACTIONS"
            getting.add(module)
    assert len(getting) >= 12  # the six actuators, five connectors, notify, the fan-out


# ---------------------------------------------------------------- every statement as narrow as IAM allows


def test_every_granted_action_is_in_the_service_authorization_reference(tpl: dict[str, Any]) -> None:
    for policy, statements in managed_policies(tpl).items():
        for stmt in statements:
            for action in _as_list(stmt["Action"]):
                prefix, name = action.split(":")
                assert name.lower() in sar()[prefix]["Actions"], f"{policy}: {action} is not an IAM action"
    for module, actions in DECLARED.items():
        for action in actions:
            prefix, name = action.split(":")
            assert name.lower() in sar()[prefix]["Actions"], f"{module}: {action} is not an IAM action"


def _sample_arns(resource: Any) -> list[str]:
    """ARNs a Resource entry allows, with the pseudo parameters filled in and each wildcard as one sample."""
    if isinstance(resource, dict) and "Fn::If" in resource:
        return [a for branch in resource["Fn::If"][1:] for a in _sample_arns(branch)]
    if isinstance(resource, list):
        return [a for r in resource for a in _sample_arns(r)]
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        text = text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", "123456789012")
        return [text.replace("*", "sample")]
    return []  # !Ref of a parameter or !GetAtt of a resource: checked where it matters


def _formats(resource_type: dict[str, Any]) -> list[str]:
    """The type's ARN formats as regular expressions (``${Region}`` etc. match one ARN field)."""
    return [re.sub(r"\$\{[^}]+\}", "[^:]*", f) for f in resource_type["ARNFormats"]]


def test_scoped_statements_name_resources_of_their_actions_types(tpl: dict[str, Any]) -> None:
    for policy, statements in managed_policies(tpl).items():
        for stmt in statements:
            if stmt["Resource"] == "*":
                continue
            for action in _as_list(stmt["Action"]):
                formats = [f for t in resource_types(action) for f in _formats(t)]
                assert formats, f"{policy}/{stmt['Sid']}: {action} has no resource type: it needs Resource '*'"
                for arn in _sample_arns(stmt["Resource"]):
                    assert any(re.fullmatch(f, arn) for f in formats), f"{policy}/{stmt['Sid']}: {arn} for {action}"


def test_tag_conditions_only_on_actions_whose_resources_carry_tags(tpl: dict[str, Any]) -> None:
    """A tag condition on an action whose resource has no aws:ResourceTag key never matches: the action
    would be denied in AWS, silently."""
    gated = 0
    for policy, statements in managed_policies(tpl).items():
        for stmt in statements:
            keys = _condition_keys(stmt.get("Condition"))
            if not any(k.startswith("aws:ResourceTag/") for k in keys):
                continue
            arns = _sample_arns(stmt["Resource"])
            assert arns, f"{policy}/{stmt['Sid']}: a tag condition needs the resources it gates named"
            for action in _as_list(stmt["Action"]):
                for arn in arns:  # the resource types of this action the statement names
                    types = [t for t in resource_types(action) if any(re.fullmatch(f, arn) for f in _formats(t))]
                    assert types and all("aws:ResourceTag/${TagKey}" in t.get("ConditionKeys", []) for t in types), (
                        f"{policy}/{stmt['Sid']}: {arn} ({action}) carries no aws:ResourceTag")
                gated += 1
    assert gated >= 8  # Lambda, ECS service, EC2 instance, EBS volume and DynamoDB table changes


def test_every_actuator_write_is_tag_gated_or_says_why_not(tpl: dict[str, Any]) -> None:
    ungated = set()
    for stmt in managed_policies(tpl)["ActuatorPolicy"]:
        if stmt["Effect"] != "Allow":
            continue
        condition = stmt.get("Condition")
        gated = (isinstance(condition, dict) and "Fn::If" in condition and condition["Fn::If"][0] == "TagGatedActuators"
                 and _condition_keys(condition) == {"aws:ResourceTag/costopt:managed"})
        for action in _as_list(stmt["Action"]):
            if not gated and not action.split(":")[1].startswith(READ_VERBS):
                ungated.add(action)
    assert ungated == set(UNGATED_WRITES)


def test_task_definition_deregistration_cannot_be_tag_gated() -> None:
    """ecs:DeregisterTaskDefinition has no resource type (so the template grants it on "*", unconditioned):
    if AWS adds one, this fails, and the statement should get the costopt:managed condition the revisions
    costopt registers already carry."""
    assert resource_types("ecs:DeregisterTaskDefinition") == []
    assert resource_types("ecs:DescribeTaskDefinition") == []


def test_pass_role_lists_the_roles_and_only_for_ecs_tasks(tpl: dict[str, Any]) -> None:
    statements = [s for s in managed_policies(tpl)["ActuatorPolicy"] if "iam:PassRole" in _as_list(s["Action"])]
    assert len(statements) == 1
    stmt = statements[0]
    assert stmt["Action"] == ["iam:PassRole"]
    # IAM User Guide, "Granting a user permissions to pass a role": PassRole cannot be limited by role tags
    assert stmt["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    cond, listed, default = stmt["Resource"]["Fn::If"]
    assert cond == "HasEcsTaskRoleArns" and listed == {"Ref": "EcsTaskRoleArns"}
    assert default == [{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/costopt-managed/*"}]
    param = tpl["Parameters"]["EcsTaskRoleArns"]
    assert param["Type"] == "CommaDelimitedList" and param["Default"] == ""
    assert tpl["Conditions"]["HasEcsTaskRoleArns"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "EcsTaskRoleArns"}]}, ""]}]}
    for s in managed_policies(tpl)["ActuatorPolicy"]:  # nothing else grants a role to anyone
        assert not any(a.startswith("iam:") for a in _as_list(s["Action"]) if a != "iam:PassRole"), s["Sid"]


def test_ecs_tags_only_the_revisions_it_registers(tpl: dict[str, Any]) -> None:
    statements = [s for s in managed_policies(tpl)["ActuatorPolicy"] if "ecs:TagResource" in _as_list(s["Action"])]
    assert len(statements) == 1 and statements[0]["Action"] == ["ecs:TagResource"]
    # without this condition costopt could tag any service costopt:managed=true and so gate itself in
    assert statements[0]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}


def test_costopt_never_changes_its_own_tables(tpl: dict[str, Any]) -> None:
    tables = {k for k, v in tpl["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    statements = managed_policies(tpl)["ActuatorPolicy"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1 and deny[0]["Action"] == ["dynamodb:UpdateTable"]
    assert {r["Fn::GetAtt"][0] for r in deny[0]["Resource"]} == tables
    assert all(r["Fn::GetAtt"][1] == "Arn" for r in deny[0]["Resource"])
    writes = {a for s in statements if s["Effect"] == "Allow" for a in _as_list(s["Action"])
              if a.startswith("dynamodb:") and not a.split(":")[1].startswith(READ_VERBS)}
    assert writes == set(deny[0]["Action"])  # every table change the actuators may make is denied on ours
    text = json.dumps([s for s in statements if s["Effect"] == "Allow"])
    assert not any(t in text for t in tables), "an Allow statement of ActuatorPolicy names a costopt table"
