"""SLO health and multiwindow burn rates, checked against values computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from costopt.domain.observation import Datapoint, HourlyAggregate, Metric, Series
from costopt.domain.service import Sla
from costopt.observe.health import ClauseHealth, ServiceHealth, service_health

NOW = datetime(2026, 11, 20, 12, 20, tzinfo=UTC)   # windows end at 12:00, the last complete hour
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
SLA = Sla(availability_pct=99.9, latency_p99_ms=300)
HOURS = [AS_OF - timedelta(hours=h) for h in range(720, 0, -1)]  # 30 days of hours, oldest first


def agg(hour: datetime, total: float, count: int = 12) -> HourlyAggregate:
    return HourlyAggregate(hour=hour, count=count, sum=total, min=total / count, max=total / count)


def hourly(errors: dict[int, float] | None = None, latency_ms: dict[int, float] | None = None,
           ) -> dict[Metric, list[list[HourlyAggregate]]]:
    """10,000 requests and 2 errors an hour; ``errors``/``latency_ms`` override the hours N hours back."""
    errors, latency_ms = errors or {}, latency_ms or {}
    back = {h: int((AS_OF - h).total_seconds() // 3600) for h in HOURS}
    return {
        Metric.REQUESTS: [[agg(h, 10_000) for h in HOURS]],
        Metric.ERRORS: [[agg(h, errors.get(back[h], 2.0)) for h in HOURS]],
        Metric.LATENCY_MS: [[HourlyAggregate(hour=h, count=12, sum=12 * latency_ms.get(back[h], 120.0),
                                             min=100, max=900) for h in HOURS]],
    }


def clause(report: ServiceHealth, name: str) -> ClauseHealth:
    return next(c for c in report.clauses if c.clause == name)


def test_healthy_budget_and_burn_rates() -> None:
    report = service_health("shop", SLA, hourly(), NOW, last_data_at=AS_OF - timedelta(minutes=5))
    assert report.status == "healthy" and report.as_of == AS_OF
    avail = clause(report, "availability_pct")
    # 2 / 10,000 = 0.0002 bad; / (1 - 0.999) = 0.2
    assert avail.burn_rate_1h == pytest.approx(0.2) and avail.burn_rate_6h == pytest.approx(0.2)
    # 720 h x 2 = 1,440 bad of a 0.001 x 7.2 M = 7,200 budget: 80 % left
    assert avail.error_budget_remaining_pct == pytest.approx(80.0)
    assert avail.current == pytest.approx(99.98) and avail.alert is None and avail.short_window == "last_hour"
    lat = clause(report, "latency_p99_ms")
    assert lat.burn_rate_1h == 0 and lat.error_budget_remaining_pct == 100 and lat.current == 120


def test_ticket_then_page_then_recovery() -> None:
    # six hours at 80 errors / 10,000 = 0.008 -> burn 8: >= 6 over 6 h (and the last hour) but < 14.4
    ticket = service_health("shop", SLA, hourly(errors=dict.fromkeys(range(1, 7), 80.0)), NOW, AS_OF)
    avail = clause(ticket, "availability_pct")
    assert avail.burn_rate_1h == pytest.approx(8.0) and avail.burn_rate_6h == pytest.approx(8.0)
    assert avail.alert == "ticket" and ticket.status == "at_risk"
    # 714 x 2 + 6 x 80 = 1,908 of 7,200: 73.5 % left
    assert avail.error_budget_remaining_pct == pytest.approx(73.5)

    # the last hour gets 200 errors: 0.02 / 0.001 = 20 >= 14.4 -> page; 6 h: (5 x 80 + 200) / 60,000 / 0.001 = 10
    page = service_health("shop", SLA, hourly(errors={1: 200.0, 2: 80, 3: 80, 4: 80, 5: 80, 6: 80}), NOW, AS_OF)
    avail = clause(page, "availability_pct")
    assert avail.burn_rate_1h == pytest.approx(20.0) and avail.burn_rate_6h == pytest.approx(10.0)
    assert avail.alert == "page" and page.status == "breaching" and avail.current == pytest.approx(98.0)

    # an hour later the burn has stopped in the latest hour: 1 h burn 0.2, 6 h (4 x 80 + 200 + 2) / 60,000 = 8.7
    later = service_health("shop", SLA, hourly(errors={2: 200.0, 3: 80, 4: 80, 5: 80, 6: 80}), NOW, AS_OF)
    avail = clause(later, "availability_pct")
    assert avail.burn_rate_6h == pytest.approx(522 / 60_000 / 0.001)
    assert avail.alert is None and later.status == "healthy"  # the short window (last hour) is quiet


def test_exact_short_windows_from_recent_points() -> None:
    last = AS_OF - timedelta(hours=1)
    slots = [last + timedelta(minutes=5 * i) for i in range(12)]

    def recent(errs: dict[int, float]) -> list[Series]:
        return [Series(resource_id="api", metric=Metric.REQUESTS, stat="sum",
                       points=[Datapoint(t=t, v=1000) for t in slots]),
                Series(resource_id="api", metric=Metric.ERRORS, stat="sum",
                       points=[Datapoint(t=t, v=errs.get(i, 0.0)) for i, t in enumerate(slots)])]

    # 200 errors in the first half hour, none in the last 5 minutes: 1 h burn 200 / 12,000 / 0.001 = 16.7
    # is over 14.4 but the 5-minute window is 0 -> no page (the burn has stopped)
    data = hourly(errors={1: 200.0})
    data[Metric.REQUESTS][0][-1] = agg(last, 12_000)
    quiet = service_health("shop", SLA, data, NOW, AS_OF, recent=recent({0: 100, 1: 100}))
    avail = clause(quiet, "availability_pct")
    assert avail.short_window == "points"
    assert avail.burn_rate_1h == pytest.approx(200 / 12_000 / 0.001) and avail.burn_rate_5m == 0
    assert avail.burn_rate_30m == 0 and avail.alert is None

    # the same hour with the errors in the last 5 minutes: 5 m burn 200 / 1,000 / 0.001 = 200,
    # 30 m burn 200 / 6,000 / 0.001 = 33.3 -> page
    burning = service_health("shop", SLA, data, NOW, AS_OF, recent=recent({11: 200}))
    avail = clause(burning, "availability_pct")
    assert avail.burn_rate_5m == pytest.approx(200.0) and avail.burn_rate_30m == pytest.approx(200 / 6000 / 0.001)
    assert avail.alert == "page" and burning.status == "breaching"


def test_latency_clause_burns_on_slow_hours() -> None:
    report = service_health("shop", SLA, hourly(latency_ms={1: 450.0}), NOW, AS_OF)
    lat = clause(report, "latency_p99_ms")
    # the whole last hour is over 300 ms: bad ratio 1 / (1 - 0.99) = 100; 6 h: 1/6 / 0.01 = 16.7
    assert lat.burn_rate_1h == pytest.approx(100.0) and lat.burn_rate_6h == pytest.approx(100 / 6)
    assert lat.current == 450 and lat.alert == "page" and report.status == "breaching"
    # 12 of 8,640 datapoints bad, budget 86.4: 100 x (1 - 12 / 86.4) = 86.1 %
    assert lat.error_budget_remaining_pct == pytest.approx(100 * (1 - 12 / 86.4))


def test_status_no_data_and_stale() -> None:
    assert service_health("shop", SLA, {}, NOW, None).status == "no_data"
    assert service_health("shop", SLA, hourly(), NOW, AS_OF, stale_sources=["telemetry"]).status == "stale"
    old = service_health("shop", SLA, hourly(), NOW, NOW - timedelta(hours=4))
    assert old.status == "stale" and old.last_data_at == NOW - timedelta(hours=4)
    # an overspent budget is breaching even without a current burn: 1,000 errors an hour for 10 days
    spent = service_health("shop", SLA, hourly(errors={h: 1000.0 for h in range(200, 440)}), NOW, AS_OF)
    assert clause(spent, "availability_pct").error_budget_remaining_pct < 0 and spent.status == "breaching"
