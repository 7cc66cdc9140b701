"""FOCUS 1.x CSV import from the sample export in tests/fixtures/focus (local path and s3://): the tests that
need AWS, on moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/connectors/test_focus.py``."""


from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from costopt.connectors.focus import FocusCsvBilling
from costopt.errors import ConnectorError
from tests.unit.connectors.test_focus import (  # shared with the tests that need no AWS
    D20,
    D22,
    EXPECTED,
    by_resource,
    checkout,
)

SAMPLE = Path(__file__).parents[3] / "fixtures" / "focus" / "checkout-2026-11.csv"








def test_focus_from_s3() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="focus-exports")
    s3.put_object(Bucket="focus-exports", Key="2026/11/focus.csv", Body=SAMPLE.read_bytes())
    series = FocusCsvBilling().fetch_costs(checkout("s3://focus-exports/2026/11/focus.csv"), D20, D22)
    assert by_resource(series) == EXPECTED


def test_focus_errors(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as missing:
        FocusCsvBilling().fetch_costs(checkout(str(tmp_path / "nope.csv")), D20, D22)
    assert missing.value.retryable is False
    bad = tmp_path / "bad.csv"
    bad.write_text("ResourceId,BilledCost\nx,1\n")
    with pytest.raises(ConnectorError, match="missing columns EffectiveCost"):
        FocusCsvBilling().fetch_costs(checkout(str(bad)), D20, D22)
    with pytest.raises(ConnectorError) as no_key:
        FocusCsvBilling().fetch_costs(checkout("s3://focus-exports/absent.csv"), D20, D22)
    assert "NoSuchKey" in no_key.value.detail or "NoSuchBucket" in no_key.value.detail
