"""Jobs against the in-memory repositories of tests/fakes.py (costopt.deps overrides): no moto, no tables.

The recommendation job on fakes gives what the pure engine gives on the same data; the budget job
alerts once per crossing with the figures the moto test (test_budget_alerts) computes by hand; the
fakes refuse what the real repositories refuse, with the same errors.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from costopt import deps
from costopt.domain.change import Change
from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import ServicePut
from costopt.errors import BadRequest, Conflict, NotFound
from tests.fakes import Fakes, FakeServices

NOW = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
LAMBDA = {
    "name": "Checkout", "team": "payments",
    "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                   "config": {"memory_mb": 3008, "architecture": "x86_64"}}],
    "sla": {"latency_p99_ms": 2000},
    "policy": {"strategy": "balanced"},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}


def lambda_series(start: datetime, end: datetime) -> list[Series]:
    """5-minute Lambda telemetry with a daily swing: ~5 requests/s, ~120 ms, 8 % of its memory used."""
    values: dict[Metric, list[Datapoint]] = {m: [] for m in (
        Metric.REQUESTS, Metric.ERRORS, Metric.THROTTLES, Metric.DURATION_MS, Metric.DURATION_MEAN_MS,
        Metric.CPU_TIME_MS, Metric.CONCURRENCY, Metric.MEMORY_PCT)}
    t = start
    while t < end:
        swing = 1.0 + 0.5 * math.sin(2 * math.pi * (t.hour + t.minute / 60) / 24)
        requests = 300.0 * 5 * swing / 5
        for metric, v in ((Metric.REQUESTS, requests), (Metric.ERRORS, 0.0), (Metric.THROTTLES, 0.0),
                          (Metric.DURATION_MS, 180.0 * swing), (Metric.DURATION_MEAN_MS, 120.0 * swing),
                          (Metric.CPU_TIME_MS, 20.0), (Metric.CONCURRENCY, 0.6 * swing),
                          (Metric.MEMORY_PCT, 8.0 + swing)):
            values[metric].append(Datapoint(t=t, v=v))
        t += timedelta(minutes=5)
    return [Series(resource_id="api", metric=m, period_s=300, points=p) for m, p in values.items()]


def shape(recs: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((r.resource_id, r.action, r.rank, r.monthly_savings_usd, str(r.proposed)) for r in recs)


def test_recommend_on_fakes_is_the_engine_on_the_same_data() -> None:
    from costopt.engine.recommend import recommend
    from costopt.jobs.recommend import run_recommend
    from costopt.observe.usage import usage_from_series
    from costopt.pricing import bundled_catalog

    fakes = Fakes()
    service, _ = fakes.services.put("checkout", ServicePut.model_validate(LAMBDA), now=NOW)
    series = lambda_series(NOW - timedelta(days=6), NOW)
    assert fakes.observations.fold("checkout", series, now=NOW).hours_folded > 100
    assert fakes.observations.fold("checkout", series, now=NOW).hours_folded == 0  # a replay changes nothing
    with fakes.installed():
        first = run_recommend("checkout", now=NOW)
    expected = recommend(service, usage_from_series(service, series, service.policy.lookback_days, NOW),
                         bundled_catalog(), now=NOW)
    assert first.recommendations and shape(first.recommendations) == shape(expected.recommendations)
    assert any(r.action == "lambda_memory" and r.proposed["memory_mb"] < 3008 for r in first.recommendations)
    active = fakes.recommendations.list_all("checkout", "ACTIVE")
    assert {r.recommendation_id for r in active} == {r.recommendation_id for r in first.recommendations}

    with fakes.installed():
        second = run_recommend("checkout", now=NOW + timedelta(hours=1))
    superseded = {r.recommendation_id for r in fakes.recommendations.list_all("checkout", "SUPERSEDED")}
    assert superseded == {r.recommendation_id for r in first.recommendations}
    assert {r.recommendation_id for r in fakes.recommendations.list_all("checkout", "ACTIVE")} == \
        {r.recommendation_id for r in second.recommendations}


def test_recommend_on_fakes_404s_an_unknown_service() -> None:
    from costopt.jobs.recommend import run_recommend

    with Fakes().installed(), pytest.raises(NotFound):
        run_recommend("nope", now=NOW)


BUDGET = {**LAMBDA, "resources": [{**LAMBDA["resources"][0], "config": {"memory_mb": 1024}}],
          "budget": {"monthly_usd": 200, "notifications": [
              {"type": "ACTUAL", "threshold": 50}, {"type": "ACTUAL", "threshold": 100},
              {"type": "FORECASTED", "threshold": 100}]}}
BUDGET_NOW = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def billed(start: date, end: date) -> Series:
    points, d = [], start
    while d <= end:
        points.append(Datapoint(t=datetime(d.year, d.month, d.day, tzinfo=UTC), v=4.0 if d.weekday() >= 5 else 10.0))
        d += timedelta(days=1)
    return Series(resource_id="api", metric=Metric.COST_USD, stat="sum", period_s=86400, points=points)


def test_budget_on_fakes_alerts_once_per_crossing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures of test_budget_alerts.seed: MTD $112, forecast $246 against $200."""
    from costopt.connectors import notify
    from costopt.jobs.budget import budget_report, check_budget

    sent: list[Any] = []
    monkeypatch.setattr(notify, "publish_budget_alert", sent.append)
    fakes = Fakes()
    service, _ = fakes.services.put("checkout-api", ServicePut.model_validate(BUDGET), now=BUDGET_NOW)
    fakes.observations.fold("checkout-api", [billed(date(2026, 10, 18), date(2026, 11, 13))], now=BUDGET_NOW)
    with fakes.installed():
        published = [check_budget(service, BUDGET_NOW + timedelta(hours=h))[1] for h in (0, 24, 48)]
        report = budget_report(service, BUDGET_NOW)
    assert published == [2, 0, 0]
    assert sorted((a.type, a.threshold) for a in sent) == [("ACTUAL", 50.0), ("FORECASTED", 100.0)]
    assert report.month_to_date_usd == 112.0 and report.forecast_usd == 246.0 and report.status == "at_risk"


