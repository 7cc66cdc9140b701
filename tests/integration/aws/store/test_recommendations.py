"""RecommendationRepository against moto DynamoDB (tables from template.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from costopt.domain.recommendation import Evidence, Recommendation, SlaVerdict
from costopt.errors import Conflict, NotFound

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def rec(service_id: str = "shop", resource_id: str = "vol", at: datetime = T0, savings: float = 10.0) -> Recommendation:
    from costopt.store.base import new_etag, time_ordered_id

    return Recommendation(
        service_id=service_id, recommendation_id=time_ordered_id("r", at), resource_id=resource_id,
        kind="ebs_volume", action="ebs_gp3", current={"volume_type": "gp2", "size_gb": 500},
        proposed={"volume_type": "gp3", "size_gb": 500, "iops": 3000, "throughput_mbps": 125},
        monthly_cost_current_usd=50.0, monthly_cost_proposed_usd=50.0 - savings, monthly_savings_usd=savings,
        savings_pct=savings * 2, performance_risk=0, confidence=1.0, priority="P3", xor_group=f"{service_id}/vol",
        sla=SlaVerdict(compliant=True), etag=new_etag(), evidence=Evidence(lookback_days=14),
        engine_version="test", created_at=at, updated_at=at)


@pytest.fixture
def repo(tables):
    from costopt.store.recommendations import RecommendationRepository

    return RecommendationRepository()


def test_replace_active_supersedes_the_previous_set(repo):
    first = [rec(at=T0), rec(resource_id="fn", at=T0)]
    repo.replace_active("shop", first)
    second = [rec(at=T0 + timedelta(hours=1))]
    repo.replace_active("shop", second)
    active, _ = repo.list("shop", status="ACTIVE")
    assert [r.recommendation_id for r in active] == [second[0].recommendation_id]
    superseded, _ = repo.list("shop", status="SUPERSEDED")
    assert {r.recommendation_id for r in superseded} == {r.recommendation_id for r in first}
    old = repo.get("shop", first[0].recommendation_id)
    assert old.status == "SUPERSEDED" and old.etag != first[0].etag and old.status_reason
    assert old.proposed == first[0].proposed  # the document is kept


def test_replace_active_never_touches_claimed_or_other_resources(repo):
    a, b = rec(at=T0), rec(resource_id="fn", at=T0)
    repo.replace_active("shop", [a, b])
    claimed = repo.transition("shop", a.recommendation_id, expected_etag=a.etag, from_statuses={"ACTIVE"},
                              to_status="CLAIMED")
    assert claimed.status == "CLAIMED"
    repo.replace_active("shop", [rec(at=T0 + timedelta(hours=1))], resource_ids=["vol"])
    assert repo.get("shop", a.recommendation_id).status == "CLAIMED"
    assert repo.get("shop", b.recommendation_id).status == "ACTIVE"  # not in resource_ids


def test_list_newest_first_paginates_and_is_per_service(repo):
    recs = [rec(at=T0 + timedelta(minutes=i)) for i in range(5)]
    repo.replace_active("shop", recs)
    repo.replace_active("other", [rec(service_id="other")])
    page1, token = repo.list("shop", limit=2)
    assert [r.recommendation_id for r in page1] == [recs[4].recommendation_id, recs[3].recommendation_id]
    assert token
    page2, token2 = repo.list("shop", limit=2, next_token=token)
    page3, token3 = repo.list("shop", limit=2, next_token=token2)
    ids = [r.recommendation_id for r in page1 + page2 + page3]
    assert ids == [r.recommendation_id for r in reversed(recs)] and token3 is None


def test_dismiss_with_stale_etag_is_a_conflict_with_the_current_state(repo):
    r = rec()
    repo.replace_active("shop", [r])
    dismissed = repo.transition("shop", r.recommendation_id, expected_etag=r.etag, from_statuses={"ACTIVE"},
                                to_status="DISMISSED", status_reason="not now")
    assert dismissed.status == "DISMISSED" and dismissed.etag != r.etag and dismissed.status_reason == "not now"
    with pytest.raises(Conflict) as exc:
        repo.transition("shop", r.recommendation_id, expected_etag=r.etag, from_statuses={"DISMISSED"},
                        to_status="ACTIVE")
    assert exc.value.extra == {"current_status": "DISMISSED", "current_etag": dismissed.etag}
    with pytest.raises(Conflict):  # right etag, wrong state
        repo.transition("shop", r.recommendation_id, expected_etag=dismissed.etag, from_statuses={"ACTIVE"},
                        to_status="CLAIMED")
    restored = repo.transition("shop", r.recommendation_id, expected_etag=dismissed.etag,
                               from_statuses={"DISMISSED"}, to_status="ACTIVE", status_reason=None)
    assert restored.status == "ACTIVE" and restored.status_reason is None


def test_missing_and_illegal_transitions(repo):
    with pytest.raises(NotFound):
        repo.get("shop", "r0000000000nothinghere0000")
    with pytest.raises(NotFound):
        repo.transition("shop", "r0000000000nothinghere0000", expected_etag=None, from_statuses={"ACTIVE"},
                        to_status="DISMISSED")
    with pytest.raises(ValueError):
        repo.transition_parts("shop", "x", expected_etag=None, from_statuses={"SUPERSEDED"}, to_status="ACTIVE")
    with pytest.raises(ValueError):
        repo.transition_parts("shop", "x", expected_etag=None, from_statuses={"ACTIVE"}, to_status="CLAIMED",
                              etag="forged")


def test_claim_parts_in_a_transaction_with_the_service_change_lock(repo):
    from pynamodb.connection import Connection
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from costopt.domain.service import ServicePut
    from costopt.store.services import ServiceItem, ServiceRepository

    ServiceRepository().put("shop", ServicePut.model_validate({
        "name": "Shop", "team": "t", "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}}))
    r = rec()
    repo.replace_active("shop", [r])

    def claim(etag: str, lock: str) -> None:
        parts = repo.claim_parts("shop", r.recommendation_id, etag)
        with TransactWrite(connection=Connection()) as tw:
            tw.update(parts.item, actions=parts.actions, condition=parts.condition)
            tw.update(ServiceItem(service_id="shop"), actions=[ServiceItem.change_lock.set(lock)],
                      condition=ServiceItem.change_lock.does_not_exist())

    with pytest.raises(TransactWriteError):
        claim("stale", "c1")  # the etag fails: neither write happens
    assert repo.get("shop", r.recommendation_id).status == "ACTIVE"
    assert ServiceItem.get("shop").change_lock is None
    claim(r.etag, "c1")
    claimed = repo.get("shop", r.recommendation_id)
    assert claimed.status == "CLAIMED" and ServiceItem.get("shop").change_lock == "c1"
    done = repo.transition("shop", r.recommendation_id, expected_etag=claimed.etag, from_statuses={"CLAIMED"},
                           to_status="SUCCEEDED", applied_change_id="c1")
    assert done.applied_change_id == "c1"
