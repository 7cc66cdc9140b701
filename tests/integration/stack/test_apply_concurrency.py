"""Concurrent applies and rollbacks of one recommendation against DynamoDB Local (the claim is one
TransactWriteItems: recommendation ACTIVE -> CLAIMED on its etag + the service's change lock + the
Change record), with the Lambda function in the moto server sandbox."""

from __future__ import annotations

import threading
from collections import Counter

from local import sandbox

THREADS = 20


def _setup(endpoint):
    from costopt import clock
    from costopt.domain.recommendation import Evidence, Recommendation, SlaClauseVerdict, SlaVerdict
    from costopt.domain.service import ServicePut
    from costopt.store.base import new_etag, time_ordered_id
    from costopt.store.recommendations import RecommendationRepository
    from costopt.store.services import ServiceRepository

    resource = {"resource_id": "api", "kind": "lambda_function", "function_name": "race-fn",
                "config": {"memory_mb": 1024}}
    sandbox.create_lambda(endpoint, resource, resource["config"])
    ServiceRepository().put("race", ServicePut.model_validate(
        {"name": "Race", "team": "payments", "resources": [resource], "sla": {"latency_p99_ms": 300},
         "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}))
    now = clock.now()
    rec = Recommendation(
        service_id="race", recommendation_id=time_ordered_id("r"), resource_id="api", kind="lambda_function",
        action="lambda_memory", current={"memory_mb": 1024}, proposed={"memory_mb": 512},
        monthly_cost_current_usd=22.0, monthly_cost_proposed_usd=12.0, monthly_savings_usd=10.0,
        savings_pct=45.45, performance_risk=1, confidence=0.9, priority="P2", xor_group="api:memory",
        sla=SlaVerdict(compliant=True, clauses=[SlaClauseVerdict(clause="latency_p99_ms", limit=300, predicted=210,
                                                                 margin_pct=30, ok=True)]),
        etag=new_etag(), evidence=Evidence(lookback_days=14, hours_covered=300), engine_version="test",
        created_at=now, updated_at=now)
    RecommendationRepository().put(rec)
    return rec


def _race(work):
    """Run ``work(i)`` in THREADS threads released together; returns the outcomes."""
    from costopt.errors import CostoptError

    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def run(i):
        barrier.wait()
        try:
            outcomes[i] = work(i)
        except CostoptError as exc:
            outcomes[i] = exc
        except Exception as exc:  # an unexpected error must fail the test, not vanish in a thread
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_twenty_concurrent_applies_make_exactly_one_change(aws, tables):
    from costopt.domain.change import ApplyRequest, ChangeResult
    from costopt.errors import Conflict
    from costopt.jobs.apply import apply_recommendation
    from costopt.store.changes import ChangeRepository
    from costopt.store.recommendations import RecommendationRepository

    rec = _setup(aws)
    request = ApplyRequest(service_id="race", recommendation_id=rec.recommendation_id, etag=rec.etag)
    outcomes = _race(lambda i: apply_recommendation(request, actor=f"caller-{i}", idempotency_key=f"key-{i}"))

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"ChangeResult": 1, "Conflict": THREADS - 1}, outcomes
    assert all(o.status == 409 for o in outcomes if isinstance(o, Conflict))
    [winner] = [o for o in outcomes if isinstance(o, ChangeResult)]
    changes, _ = ChangeRepository().history("race")
    assert [(c.change_id, c.status) for c in changes] == [(winner.change_id, "SUCCEEDED")]
    stored = RecommendationRepository().get("race", rec.recommendation_id)
    assert stored.status == "SUCCEEDED" and stored.applied_change_id == winner.change_id
    lam = sandbox.client("lambda", aws).get_function_configuration(FunctionName="race-fn")
    assert lam["MemorySize"] == 512


def test_twenty_concurrent_rollbacks_restore_once(aws, tables):
    from costopt.domain.change import ApplyRequest, ChangeResult
    from costopt.errors import Conflict
    from costopt.jobs.apply import apply_recommendation, rollback_recommendation
    from costopt.store.changes import ChangeRepository

    rec = _setup(aws)
    apply_recommendation(ApplyRequest(service_id="race", recommendation_id=rec.recommendation_id, etag=rec.etag),
                         actor="alice")
    outcomes = _race(lambda i: rollback_recommendation("race", rec.recommendation_id, actor=f"caller-{i}"))
    winners = [o for o in outcomes if isinstance(o, ChangeResult)]
    assert len(winners) == 1 and all(isinstance(o, Conflict) for o in outcomes if o not in winners), outcomes
    changes, _ = ChangeRepository().history("race")
    assert [(c.type, c.status) for c in changes] == [("ROLLBACK", "SUCCEEDED"), ("APPLY", "SUCCEEDED")]
    lam = sandbox.client("lambda", aws).get_function_configuration(FunctionName="race-fn")
    assert lam["MemorySize"] == 1024


def test_same_idempotency_key_through_the_handler_against_dynamodb_local(aws, tables, lambda_context):
    import json

    from functions.apply.app import lambda_handler
    from local.events import http_event

    rec = _setup(aws)
    body = {"service_id": "race", "recommendation_id": rec.recommendation_id, "etag": rec.etag}
    first = lambda_handler(http_event("POST", "/v1/config/apply", body=body, headers={"Idempotency-Key": "once"}),
                           lambda_context)
    second = lambda_handler(http_event("POST", "/v1/config/apply", body=body, headers={"Idempotency-Key": "once"}),
                            lambda_context)
    assert first["statusCode"] == second["statusCode"] == 200
    assert json.loads(first["body"]) == json.loads(second["body"])
    from costopt.store.changes import ChangeRepository

    assert len(ChangeRepository().history("race")[0]) == 1
