"""AWS accounts costopt reads and changes: the account it runs in, and member accounts reached through a role.

``session(account_id)`` is the boto3 session for that account (None or the home account: the default
credentials). INTERIM: member accounts are not reached yet (issue 13 adds STS AssumeRole with an
ExternalId, cached credentials and AWS Organizations ListAccounts).
"""

from __future__ import annotations

from typing import Any


def session(account_id: str | None = None) -> Any:
    """The boto3 session whose credentials act in ``account_id`` (None: the account costopt runs in)."""
    import boto3

    if account_id is not None:
        raise NotImplementedError("member accounts: not yet")
    return boto3.Session()
