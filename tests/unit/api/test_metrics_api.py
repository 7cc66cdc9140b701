"""The metrics function through its real handler with HttpApi v2 events (moto DynamoDB)."""


from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.service import ServicePut

NOW = datetime(2026, 11, 20, 12, 20, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
HOURS = [AS_OF - timedelta(hours=h) for h in range(720, 0, -1)]


def spec(team: str = "payments") -> ServicePut:
    return ServicePut.model_validate({
        "name": "Checkout", "team": team,
        "resources": [
            {"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
             "config": {"memory_mb": 1024}},
            {"resource_id": "jobs", "kind": "lambda_function", "function_name": "checkout-jobs",
             "config": {"memory_mb": 512}},
        ],
        "sla": {"availability_pct": 99.9, "latency_p99_ms": 500},
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
    })


def hourly_series(rid: str, metric: Metric, value: Callable[[datetime], float]) -> Series:
    return Series(resource_id=rid, metric=metric, period_s=3600, points=[Datapoint(t=h, v=value(h)) for h in HOURS])


def test_page_health_on_fakes_is_each_service_health_alone(pin_clock: Callable[..., Any]) -> None:
    """The batched page (jobs.metrics on the deps fakes) gives each service the health it has alone."""
    from costopt.jobs.metrics import LIST_HEALTH_WINDOW, health_of, services_with_health
    from tests.fakes import Fakes

    pin_clock(NOW)
    with Fakes().installed() as fakes:
        for sid in ("checkout", "orders", "search"):
            fakes.services.put(sid, spec(), now=NOW - timedelta(days=40))
        last = AS_OF - timedelta(hours=1)
        for sid, errors in (("checkout", 50.0), ("orders", 0.0)):
            fakes.observations.fold(sid, [
                hourly_series("api", Metric.REQUESTS, lambda h: 1000.0),
                hourly_series("api", Metric.ERRORS, lambda h, e=errors: e if h == last else 0.0),
            ], NOW)
        items, token = services_with_health(limit=50)
        alone = {sid: health_of(fakes.services.get(sid), NOW, LIST_HEALTH_WINDOW, with_budget=False)
                 for sid in ("checkout", "orders", "search")}
    assert token is None
    assert {i.service_id: (i.health, i.last_data_at) for i in items} == {
        sid: (h.status, h.last_data_at) for sid, h in alone.items()}
    assert {i.service_id: i.health for i in items} == {"checkout": "breaching", "orders": "healthy",
                                                       "search": "no_data"}
