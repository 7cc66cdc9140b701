"""Silent data gaps: a resource the source returns nothing for keeps its watermark, is asked again on the
next pull and folded when its data arrives; the pull says partial or stale, never ok (moto DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt.connectors.base import TELEMETRY, register_telemetry
from costopt.connectors.prometheus import PrometheusTelemetry
from costopt.domain.observation import Metric, Series
from costopt.domain.service import Service, ServicePut
from costopt.jobs.pull_metrics import MAX_CATCHUP, DataGap, NoData, run
from costopt.store.observations import ObservationRepository
from costopt.store.services import ServiceRepository
from local.synthetic import SyntheticTelemetry, generate

H = timedelta(hours=1)
NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
ORIGIN = datetime(2026, 11, 18, tzinfo=UTC)  # two days of synthetic history before the 20th

API = {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
       "config": {"memory_mb": 1024}}
DB = {"resource_id": "db", "kind": "dynamodb_table", "table_name": "orders",
      "config": {"billing_mode": "PAY_PER_REQUEST"}}
WEB = {"resource_id": "web", "kind": "generic", "workload": "shop/web",
       "config": {"replicas": 2, "cpu_cores": 1, "memory_gb": 2}}


class Flaky(SyntheticTelemetry):
    """Synthetic data, minus what ``silent`` hides: resource_id -> no points at or after that time."""

    silent: dict[str, datetime] = {}
    calls: list[tuple[tuple[str, ...], datetime, datetime]] = []

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        Flaky.calls.append((tuple(r.resource_id for r in service.resources), start, end))
        out = []
        for s in super().fetch(service, start, end):
            cut = Flaky.silent.get(s.resource_id)
            points = [p for p in s.points if cut is None or p.t < cut]
            if points:
                out.append(s.model_copy(update={"points": points}))
        return out


def spec(resources: list[dict[str, Any]], source: str = "synthetic") -> ServicePut:
    return ServicePut.model_validate({
        "name": "Checkout", "team": "payments", "resources": resources,
        "telemetry": {"source": source, "synthetic": {"history_days": 2, "base_rps": 5},
                      "prometheus": {"url": "http://prometheus.internal:9090"}},
        "billing": {"source": "synthetic"},
        "policy": {"lookback_days": 2},  # the first pull goes the lookback back, for every source
    })


@pytest.fixture
def obs(tables: Any) -> Iterator[ObservationRepository]:
    ServiceRepository().put("checkout", spec([API, DB]), now=NOW - 2 * H)
    Flaky.silent, Flaky.calls = {}, []
    register_telemetry("synthetic", Flaky)
    yield ObservationRepository()
    register_telemetry("synthetic", None)
    register_telemetry("prometheus", None)


def hours(obs: ObservationRepository, rid: str, metric: Metric) -> list[tuple[datetime, int]]:
    return [(a.hour, a.count) for a in obs.hourly("checkout", rid, metric, ORIGIN - 20 * 24 * H, AS_OF + 24 * H)]


def pull(at: datetime) -> Any:
    return run(at, deadline_s=300, services=["checkout"]).services[0].telemetry


def test_a_resource_without_data_is_partial_keeps_its_watermark_and_is_folded_when_data_arrives(
        obs: ObservationRepository) -> None:
    first = pull(NOW)
    assert first.outcome == "ok" and first.no_data == [] and first.behind == {}
    assert len(hours(obs, "db", Metric.CONSUMED_RCU)) == 60

    Flaky.silent = {"db": AS_OF}  # the table's metrics stop arriving after the 20th 12:00
    later = pull(NOW + 3 * H)
    assert later.outcome == "partial" and later.error is None
    assert later.no_data == [NoData(resource_id="db", kind="dynamodb_table", since=AS_OF, reason="empty")]
    assert later.watermark == AS_OF + 3 * H and later.behind == {"db": AS_OF}
    marks = obs.get_watermarks("checkout", TELEMETRY)
    assert marks.of("api") == AS_OF + 3 * H and marks.of("db") == AS_OF  # db's hours are not skipped
    assert obs.freshness("checkout")[TELEMETRY].stale is False  # the source works; api's data is in
    assert len(hours(obs, "api", Metric.REQUESTS)) == 63 and len(hours(obs, "db", Metric.CONSUMED_RCU)) == 60

    # the next pull asks again for db's hours since its watermark, and for api's new hour
    Flaky.calls = []
    again = pull(NOW + 4 * H)
    assert again.outcome == "partial" and [n.resource_id for n in again.no_data] == ["db"]
    assert sorted(Flaky.calls) == [(("api",), AS_OF + 3 * H, AS_OF + 4 * H), (("db",), AS_OF, AS_OF + 4 * H)]

    Flaky.silent = {}  # db's data arrives (late): every missing hour is folded, once
    back = pull(NOW + 5 * H)
    assert back.outcome == "ok" and back.no_data == [] and back.behind == {}
    assert back.start == AS_OF and back.watermark == AS_OF + 5 * H
    db, api = hours(obs, "db", Metric.CONSUMED_RCU), hours(obs, "api", Metric.REQUESTS)
    assert [h for h, _ in db] == [ORIGIN + i * H for i in range(65)] and {c for _, c in db} == {12}
    assert [h for h, _ in api] == [ORIGIN + i * H for i in range(65)] and {c for _, c in api} == {12}
    assert obs.get_watermarks("checkout", TELEMETRY).of("db") == AS_OF + 5 * H


def test_no_data_for_any_resource_is_stale_and_moves_nothing(obs: ObservationRepository) -> None:
    pull(NOW)
    Flaky.silent = {"api": AS_OF, "db": AS_OF}
    down = run(NOW + 2 * H, deadline_s=300, services=["checkout"])
    silent = down.services[0].telemetry
    assert silent.outcome == "stale" and down.stale == ["checkout"]
    assert down.without_data == {"checkout": ["api", "db"]}
    assert silent.error == "synthetic: no data for any resource: api (lambda_function), db (dynamodb_table)"
    fresh = obs.freshness("checkout")[TELEMETRY]
    assert fresh.stale is True and fresh.last_error == silent.error
    marks = obs.get_watermarks("checkout", TELEMETRY)
    assert marks.of("api") == AS_OF and marks.of("db") == AS_OF

    Flaky.silent = {}
    back = pull(NOW + 2 * H)
    assert back.outcome == "ok" and back.start == AS_OF and back.hours_folded > 0
    assert len(hours(obs, "api", Metric.REQUESTS)) == 62 and obs.freshness("checkout")[TELEMETRY].stale is False


def test_trailing_hours_without_data_are_asked_again(obs: ObservationRepository) -> None:
    pull(NOW)
    Flaky.silent = {"db": AS_OF + H + timedelta(minutes=20)}  # db delivers 12:00-13:15, then nothing yet
    later = pull(NOW + 3 * H)
    assert later.outcome == "ok" and later.no_data == []  # db did return data
    assert later.behind == {"db": AS_OF + 2 * H}  # up to the end of its last hour with a point
    Flaky.silent = {}
    done = pull(NOW + 3 * H)
    assert done.outcome == "ok" and done.start == AS_OF + 2 * H and done.behind == {}
    db = hours(obs, "db", Metric.CONSUMED_RCU)
    # 13:00 was folded with the 4 points that had arrived; folding closes an hour, so it stays at 4
    assert db[-3:] == [(AS_OF, 12), (AS_OF + H, 4), (AS_OF + 2 * H, 12)] and len(db) == 63


def test_hours_older_than_the_backfill_window_are_given_up_and_recorded(obs: ObservationRepository) -> None:
    pull(NOW)
    long_ago = AS_OF - MAX_CATCHUP - 30 * H
    obs.set_watermarks("checkout", TELEMETRY, AS_OF, {"db": long_ago})
    Flaky.silent = {"db": long_ago}
    stuck = pull(NOW + H)
    assert stuck.outcome == "partial" and stuck.start == AS_OF + H - MAX_CATCHUP
    assert stuck.gaps == [DataGap(resource_id="db", start=long_ago, end=AS_OF + H - MAX_CATCHUP)]
    assert stuck.behind == {"db": AS_OF + H - MAX_CATCHUP}
    assert stuck.no_data[0].since == AS_OF + H - MAX_CATCHUP
    # still nothing an hour later: one more hour falls out of the window, no older one is asked again
    Flaky.calls = []
    assert pull(NOW + 2 * H).gaps == [DataGap(resource_id="db", start=AS_OF + H - MAX_CATCHUP,
                                              end=AS_OF + 2 * H - MAX_CATCHUP)]
    assert min(start for _, start, _ in Flaky.calls) == AS_OF + 2 * H - MAX_CATCHUP


def test_a_service_watermark_stored_before_per_resource_ones_is_every_resources(
        obs: ObservationRepository) -> None:
    obs.set_watermark("checkout", TELEMETRY, AS_OF - 5 * H)  # an item with `at` only, as written before
    assert obs.get_watermarks("checkout", TELEMETRY).behind == {}
    Flaky.silent = {"db": AS_OF - 5 * H}
    pulled = pull(NOW)
    assert pulled.start == AS_OF - 5 * H and pulled.outcome == "partial"
    assert sorted(Flaky.calls) == [(("api", "db"), AS_OF - 5 * H, AS_OF)]
    marks = obs.get_watermarks("checkout", TELEMETRY)
    assert marks.at == AS_OF and marks.of("api") == AS_OF and marks.of("db") == AS_OF - 5 * H
    assert obs.get_watermark("checkout", TELEMETRY) == AS_OF


def test_a_removed_resource_leaves_the_watermarks(obs: ObservationRepository) -> None:
    pull(NOW)
    Flaky.silent = {"db": AS_OF}
    assert pull(NOW + H).behind == {"db": AS_OF}
    repo = ServiceRepository()
    repo.put("checkout", spec([API]).model_copy(update={"version": 1}), now=NOW + H)
    assert pull(NOW + H).outcome == "up_to_date"
    assert obs.get_watermarks("checkout", TELEMETRY).behind == {}


class FakePrometheus(PrometheusTelemetry):
    """Prometheus' declaration, synthetic values for the workloads it is asked for."""

    asked: list[str] = []

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        from costopt.domain.resources import GenericResource

        workloads = [r for r in service.resources if isinstance(r, GenericResource)]
        FakePrometheus.asked.extend(r.resource_id for r in service.resources)
        return generate(service.model_copy(update={"resources": workloads}), start, end)


def test_a_stored_service_its_source_cannot_serve_is_reported_not_ok(obs: ObservationRepository) -> None:
    # stored before PUT refused such services: Prometheus cannot serve the Lambda
    repo = ServiceRepository()
    repo.put("checkout", spec([WEB, API], source="prometheus").model_copy(update={"version": 1}), now=NOW - 2 * H)
    FakePrometheus.asked = []
    register_telemetry("prometheus", FakePrometheus)
    first = pull(NOW)
    assert first.outcome == "partial"
    assert first.no_data == [NoData(resource_id="api", kind="lambda_function", since=ORIGIN,  # the lookback
                                    reason="unserved")]
    assert set(FakePrometheus.asked) == {"web"}  # never asked for what it cannot serve
    assert len(hours(obs, "web", Metric.CPU_PCT)) == 60 and hours(obs, "api", Metric.REQUESTS) == []  # 2 d + 12 h

    repo.put("checkout", spec([API], source="prometheus").model_copy(update={"version": 2}), now=NOW)
    only = pull(NOW + H)
    assert only.outcome == "stale" and "api (lambda_function, not served)" in (only.error or "")
    assert obs.freshness("checkout")[TELEMETRY].stale is True
