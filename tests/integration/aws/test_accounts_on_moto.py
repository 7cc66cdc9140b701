"""costopt.accounts on moto with local.moto_ext.sts installed (AssumeRole checks the role, its trust and the
ExternalId): reading and changing resources of a member account, an account whose role is missing or whose
ExternalId differs, the organization's accounts, CloudWatch metrics of two accounts in one fetch, and the
older part of a long backfill asked at CloudWatch's hourly period."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from costopt import accounts, clock
from costopt.actuators.registry import actuator_for
from costopt.config import settings
from costopt.connectors.cloudwatch import CloudWatchTelemetry
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from local.moto_ext import sts as sts_ext

HOME = "123456789012"  # moto's default account
REGION = "us-east-1"
EXTERNAL_ID = "ext-moto"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def member_role(account_id: str, *, trusted: str = HOME, external_id: str | None = EXTERNAL_ID,
                name: str = "costopt-member") -> None:
    """The member role as member-role.yaml makes it, created in ``account_id``'s IAM (moto's backend)."""
    from moto.iam.models import iam_backends

    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{trusted}:root"},
                                 "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    iam_backends[account_id]["aws"].create_role(
        role_name=name, assume_role_policy_document=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        path="/", permissions_boundary=None, description="", tags=[], max_session_duration=None)


def new_account() -> str:
    return str(uuid.uuid4().int)[:12].rjust(12, "1")


@pytest.fixture(autouse=True)
def member_setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    sts_ext.install()
    sts_ext.install()  # idempotent
    monkeypatch.setattr(settings, "member_external_id", EXTERNAL_ID)
    accounts.reset()
    yield
    accounts.reset()


def service(resources: list[dict[str, Any]]) -> Service:
    return Service.model_validate({
        "service_id": "multi", "version": 1, "created_at": NOW, "updated_at": NOW, "name": "Multi", "team": "t",
        "region": REGION, "resources": resources,
        "telemetry": {"source": "cloudwatch", "period_s": 300}, "billing": {"source": "cost_explorer"}})


def test_a_member_accounts_resources_are_read_through_its_role() -> None:
    member = new_account()
    member_role(member)
    assert accounts.home_account_id() == HOME
    session = accounts.session(member)
    assert session.client("sts", region_name=REGION).get_caller_identity()["Account"] == member
    vol = session.client("ec2", region_name=REGION).create_volume(AvailabilityZone="us-east-1a", Size=10)["VolumeId"]
    seen = {v["VolumeId"] for v in session.client("ec2", region_name=REGION).describe_volumes()["Volumes"]}
    home = {v["VolumeId"] for v in boto3.client("ec2", region_name=REGION).describe_volumes()["Volumes"]}
    assert vol in seen and vol not in home
    assert accounts.session(HOME).client("sts", region_name=REGION).get_caller_identity()["Account"] == HOME


@pytest.mark.parametrize("setup", ["no role", "other external id", "trusts another account", "other role name"])
def test_an_account_whose_role_cannot_be_assumed_is_unreachable_and_the_others_work(setup: str) -> None:
    bad, good = new_account(), new_account()
    member_role(good)
    if setup == "other external id":
        member_role(bad, external_id="someone-else")
    elif setup == "trusts another account":
        member_role(bad, trusted="999999999999")
    elif setup == "other role name":
        member_role(bad, name="not-costopt")
    with pytest.raises(accounts.AccountUnreachable) as caught:
        accounts.session(bad)
    err = caught.value
    assert err.code == "AccessDenied" and err.source == "sts" and not err.retryable and err.account_id == bad
    assert f"is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{bad}:role/costopt-member" \
        in err.detail
    assert accounts.session(good).client("sts", region_name=REGION).get_caller_identity()["Account"] == good


def test_no_external_id_given_where_the_role_requires_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    member = new_account()
    member_role(member)
    monkeypatch.setattr(settings, "member_external_id", None)
    with pytest.raises(accounts.AccountUnreachable):
        accounts.session(member)


def test_member_accounts_outside_then_inside_an_organization() -> None:
    orgs = boto3.client("organizations", region_name=REGION)
    try:
        orgs.describe_organization()
    except orgs.exceptions.AWSOrganizationsNotInUseException:
        assert accounts.member_accounts() == [HOME]
        orgs.create_organization(FeatureSet="ALL")
    made = [orgs.create_account(AccountName=f"a{i}", Email=f"a{i}@example.com")["CreateAccountStatus"]["AccountId"]
            for i in range(3)]
    accounts.reset()
    found = accounts.member_accounts()
    assert HOME in found and set(made) <= set(found) and found == sorted(found)


def _put(cw: Any, fn: str, values: list[tuple[datetime, float]]) -> None:
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": [{"Name": "FunctionName", "Value": fn}], "Timestamp": t,
         "Value": v} for t, v in values])


def test_cloudwatch_reads_two_accounts_in_one_fetch() -> None:
    member = new_account()
    member_role(member)
    m = timedelta(minutes=1)
    _put(boto3.client("cloudwatch", region_name=REGION), "checkout", [(NOW + m, 100), (NOW + 2 * m, 50)])
    _put(accounts.session(member).client("cloudwatch", region_name=REGION), "checkout", [(NOW + m, 7)])
    svc = service([
        {"resource_id": "home-fn", "kind": "lambda_function", "function_name": "checkout",
         "config": {"memory_mb": 1024}},
        {"resource_id": "member-fn", "kind": "lambda_function", "function_name": "checkout", "account_id": member,
         "config": {"memory_mb": 1024}},
    ])
    with clock.pinned(NOW + timedelta(hours=1)):
        series = CloudWatchTelemetry().fetch(svc, NOW, NOW + timedelta(minutes=15))
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series if s.metric == Metric.REQUESTS}
    assert got == {"home-fn": {NOW: 150.0}, "member-fn": {NOW: 7.0}}


def test_a_long_backfill_asks_hourly_data_for_the_part_older_than_63_days() -> None:
    fn = "backfill-" + uuid.uuid4().hex[:8]
    at = NOW
    old = datetime(2026, 8, 10, 10, 0, tzinfo=UTC)  # 84 days before `at`: only hourly data is kept
    recent = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    _put(boto3.client("cloudwatch", region_name=REGION), fn,
         [(old + timedelta(minutes=5), 10), (old + timedelta(minutes=35), 20),
          (recent + timedelta(minutes=5), 1), (recent + timedelta(minutes=35), 2)])
    svc = service([{"resource_id": "fn", "kind": "lambda_function", "function_name": fn,
                    "config": {"memory_mb": 1024}}])
    with clock.pinned(at):
        series = CloudWatchTelemetry().fetch(svc, at - timedelta(days=93), at)
    # the hour's two points are one hourly datapoint; the recent ones stay 5-minute datapoints
    got = sorted(((s.period_s, {p.t: p.v for p in s.points}) for s in series if s.metric == Metric.REQUESTS),
                 key=lambda x: -x[0])
    assert got == [(3600, {old: 30.0}),
                   (300, {recent + timedelta(minutes=5): 1.0, recent + timedelta(minutes=35): 2.0})]


def test_an_actuator_changes_a_volume_in_a_member_account() -> None:
    member = new_account()
    member_role(member)
    ec2 = accounts.session(member).client("ec2", region_name=REGION)
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=200, VolumeType="gp2",
                            TagSpecifications=[{"ResourceType": "volume",
                                                "Tags": [{"Key": "costopt:managed", "Value": "true"}]}])["VolumeId"]
    svc = service([{"resource_id": "data", "kind": "ebs_volume", "volume_id": vol, "account_id": member,
                    "config": {"volume_type": "gp2", "size_gb": 200}}])
    act = actuator_for("ebs_volume")
    res = svc.resource("data")
    before = act.read(svc, res)
    target = act.parse({"volume_type": "gp3", "size_gb": 200, "iops": 3000, "throughput_mbps": 125})
    act.apply(svc, res, before, target, change_id="c-member", now=NOW)
    live = ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]
    assert (live["VolumeType"], live["Iops"], live["Throughput"]) == ("gp3", 3000, 125)
