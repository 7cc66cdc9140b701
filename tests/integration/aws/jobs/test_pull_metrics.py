"""pull_metrics end to end with the synthetic source on moto DynamoDB: exactly-once folding,
stale on a failing source with old data kept, the time budget and resuming from watermarks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from costopt.connectors.base import (
    BILLING,
    TELEMETRY,
    BillingSource,
    TelemetrySource,
    register_billing,
    register_telemetry,
)
from costopt.domain.observation import Metric, Series
from costopt.domain.service import Service, ServicePut
from costopt.errors import ConnectorError
from costopt.jobs.pull_metrics import pull_billing, run
from costopt.store.observations import ObservationRepository
from costopt.store.services import ServiceRepository
from local.synthetic import SyntheticTelemetry

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
ORIGIN = datetime(2026, 11, 18, tzinfo=UTC)  # created on the 20th with two days of synthetic history
EVENTS = Path(__file__).parents[4] / "events"


def spec(**over: Any) -> ServicePut:
    return ServicePut.model_validate({
        "name": "Checkout", "team": "payments",
        "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                       "config": {"memory_mb": 1024}}],
        "sla": {"availability_pct": 99.9, "latency_p99_ms": 800},
        "telemetry": {"source": "synthetic", "synthetic": {"history_days": 2, "base_rps": 5}},
        "billing": {"source": "synthetic"},
        "policy": {"lookback_days": 2},  # the first pull goes the lookback back, for every source
        **over,
    })


@pytest.fixture
def services(tables: Any) -> Iterator[ServiceRepository]:
    repo = ServiceRepository()
    for sid in ("checkout", "search", "orders"):
        repo.put(sid, spec(), now=NOW - timedelta(hours=2))
    yield repo
    register_telemetry("synthetic", None)


def counts(obs: ObservationRepository, sid: str, metric: Metric = Metric.REQUESTS) -> list[tuple[datetime, int, float]]:
    return [(a.hour, a.count, a.sum) for a in obs.hourly(sid, "api", metric, ORIGIN, AS_OF + timedelta(hours=6))]


def test_first_pull_fills_history_and_replaying_changes_nothing(services: ServiceRepository) -> None:
    obs = ObservationRepository()
    report = run(NOW, deadline_s=300, services=["checkout"])
    pulled = report.services[0]
    assert pulled.telemetry.outcome == "ok" and pulled.billing.outcome == "ok"
    assert pulled.telemetry.start == ORIGIN and pulled.telemetry.end == AS_OF
    before = counts(obs, "checkout")
    durations = counts(obs, "checkout", Metric.DURATION_MS)
    # 60 hours from the 18th 00:00 to the 20th 12:00, twelve 5-minute points in each
    assert len(before) == 60 and {c for _, c, _ in before} == {12}
    assert before[0][0] == ORIGIN and before[-1][0] == AS_OF - timedelta(hours=1)
    assert obs.get_watermark("checkout", TELEMETRY) == AS_OF
    assert obs.last_data_at("checkout") == AS_OF - timedelta(minutes=5)
    # billing: the complete days 18 and 19 (the 20th is not over)
    costs = obs.hourly("checkout", "api", Metric.COST_USD, ORIGIN, AS_OF)
    assert [a.hour for a in costs] == [ORIGIN, ORIGIN + timedelta(days=1)] and all(a.sum > 0 for a in costs)

    # the same run again: nothing to pull
    again = run(NOW, deadline_s=300, services=["checkout"]).services[0]
    assert again.telemetry.outcome == "up_to_date" and again.billing.outcome == "up_to_date"
    # replay the last 5 hours (a watermark moved back, e.g. a run that died before saving it)
    obs.set_watermark("checkout", TELEMETRY, AS_OF - timedelta(hours=5), force=True)
    replay = run(NOW, deadline_s=300, services=["checkout"]).services[0]
    assert replay.telemetry.outcome == "ok"
    assert replay.telemetry.points_folded == 0 and replay.telemetry.hours_folded == 0
    assert replay.telemetry.hours_skipped > 0 and replay.telemetry.points_skipped > 0
    assert counts(obs, "checkout") == before
    assert counts(obs, "checkout", Metric.DURATION_MS) == durations and len(durations) == 60

    # an hour later exactly one new hour arrives
    later = run(NOW + timedelta(hours=1), deadline_s=300, services=["checkout"]).services[0]
    assert later.telemetry.hours_folded > 0 and len(counts(obs, "checkout")) == 61


class Down(TelemetrySource):
    name = "synthetic"

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        raise ConnectorError("cloudwatch", "ThrottlingException: Rate exceeded", retryable=True)


def test_source_down_marks_stale_and_keeps_old_data(services: ServiceRepository) -> None:
    obs = ObservationRepository()
    run(NOW, deadline_s=300, services=["checkout"])
    before = counts(obs, "checkout")
    assert obs.freshness("checkout")[TELEMETRY].stale is False

    register_telemetry("synthetic", Down)
    down = run(NOW + timedelta(hours=3), deadline_s=300, services=["checkout"])
    pulled = down.services[0]
    assert pulled.telemetry.outcome == "stale" and "Rate exceeded" in (pulled.telemetry.error or "")
    assert down.stale == ["checkout"]
    fresh = obs.freshness("checkout")[TELEMETRY]
    assert fresh.stale is True and "Rate exceeded" in (fresh.last_error or "")
    assert fresh.last_error_at == NOW + timedelta(hours=3)
    assert counts(obs, "checkout") == before  # nothing invented, nothing lost
    assert obs.get_watermark("checkout", TELEMETRY) == AS_OF

    register_telemetry("synthetic", None)  # the source is back: the three missing hours are caught up
    back = run(NOW + timedelta(hours=3), deadline_s=300, services=["checkout"]).services[0]
    assert back.telemetry.outcome == "ok" and back.telemetry.start == AS_OF
    assert len(counts(obs, "checkout")) == 63 and counts(obs, "checkout")[:60] == before
    assert obs.freshness("checkout")[TELEMETRY].stale is False


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def slow_source(clock: FakeClock, seconds: float) -> type[TelemetrySource]:
    class Slow(SyntheticTelemetry):
        def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
            clock.t += seconds
            return super().fetch(service, start, end)

    return Slow


def test_stops_within_the_time_budget_and_resumes_from_watermarks(services: ServiceRepository) -> None:
    obs = ObservationRepository()
    clock = FakeClock()
    register_telemetry("synthetic", slow_source(clock, 3.0))
    # 60 hours = 3 one-day chunks of 3 s each; 10 s allow the first service only
    first = run(NOW, deadline_s=10, clock=clock)
    assert [s.service_id for s in first.services] == ["checkout"] and first.services[0].telemetry.outcome == "ok"
    assert first.out_of_time and first.not_reached == ["orders", "search"]
    assert obs.get_watermark("orders", TELEMETRY) is None

    clock.t = 0.0
    # 4 s: the next service gets one chunk, then stops before the next and keeps its place
    second = run(NOW, deadline_s=4, services=["orders"], clock=clock)
    partial = second.services[0].telemetry
    assert partial.outcome == "partial" and partial.watermark == ORIGIN + timedelta(days=1)
    assert obs.get_watermark("orders", TELEMETRY) == ORIGIN + timedelta(days=1)

    clock.t = 0.0
    third = run(NOW, deadline_s=100, clock=clock)
    outcomes = {s.service_id: s.telemetry.outcome for s in third.services}
    assert outcomes == {"checkout": "up_to_date", "orders": "ok", "search": "ok"} and not third.not_reached
    assert third.services[1].telemetry.start == ORIGIN + timedelta(days=1)  # resumed, not restarted
    orders = counts(obs, "orders")
    assert len(orders) == 60 and {c for _, c, _ in orders} == {12}  # each hour exactly once across 2 runs
    assert obs.get_watermark("orders", BILLING) == datetime(2026, 11, 20, tzinfo=UTC)


def test_scheduled_event_through_the_handler(services: ServiceRepository, lambda_context: Any) -> None:
    from functions.pull_metrics.app import lambda_handler

    event = json.loads((EVENTS / "pull_metrics-schedule.json").read_text())
    event["time"] = NOW.isoformat().replace("+00:00", "Z")
    out = lambda_handler(event, lambda_context)
    assert out["as_of"] == "2026-11-20T12:00:00Z" and out["services"] == 3 and out["stale"] == []
    assert out["not_reached"] == [] and out["out_of_time"] is False and out["without_data"] == {}
    assert ObservationRepository().get_watermark("search", TELEMETRY) == AS_OF


class BillingDown(BillingSource):
    name = "synthetic"

    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        raise ConnectorError("cost_explorer", "AccessDeniedException: not authorized", retryable=False)


def test_billing_fails_alone_and_pull_billing_raises(services: ServiceRepository) -> None:
    obs = ObservationRepository()
    register_billing("synthetic", BillingDown)
    try:
        pulled = run(NOW, deadline_s=300, services=["checkout"]).services[0]
        assert pulled.telemetry.outcome == "ok" and pulled.billing.outcome == "stale"
        assert "AccessDenied" in (pulled.billing.error or "")
        fresh = obs.freshness("checkout")
        assert fresh[BILLING].stale is True and fresh[TELEMETRY].stale is False
        assert obs.get_watermark("checkout", BILLING) is None
        with pytest.raises(ConnectorError):
            pull_billing(ServiceRepository().get("checkout"), NOW)
    finally:
        register_billing("synthetic", None)
    ok = pull_billing(ServiceRepository().get("checkout"), NOW)
    assert ok.outcome == "ok" and ok.end == datetime(2026, 11, 20, tzinfo=UTC)
    assert obs.freshness("checkout")[BILLING].stale is False
