"""Paging of store lists: one page per call, continued with an opaque, signed ``next_token``.

``PageToken`` wraps a DynamoDB ``LastEvaluatedKey`` in an HMAC-signed token (the secret is
``settings.pagination_secret``); ``scope`` names the list a token belongs to (e.g.
``"changes:checkout"``) and is part of the signature, so a token of one list handed to another is a
400 (``BadRequest``), never a DynamoDB error. ``page(query, scope)`` reads one page of a PynamoDB
result iterator and the token that continues it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

from costopt.config import settings
from costopt.errors import BadRequest

D = TypeVar("D")


class PageToken:
    """Opaque, HMAC-signed pagination token around a DynamoDB LastEvaluatedKey."""

    MAX_ATTRIBUTES = 4  # table hash + range, index hash + range

    @staticmethod
    def _sign(payload: bytes, scope: str = "") -> str:
        message = payload if not scope else scope.encode() + b"\x00" + payload
        mac = hmac.new(settings.pagination_secret.encode(), message, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    @classmethod
    def encode(cls, key: dict[str, Any] | None, scope: str = "") -> str | None:
        if not key:
            return None
        payload = json.dumps(key, separators=(",", ":"), sort_keys=True, default=str).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{cls._sign(payload, scope)}"

    @classmethod
    def _is_start_key(cls, key: Any) -> bool:
        """A LastEvaluatedKey: 1-4 attributes, each a single S/N/B string value."""
        if not isinstance(key, dict) or not 1 <= len(key) <= cls.MAX_ATTRIBUTES:
            return False
        for name, value in key.items():
            if not (isinstance(name, str) and name and isinstance(value, dict) and len(value) == 1):
                return False
            (kind, raw), = value.items()
            if kind not in ("S", "N", "B") or not isinstance(raw, str) or not raw:
                return False
            if kind == "N":
                try:
                    if not math.isfinite(float(raw)):
                        return False
                except ValueError:
                    return False
        return True

    @classmethod
    def decode(cls, token: str | None, scope: str = "") -> dict[str, Any] | None:
        if not token:
            return None
        try:
            body, sig = token.split(".", 1)
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if not hmac.compare_digest(sig.encode(), cls._sign(payload, scope).encode()):
                raise ValueError("bad signature")
            key = json.loads(payload)
            if not cls._is_start_key(key):
                raise ValueError("not a start key")
            return dict(key)
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise BadRequest("next_token is not a token this API issued for this list",
                             errors=[{"loc": ["query", "next_token"], "msg": "invalid token"}]) from exc


def page(run: Callable[[dict[str, Any] | None], Any], scope: str, next_token: str | None,
         convert: Callable[[Any], D], *, limit: int | None = None) -> tuple[list[D], str | None]:
    """One page: ``run(start_key)`` is the Query from where ``next_token`` left off; the items are
    converted with ``convert``. With ``limit``, a page shorter than it is the last (no token)."""
    query = run(PageToken.decode(next_token, scope))
    items = [convert(i) for i in query]
    if limit is not None and len(items) < limit:
        return items, None
    return items, PageToken.encode(query.last_evaluated_key, scope)
