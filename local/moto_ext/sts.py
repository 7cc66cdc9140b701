"""moto's STS AssumeRole as AWS answers it: moto 5 hands out credentials for any role ARN, whether or not the
role exists or trusts the caller. After ``install()`` AssumeRole answers ``AccessDenied`` ("User: <caller> is
not authorized to perform: sts:AssumeRole on resource: <role>") unless

- the role exists in the target account's IAM (moto's ``iam_backends[account]``),
- an Allow statement of its trust policy with action sts:AssumeRole names the caller's account as principal
  (``arn:aws:iam::<account>:root``, the bare account id, an ARN inside that account, or ``"*"``), and
- that statement's ``StringEquals`` ``sts:ExternalId`` condition, if any, equals the ExternalId given.

Web-identity and SAML federation keep moto's behaviour. ``install()`` is idempotent and patches the backend class
in-process (``mock_aws`` and a ThreadedMotoServer in the same process alike).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

_installed: list[bool] = []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _principal_allows(principal: Any, caller_account: str) -> bool:
    if principal == "*":
        return True
    names = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    for name in names:
        name = str(name)
        if name == "*" or name == caller_account:
            return True
        parts = name.split(":")
        if name.startswith("arn:") and len(parts) >= 6 and parts[2] in ("iam", "sts") and parts[4] == caller_account:
            return True
    return False


def _condition_allows(condition: Any, external_id: str | None) -> bool:
    for operator, tests in (condition or {}).items():
        for key, wanted in (tests or {}).items():
            if key.lower() != "sts:externalid":
                continue  # other condition keys are not modelled
            if operator != "StringEquals" or external_id is None or external_id not in map(str, _as_list(wanted)):
                return False
    return True


def trust_allows(policy_document: str, caller_account: str, external_id: str | None) -> bool:
    """Whether a trust policy lets ``caller_account`` assume the role with ``external_id``."""
    try:
        doc = json.loads(unquote(policy_document)) if isinstance(policy_document, str) else policy_document
    except ValueError:
        return False
    allowed = False
    for st in _as_list(doc.get("Statement")):
        actions = [str(a).lower() for a in _as_list(st.get("Action"))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        matches = _principal_allows(st.get("Principal"), caller_account) and _condition_allows(
            st.get("Condition"), external_id)
        if matches and st.get("Effect") == "Deny":
            return False
        allowed = allowed or (matches and st.get("Effect") == "Allow")
    return allowed


def install() -> None:
    """Make ``STSBackend.assume_role`` check the role, its trust policy and the ExternalId (idempotent)."""
    if _installed:
        return
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends
    from moto.sts.models import STSBackend

    class AccessDenied(ServiceException):
        code = "AccessDenied"

    original = STSBackend.assume_role

    def assume_role(self: Any, region_name: str, role_session_name: str, role_arn: str, policy: str,
                    duration: int, external_id: str) -> Any:
        parts = str(role_arn).split(":")
        target = parts[4] if len(parts) >= 6 else ""
        caller = f"arn:{self.partition}:iam::{self.account_id}:root"
        denied = AccessDenied(f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
        try:
            role = iam_backends[target][self.partition].get_role_by_arn(role_arn)
        except Exception as exc:  # not there (or not an ARN): AWS answers AccessDenied, never "not found"
            raise denied from exc
        if not trust_allows(role.assume_role_policy_document, self.account_id, external_id):
            raise denied
        return original(self, region_name=region_name, role_session_name=role_session_name, role_arn=role_arn,
                        policy=policy, duration=duration, external_id=external_id)

    def web_identity(self: Any, **kwargs: Any) -> Any:
        return original(self, **kwargs)

    def saml(self: Any, **kwargs: Any) -> Any:
        kwargs.pop("principal_arn", None)
        return original(self, **kwargs)

    STSBackend.assume_role = assume_role  # type: ignore[method-assign]
    STSBackend.assume_role_with_web_identity = web_identity  # type: ignore[method-assign]
    STSBackend.assume_role_with_saml = saml  # type: ignore[method-assign]
    _installed.append(True)
