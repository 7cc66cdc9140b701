"""member-role.yaml (the StackSet each member account deploys) grants exactly what the member-side modules declare
(CloudWatch telemetry, the inventory discovery reads, the actuators that change resources there), trusts only
costopt's account with the ExternalId, and passes cfn-lint; template.yaml lets the functions that reach member
accounts assume that role."""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest

from local.template import load_template
from tests.aws_actions import declared_actions
from tests.contract.support import ROOT, template

MEMBER_ROLE = ROOT / "member-role.yaml"
# the modules whose AWS calls act in a member account (client(..., resource.account_id)); the generic actuator
# puts events on costopt's own bus, in costopt's account
MEMBER_SIDE = ("costopt.connectors.cloudwatch", "costopt.connectors.inventory", "costopt.connectors.inventory_describe")
HOME_SIDE_ACTUATORS = {"costopt.actuators.generic"}
REACH_MEMBERS = {"PullMetricsFunction", "ApplyFunction", "RollbackFunction", "ActuateFunction", "RecomputeFunction"}


def member_side_actions() -> set[str]:
    declared = declared_actions()
    missing = [m for m in MEMBER_SIDE if m not in declared]
    assert not missing, f"member-side modules declaring no AWS_ACTIONS (not merged yet?): {missing}"
    actuators = [m for m in declared if m.startswith("costopt.actuators.") and m not in HOME_SIDE_ACTUATORS]
    modules = [*MEMBER_SIDE, *actuators]
    return {a for m in modules for a in declared[m]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def member() -> dict[str, Any]:
    return copy.deepcopy(load_template(MEMBER_ROLE))


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for r in doc["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"
            for s in _as_list(r["Properties"]["PolicyDocument"]["Statement"])]


def test_the_member_role_grants_exactly_the_member_side_actions(member: dict[str, Any]) -> None:
    granted = {a for s in statements(member) if s["Effect"] == "Allow" for a in _as_list(s["Action"])}
    assert not any("*" in a for a in granted), "no wildcard actions"
    assert granted == member_side_actions()


def test_the_member_role_is_attached_and_trusts_costopt_with_the_external_id(member: dict[str, Any]) -> None:
    role = member["Resources"]["MemberRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "RoleName"}
    assert member["Parameters"]["RoleName"]["Default"] == "costopt-member"
    assert member["Parameters"]["ExternalId"]["NoEcho"] is True
    policies = {k for k, v in member["Resources"].items() if v["Type"] == "AWS::IAM::ManagedPolicy"}
    assert {p["Ref"] for p in role["ManagedPolicyArns"]} == policies
    (trust,) = _as_list(role["AssumeRolePolicyDocument"]["Statement"])
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${CostoptAccountId}:root"}}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}


def test_changes_in_a_member_account_are_tag_gated_as_in_costopts_account(member: dict[str, Any]) -> None:
    home = {s["Sid"]: s for s in _as_list(template()["Resources"]["ActuatorPolicy"]["Properties"]
                                            ["PolicyDocument"]["Statement"])}
    for st in statements(member):
        if st["Sid"] in home and st["Effect"] == "Allow":
            assert st.get("Condition") == home[st["Sid"]].get("Condition"), st["Sid"]
            assert st["Resource"] == home[st["Sid"]]["Resource"], st["Sid"]


def test_the_member_role_passes_cfn_lint() -> None:
    lint = ROOT / ".venv" / "bin" / "cfn-lint"
    done = subprocess.run([str(lint), str(MEMBER_ROLE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_functions_that_reach_member_accounts_may_assume_the_role() -> None:
    tpl = template()
    policy = tpl["Resources"]["MemberAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    grants = {a: s["Resource"] for s in policy for a in _as_list(s["Action"])}
    assert grants["sts:AssumeRole"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}]
    assert "organizations:ListAccounts" in grants
    assert set(grants) == set(declared_actions()["costopt.accounts"])
    holders = {name for name, r in tpl["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
               and {"Ref": "MemberAccessPolicy"} in r["Properties"].get("Policies", [])}
    assert holders >= REACH_MEMBERS
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert env["COSTOPT_MEMBER_ROLE_NAME"] == {"Ref": "MemberRoleName"}
    assert env["COSTOPT_MEMBER_EXTERNAL_ID"] == {"Ref": "MemberExternalId"}
    assert tpl["Parameters"]["MemberExternalId"]["NoEcho"] is True
