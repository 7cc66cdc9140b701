"""AWS accounts costopt reads and changes: the account it runs in, and member accounts reached through a role.

- ``session(account_id)``: the boto3 session acting in that account. None or the home account: the default
  credentials. A member account: credentials from STS AssumeRole of
  ``arn:{partition}:iam::{account}:role/{settings.member_role_name}`` (RoleSessionName "costopt", ExternalId
  ``settings.member_external_id`` when set, 1 hour), as botocore ``RefreshableCredentials`` that assume the role
  again shortly before they expire; one session per account, built once (thread-safe).
- ``home_account_id()``: STS GetCallerIdentity, asked once.
- ``client(service, region, account_id, purpose=, config=)``: a boto3 client acting in that account, made once
  per (purpose, service, region, account) and reused (connectors and actuators each pass their Config).
- ``member_accounts()``: the ACTIVE accounts of the AWS Organization (ListAccounts, paged); outside an
  organization, or without the right to list it, only the home account.

A role that cannot be assumed raises ``AccountUnreachable`` (a ConnectorError of source "sts") naming the account
and AWS's error code; only throttling is worth retrying.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from costopt.config import settings
from costopt.errors import ConnectorError

# STS GetCallerIdentity (home_account_id) needs no permission (STS API reference), so it is not listed.
AWS_ACTIONS: frozenset[str] = frozenset({"sts:AssumeRole", "organizations:ListAccounts"})
SOURCE = "sts"
ROLE_SESSION_NAME = "costopt"
DURATION_S = 3600
# botocore's RefreshableCredentials assume the role again when less than 15 minutes are left (advisory window)
_THROTTLING = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})
_NOT_IN_ORG = frozenset({"AWSOrganizationsNotInUseException", "AccessDeniedException", "AccessDenied"})

_lock = threading.RLock()  # home_account_id() -> _sts_client() both take it
_sessions: dict[str, Any] = {}
# (purpose, service, region, member account or None) -> (the member session it was made from or None; client)
_clients: dict[tuple[str, str, str, str | None], tuple[Any, Any]] = {}
_sts: list[Any] = []
_home: list[str] = []
_partition: list[str] = []
_orgs: list[Any] = []
# The wall clock credential expiry is compared with (None: botocore's own); tests replace it. Not business time.
credential_clock: Callable[[], datetime] | None = None


class AccountUnreachable(ConnectorError):
    """costopt's member role in ``account_id`` cannot be assumed (``code``: AWS's error code)."""

    def __init__(self, account_id: str, code: str, message: str = "") -> None:
        super().__init__(SOURCE, f"account {account_id}: cannot assume role {settings.member_role_name}: "
                                 f"{code}: {message}".rstrip(": "), retryable=code in _THROTTLING)
        self.account_id = account_id
        self.code = code
        self.extra["account_id"] = account_id
        self.extra["aws_error"] = code


def _sts_client() -> Any:
    if not _sts:
        with _lock:
            if not _sts:
                import boto3

                _sts.append(boto3.client("sts", region_name=settings.aws_region))
    return _sts[0]


def _identity() -> None:
    ident = _sts_client().get_caller_identity()
    _partition.append(str(ident["Arn"]).split(":")[1] if str(ident.get("Arn", "")).startswith("arn:") else "aws")
    _home.append(str(ident["Account"]))


def home_account_id() -> str:
    """The account costopt runs in (STS GetCallerIdentity, asked once)."""
    if not _home:
        with _lock:
            if not _home:
                _identity()
    return _home[0]


def partition() -> str:
    home_account_id()
    return _partition[0]


def role_arn(account_id: str) -> str:
    return f"arn:{partition()}:iam::{account_id}:role/{settings.member_role_name}"


def assume(account_id: str) -> dict[str, Any]:
    """Fresh credentials for ``account_id`` in botocore's refresh format (access_key, ..., expiry_time)."""
    from botocore.exceptions import ClientError

    params: dict[str, Any] = {"RoleArn": role_arn(account_id), "RoleSessionName": ROLE_SESSION_NAME,
                              "DurationSeconds": DURATION_S}
    if settings.member_external_id:
        params["ExternalId"] = settings.member_external_id
    try:
        creds = _sts_client().assume_role(**params)["Credentials"]
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise AccountUnreachable(account_id, str(err.get("Code", "Unknown")), str(err.get("Message", ""))) from exc
    expiry = creds["Expiration"]
    if isinstance(expiry, datetime):
        expiry = (expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)).isoformat()
    return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"], "expiry_time": str(expiry)}


def _member_session(account_id: str) -> Any:
    import boto3
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    first = assume(account_id)
    kwargs: dict[str, Any] = {} if credential_clock is None else {"time_fetcher": credential_clock}
    credentials = RefreshableCredentials(
        first["access_key"], first["secret_key"], first["token"], _parse(first["expiry_time"]),
        refresh_using=lambda: assume(account_id), method="sts-assume-role", **kwargs)
    core = botocore.session.get_session()
    core._credentials = credentials  # what botocore's own assume-role provider does with its result
    return boto3.Session(botocore_session=core, region_name=settings.aws_region)


def _parse(raw: str) -> datetime:
    from botocore.utils import parse_timestamp

    parsed: datetime = parse_timestamp(raw)
    return parsed


def session(account_id: str | None = None) -> Any:
    """The boto3 session whose credentials act in ``account_id`` (None or the home account: the default one)."""
    import boto3

    if account_id is None or account_id == home_account_id():
        return boto3.Session()
    found = _sessions.get(account_id)
    if found is None:
        with _lock:
            found = _sessions.get(account_id)
            if found is None:
                found = _sessions[account_id] = _member_session(account_id)
    return found


def client(service: str, region: str, account_id: str | None, *, purpose: str,
           config: Callable[[], Any]) -> Any:
    """A boto3 client of ``service`` in ``region`` acting in ``account_id``, made once per (purpose, service,
    region, account) with ``config()`` (a botocore Config: each purpose has its timeouts and retries) and
    reused; a member account's client is made again when its session is (after ``reset()``)."""
    member = account_id is not None and account_id != home_account_id()
    owner = session(account_id) if member else None
    key = (purpose, service, region, account_id if member else None)
    found = _clients.get(key)
    if found is not None and found[0] is owner:
        return found[1]
    with _lock:
        found = _clients.get(key)
        if found is None or found[0] is not owner:
            import boto3

            make = owner.client if owner is not None else boto3.client
            found = _clients[key] = (owner, make(service, region_name=region, config=config()))
    return found[1]


def member_accounts() -> list[str]:
    """The ACTIVE accounts of the organization (sorted), or ``[home_account_id()]`` outside one."""
    from botocore.exceptions import ClientError

    if not _orgs:
        with _lock:
            if not _orgs:
                import boto3

                _orgs.append(boto3.client("organizations", region_name=settings.aws_region))
    out: list[str] = []
    try:
        for page in _orgs[0].get_paginator("list_accounts").paginate():
            out.extend(str(a["Id"]) for a in page.get("Accounts", []) if a.get("Status") == "ACTIVE")
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_IN_ORG:
            return [home_account_id()]
        message = exc.response.get("Error", {}).get("Message", "")
        raise ConnectorError("organizations", f"ListAccounts: {code}: {message}",
                             retryable=code in _THROTTLING) from exc
    return sorted(out) or [home_account_id()]


def reset() -> None:
    """Forget cached identities and sessions (tests)."""
    with _lock:
        _sessions.clear()
        _sts.clear()
        _home.clear()
        _partition.clear()
        _orgs.clear()
