"""HTTP billing API (``BILLING_API_URL``) over one reused httpx client.

The contract costopt expects from the billing API::

    GET {BILLING_API_URL}/costs?service_id=<id>&start=YYYY-MM-DD&end=YYYY-MM-DD[&next_token=...]
    Authorization: Bearer <key>
    200 {"items": [{"date": "2026-11-20", "resource_id": "arn:aws:...|id|null", "cost_usd": 12.34}, ...],
         "next_token": "..." | null}

``end`` is exclusive; ``date`` is a UTC day; ``resource_id`` is matched to the service's resources
by ARN/id suffix (null or unknown → the service's unattributed cost, ``SERVICE_TOTAL``). Several
items for the same (day, resource) add up. The key is the Secrets Manager secret
``BILLING_API_KEY_SECRET`` (a plain string, or JSON ``{"api_key": "..."}``) read through Powertools
Parameters with a 5-minute cache; it is never logged nor put into an error message.
5xx/429/timeouts are retried (bounded, jittered); other 4xx are not.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from costopt.config import settings
from costopt.connectors.base import SERVICE_TOTAL, BillingSource
from costopt.connectors.focus import DailyCosts, complete_days, daily_series, resource_matcher
from costopt.connectors.retry import HttpConnector, call_with_retry, http_status_error
from costopt.domain.observation import Series
from costopt.errors import ConnectorError

if TYPE_CHECKING:

    from costopt.domain.service import Service

SOURCE = "billing_http"
# The IAM actions this module's AWS calls need (template.yaml grants exactly these: tests/contract/test_iam.py).
AWS_ACTIONS: frozenset[str] = frozenset({"secretsmanager:GetSecretValue"})  # the API key (Powertools get_secret)
SECRET_MAX_AGE_S = 300
MAX_PAGES = 1000


def api_key() -> str | None:
    """The billing API key from Secrets Manager (cached 5 minutes), or None when no secret is set."""
    name = settings.billing_api_key_secret
    if not name:
        return None
    from aws_lambda_powertools.utilities.parameters import get_secret
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw = get_secret(name, max_age=SECRET_MAX_AGE_S)
    except GetParameterError as exc:
        # the message names the secret, never its value
        raise ConnectorError(SOURCE, f"cannot read the API key secret {name!r}", retryable=True) from exc
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(doc, dict) and isinstance(doc.get("api_key"), str):
        return str(doc["api_key"])
    return text.strip()


class HttpBilling(HttpConnector, BillingSource):
    """BillingSource over the HTTP billing API described above."""

    name: ClassVar[str] = SOURCE

    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        base = (self._base_url or settings.billing_api_url or "").rstrip("/")
        if not base:
            raise ConnectorError(SOURCE, "BILLING_API_URL is not set", retryable=False)
        days = complete_days(start, end)
        if not days:
            return []
        key = api_key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        params = {"service_id": service.service_id, "start": days[0].isoformat(),
                  "end": (days[-1] + timedelta(days=1)).isoformat()}
        match = resource_matcher(service)
        costs: DailyCosts = defaultdict(float)
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = self._get(f"{base}/costs", dict(params, next_token=token) if token else params, headers)
            for i, item in enumerate(page.get("items") or []):
                try:
                    d = date.fromisoformat(str(item["date"])[:10])
                    usd = float(item["cost_usd"])
                except (KeyError, TypeError, ValueError):
                    raise ConnectorError(SOURCE, f"items[{i}] lacks a valid date or cost_usd",
                                         retryable=False) from None
                rid = match(str(item.get("resource_id") or "")) or SERVICE_TOTAL
                costs[(rid, d)] += usd
            token = page.get("next_token")
            if not token:
                break
        return daily_series(dict(costs), days)

    def _get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        import httpx

        def once() -> dict[str, Any]:
            try:
                resp = self.client.get(url, params=params, headers=headers)
            except httpx.TimeoutException as exc:
                raise ConnectorError(SOURCE, f"timed out: {type(exc).__name__}", retryable=True) from exc
            except httpx.TransportError as exc:
                raise ConnectorError(SOURCE, f"connection failed: {type(exc).__name__}", retryable=True) from exc
            if resp.status_code >= 400:
                raise http_status_error(SOURCE, resp.status_code, resp.reason_phrase)
            try:
                body = resp.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise ConnectorError(SOURCE, "response is not a JSON object", retryable=False)
            return body

        return call_with_retry(SOURCE, once)