def test_override_nests_and_restores() -> None:
    outer, inner = FakeServices(), FakeServices()
    with deps.override(services=outer):
        assert deps.services() is outer
        with deps.override(services=inner):
            assert deps.services() is inner
        assert deps.services() is outer
    assert deps.services() is not outer
    with pytest.raises(TypeError), deps.override(nope=outer):
        pass


def test_fakes_refuse_what_the_store_refuses() -> None:
    fakes = Fakes()
    fakes.services.put("checkout", ServicePut.model_validate(LAMBDA), now=NOW)
    with pytest.raises(Conflict) as exists:
        fakes.services.put("checkout", ServicePut.model_validate(LAMBDA), now=NOW)
    assert exists.value.extra == {"current_version": 1}
    with pytest.raises(Conflict):
        fakes.services.put("checkout", ServicePut.model_validate({**LAMBDA, "version": 7}), now=NOW)

    fakes.observations.fold("checkout", lambda_series(NOW - timedelta(days=2), NOW), now=NOW)
    with fakes.installed():
        from costopt.jobs.recommend import run_recommend

        rec = run_recommend("checkout", now=NOW).recommendations[0]
    recs = fakes.recommendations
    with pytest.raises(Conflict) as stale:
        recs.transition("checkout", rec.recommendation_id, expected_etag="old", from_statuses={"ACTIVE"},
                        to_status="DISMISSED")
    assert stale.value.extra == {"current_status": "ACTIVE", "current_etag": rec.etag}
    with pytest.raises(ValueError):
        recs.transition("checkout", rec.recommendation_id, expected_etag=None, from_statuses={"ACTIVE"},
                        to_status="ROLLED_BACK")
    with pytest.raises(BadRequest):
        recs.list("checkout", limit=1, next_token=recs.list("other", limit=1)[1] or "services:@1")

    change = Change(change_id=deps.new_change_id(NOW), status="PENDING", type="APPLY", service_id="checkout",
                    recommendation_id=rec.recommendation_id, resource_id="api", kind=rec.kind, before=rec.current,
                    after=rec.proposed, actor="t", created_at=NOW, updated_at=NOW)
    etag = fakes.changes.claim(change, expected_etag=rec.etag, now=NOW)
    assert etag != rec.etag and recs.get("checkout", rec.recommendation_id).status == "CLAIMED"
    assert fakes.changes.lock_holder("checkout") == change.change_id
    other = change.model_copy(update={"change_id": deps.new_change_id(NOW)})
    with pytest.raises(Conflict) as claimed:
        fakes.changes.claim(other, expected_etag=etag, now=NOW)
    assert claimed.value.extra["recommendation_status"] == "CLAIMED"
    assert not fakes.changes.release_lock("checkout", other.change_id)
    assert fakes.changes.release_lock("checkout", change.change_id) and fakes.changes.lock_holder("checkout") is None
