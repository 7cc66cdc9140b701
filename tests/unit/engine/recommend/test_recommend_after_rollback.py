"""An option that broke the SLA in production and was rolled back is not offered again."""

from __future__ import annotations

from test_recommend_engine import NOW, RESOURCES, by, make_service, run


def test_options_as_aggressive_as_a_rolled_back_one_are_rejected():
    service = make_service({"fn": RESOURCES["fn"]}, sla={"latency_p99_ms": 2000})
    first = run(service, days=3, strategy="cost")
    top = by(first, "fn", "lambda_memory")[0]
    burned = top.model_copy(update={
        "status": "ROLLED_BACK", "updated_at": NOW,
        "status_reason": "auto-rollback: latency_p99_ms observed 4500 > limit 2000"})

    again = run(service, days=3, strategy="cost", rolled_back=[burned])
    blocked = [r for r in again.rejected if r.failed_clauses == ["rolled_back"]]
    assert blocked, "the rolled-back size is rejected"
    assert all(r.monthly_cost_proposed_usd <= top.monthly_cost_proposed_usd for r in blocked)
    assert burned.recommendation_id in blocked[0].reason and "4500" in blocked[0].reason
    for rec in by(again, "fn", "lambda_memory"):
        assert rec.monthly_cost_proposed_usd > top.monthly_cost_proposed_usd
        assert rec.proposed["memory_mb"] > top.proposed["memory_mb"]
    # other actions on the resource (arm64) are not blocked by a memory rollback
    assert [r.action for r in by(first, "fn", "lambda_arm64")] == [r.action for r in by(again, "fn", "lambda_arm64")]


def test_a_rollback_from_another_starting_config_does_not_block():
    service = make_service({"fn": RESOURCES["fn"]}, sla={"latency_p99_ms": 2000})
    first = run(service, days=3, strategy="cost")
    top = by(first, "fn", "lambda_memory")[0]
    other_start = top.model_copy(update={"status": "ROLLED_BACK", "current": {**top.current, "memory_mb": 4096}})
    again = run(service, days=3, strategy="cost", rolled_back=[other_start])
    assert not [r for r in again.rejected if r.failed_clauses == ["rolled_back"]]
    assert by(again, "fn", "lambda_memory")[0].proposed == top.proposed
