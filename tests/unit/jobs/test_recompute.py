"""The daily recompute: fan-out (SQS and in process), per-service failures reported alone,
and auto-apply under every policy condition."""


from __future__ import annotations

from datetime import UTC, datetime

import pytest

from costopt.domain.recommendation import Evidence, Recommendation, SlaClauseVerdict, SlaVerdict

NOW = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


def rec(**overrides) -> Recommendation:
    base = dict(
        service_id="svc-a", recommendation_id="r1", resource_id="api", kind="lambda_function",
        action="lambda_memory", current={"memory_mb": 3008}, proposed={"memory_mb": 1024},
        monthly_cost_current_usd=100.0, monthly_cost_proposed_usd=40.0, monthly_savings_usd=60.0, savings_pct=60.0,
        performance_risk=1, confidence=0.9, priority="P2", xor_group="api", rank=1, disruptive=False,
        auto_applicable=True,
        sla=SlaVerdict(compliant=True, clauses=[SlaClauseVerdict(clause="latency_p99_ms", limit=2000, predicted=900,
                                                                 margin_pct=55, ok=True)]),
        status="ACTIVE", etag="e1", evidence=Evidence(lookback_days=14), engine_version="t",
        created_at=NOW, updated_at=NOW,
    )
    base.update(overrides)
    return Recommendation.model_validate(base)


@pytest.mark.parametrize(
    ("overrides", "allowed"),
    [
        ({}, True),
        ({"performance_risk": 0}, True),
        ({"performance_risk": 2}, False),
        ({"disruptive": True}, False),
        ({"sla": SlaVerdict(compliant=False, clauses=[])}, False),
        ({"auto_applicable": False}, False),
        ({"rank": 2}, False),
        ({"action": "idle_stop"}, False),
        ({"status": "DISMISSED"}, False),
    ],
)
def test_auto_apply_conditions(overrides, allowed):
    from costopt.jobs.recompute import auto_applicable

    assert auto_applicable(rec(**overrides)) is allowed
