"""costopt.accounts on a fake STS and Organizations: one AssumeRole per account while its credentials last, again
shortly before they expire, the role ARN and ExternalId asked for, failures as AccountUnreachable, and the
organization's ACTIVE accounts (paged) or the home account alone outside an organization."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from costopt import accounts
from costopt.config import settings
from costopt.errors import ConnectorError

HOME, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class FakeSts:
    def __init__(self, lifetime: timedelta = timedelta(hours=1), fail: dict[str, str] | None = None) -> None:
        self.now = T0
        self.lifetime = lifetime
        self.fail = fail or {}
        self.calls: list[dict[str, Any]] = []
        self.identity_calls = 0

    def get_caller_identity(self) -> dict[str, str]:
        self.identity_calls += 1
        return {"Account": HOME, "Arn": f"arn:aws-cn:iam::{HOME}:user/costopt"}

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        account = params["RoleArn"].split(":")[4]
        if account in self.fail:
            raise ClientError({"Error": {"Code": self.fail[account], "Message": "no"}}, "AssumeRole")
        n = len(self.calls)
        return {"Credentials": {"AccessKeyId": f"ASIA{n}", "SecretAccessKey": f"secret{n}",
                                "SessionToken": f"token{n}", "Expiration": self.now + self.lifetime}}


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSts]:
    fake = FakeSts()
    accounts.reset()
    accounts._sts.append(fake)
    monkeypatch.setattr(accounts, "credential_clock", lambda: fake.now)
    monkeypatch.setattr(settings, "member_external_id", "ext-42")
    yield fake
    accounts.reset()


def test_home_account_is_asked_once_and_is_the_default_session(sts: FakeSts) -> None:
    assert accounts.home_account_id() == HOME
    assert accounts.home_account_id() == HOME
    assert sts.identity_calls == 1
    accounts.session(None)
    accounts.session(HOME)
    assert sts.calls == []  # the home account never assumes a role


def test_member_session_assumes_the_role_once_per_account(sts: FakeSts) -> None:
    first = accounts.session(MEMBER)
    assert accounts.session(MEMBER) is first
    creds = first.get_credentials().get_frozen_credentials()
    assert (creds.access_key, creds.secret_key, creds.token) == ("ASIA1", "secret1", "token1")
    assert sts.calls == [{"RoleArn": f"arn:aws-cn:iam::{MEMBER}:role/costopt-member", "RoleSessionName": "costopt",
                          "DurationSeconds": 3600, "ExternalId": "ext-42"}]
    accounts.session(OTHER)
    assert [c["RoleArn"].split(":")[4] for c in sts.calls] == [MEMBER, OTHER]


def test_credentials_are_cached_for_their_lifetime_and_refreshed_before_expiry(sts: FakeSts) -> None:
    creds = accounts.session(MEMBER).get_credentials()
    sts.now = T0 + timedelta(minutes=40)  # 20 minutes left: still good
    assert creds.get_frozen_credentials().access_key == "ASIA1"
    assert len(sts.calls) == 1
    sts.now = T0 + timedelta(minutes=50)  # 10 minutes left: inside botocore's refresh window
    assert creds.get_frozen_credentials().access_key == "ASIA2"
    assert len(sts.calls) == 2
    assert accounts.session(MEMBER).get_credentials() is creds


def test_no_external_id_is_sent_when_none_is_configured(sts: FakeSts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "member_external_id", "")
    accounts.session(MEMBER)
    assert "ExternalId" not in sts.calls[0]


def test_concurrent_first_use_assumes_once(sts: FakeSts) -> None:
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(accounts.session(MEMBER))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sts.calls) == 1 and len({id(s) for s in got}) == 1


@pytest.mark.parametrize(("code", "retryable"), [("AccessDenied", False), ("Throttling", True)])
def test_a_role_that_cannot_be_assumed_is_account_unreachable(sts: FakeSts, code: str, retryable: bool) -> None:
    sts.fail = {MEMBER: code}
    with pytest.raises(accounts.AccountUnreachable) as caught:
        accounts.session(MEMBER)
    err = caught.value
    assert isinstance(err, ConnectorError) and err.source == "sts" and err.retryable is retryable
    assert err.account_id == MEMBER and err.code == code
    assert MEMBER in err.detail and code in err.detail and "costopt-member" in err.detail
    assert err.status == 503
    assert accounts.session(OTHER) is not None  # another account is unaffected
    sts.fail = {}
    assert accounts.session(MEMBER) is not None  # a failure is not cached


class FakeOrgs:
    def __init__(self, pages: list[list[dict[str, str]]] | None = None, code: str | None = None) -> None:
        self.pages = pages or []
        self.code = code

    def get_paginator(self, name: str) -> FakeOrgs:
        assert name == "list_accounts"
        return self

    def paginate(self) -> Iterator[dict[str, Any]]:
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "ListAccounts")
        for page in self.pages:
            yield {"Accounts": page}


def test_member_accounts_are_the_active_ones_of_every_page(sts: FakeSts) -> None:
    accounts._orgs.append(FakeOrgs([[{"Id": OTHER, "Status": "ACTIVE"}, {"Id": "444444444444", "Status": "SUSPENDED"}],
                                    [{"Id": HOME, "Status": "ACTIVE"}, {"Id": MEMBER, "Status": "ACTIVE"}]]))
    assert accounts.member_accounts() == [HOME, MEMBER, OTHER]


@pytest.mark.parametrize("code", ["AWSOrganizationsNotInUseException", "AccessDeniedException"])
def test_outside_an_organization_only_the_home_account(sts: FakeSts, code: str) -> None:
    accounts._orgs.append(FakeOrgs(code=code))
    assert accounts.member_accounts() == [HOME]


def test_other_organizations_failures_are_connector_errors(sts: FakeSts) -> None:
    accounts._orgs.append(FakeOrgs(code="TooManyRequestsException"))
    with pytest.raises(ConnectorError) as caught:
        accounts.member_accounts()
    assert caught.value.source == "organizations" and caught.value.retryable
