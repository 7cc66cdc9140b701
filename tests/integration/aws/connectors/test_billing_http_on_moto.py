"""HTTP billing API against a real loopback server; the API key comes from (moto) Secrets Manager: the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/connectors/test_billing_http.py``."""
# ruff: noqa: F811  (pytest fixtures imported from the unit half are parameters here)


from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from costopt.connectors.base import SERVICE_TOTAL
from costopt.connectors.billing_http import HttpBilling
from costopt.errors import ConnectorError
from tests.unit.connectors.test_billing_http import (  # shared with the tests that need no AWS  # noqa: F401  (fixtures of the tests here)
    D20,
    D21,
    Api,
    api,
    secret,
    svc,
)

D22 = datetime(2026, 11, 22, tzinfo=UTC)










def test_pages_items_and_bearer_key(api: tuple[Api, str], secret: str) -> None:
    state, url = api
    state.pages = [
        (200, {"items": [{"date": "2026-11-20", "resource_id": "arn:aws:lambda:us-east-1:123456789012:function:"
                                                                "checkout-api", "cost_usd": 3.5},
                         {"date": "2026-11-20", "resource_id": None, "cost_usd": 0.25}],
               "next_token": "abc"}),
        (200, {"items": [{"date": "2026-11-20", "resource_id": "checkout-api", "cost_usd": 0.5},
                         {"date": "2026-11-21", "resource_id": "api", "cost_usd": 4.0}], "next_token": None}),
    ]
    series = HttpBilling(base_url=url).fetch_costs(svc(), D20, D22)
    got = {s.resource_id: {p.t: p.v for p in s.points} for s in series}
    assert got == {"api": {D20: 4.0, D21: 4.0}, SERVICE_TOTAL: {D20: 0.25}}
    assert state.calls[0][0] == {"service_id": "checkout", "start": "2026-11-20", "end": "2026-11-22"}
    assert state.calls[1][0]["next_token"] == "abc"
    assert {auth for _, auth in state.calls} == {f"Bearer {secret}"}


def test_4xx_not_retried_and_the_key_never_leaks(api: tuple[Api, str], secret: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    state, url = api
    state.pages = [(401, {"message": "bad key"})]
    caplog.set_level(logging.DEBUG)  # botocore's own DEBUG wire logs are botocore's; ours and httpx's are checked
    with pytest.raises(ConnectorError) as err:
        HttpBilling(base_url=url).fetch_costs(svc(), D20, D22)
    assert err.value.retryable is False and "HTTP 401" in err.value.detail and len(state.calls) == 1
    ours = [r.getMessage() + str(r.__dict__) for r in caplog.records if not r.name.startswith("botocore")]
    assert ours and not any(secret in line for line in ours)
    assert secret not in str(err.value) and secret not in repr(err.value.extra)


def test_5xx_retried_then_ok_and_bad_items_rejected(api: tuple[Api, str], secret: str) -> None:
    state, url = api
    state.pages = [(503, {}), (200, {"items": [{"date": "2026-11-20", "cost_usd": 1.0}]})]
    series = HttpBilling(base_url=url).fetch_costs(svc(), D20, D21)
    assert [(s.resource_id, s.points[0].v) for s in series] == [(SERVICE_TOTAL, 1.0)]
    assert len(state.calls) == 2
    state.pages = [(200, {"items": [{"date": "yesterday", "cost_usd": 1.0}]})]
    with pytest.raises(ConnectorError, match=r"items\[0\]"):
        HttpBilling(base_url=url).fetch_costs(svc(), D20, D21)
