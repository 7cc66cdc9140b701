"""What each telemetry source declares it can serve (``TelemetrySource.serves``) is what it returns,
and the registry answers "which sources serve this kind" from those declarations only."""


from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt.connectors import base
from costopt.connectors.base import METRICS_BY_KIND, TelemetrySource, served_kinds, serves, sources_serving
from costopt.connectors.cloudwatch import CloudWatchTelemetry, queries_for, to_series
from costopt.connectors.prometheus import DEFAULT_QUERIES, PrometheusTelemetry
from costopt.domain.observation import Metric
from costopt.domain.service import Service
from local.synthetic import SyntheticTelemetry, generate

T0 = datetime(2026, 11, 20, tzinfo=UTC)

RESOURCES: dict[str, dict[str, Any]] = {
    "lambda_function": {"function_name": "checkout-api", "config": {"memory_mb": 1024}},
    "ecs_service": {"cluster": "shop", "service_name": "web", "config": {
        "cpu_units": 512, "memory_mb": 1024, "desired_count": 2},
        "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/73e2d6bc24d8a067",
        "load_balancer_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/50dc6c495c0c9"},
    "ec2_instance": {"instance_id": "i-0123456789abcdef0", "config": {"instance_type": "m5.large"}},
    "ebs_volume": {"volume_id": "vol-0123456789abcdef0", "config": {"volume_type": "gp2", "size_gb": 100}},
    "dynamodb_table": {"table_name": "orders", "config": {"billing_mode": "PAY_PER_REQUEST"}},
    "generic": {"workload": "shop/web", "config": {"replicas": 2, "cpu_cores": 1, "memory_gb": 2}},
}


def service(source: str = "synthetic") -> Service:
    return Service.model_validate({
        "service_id": "shop", "version": 1, "created_at": T0, "updated_at": T0, "name": "Shop", "team": "shop",
        "resources": [{"resource_id": kind, "kind": kind, **body} for kind, body in RESOURCES.items()],
        "telemetry": {"source": source, "synthetic": {"history_days": 1, "lambda_insights": True}},
        "billing": {"source": "synthetic"},
    })


@pytest.mark.parametrize("cls", [CloudWatchTelemetry, PrometheusTelemetry, SyntheticTelemetry])
def test_every_builtin_source_declares_what_it_serves(cls: type[TelemetrySource]) -> None:
    assert "serves" in cls.__dict__ and cls.serves  # its own declaration, not the base class's None
    for kind, metrics in cls.serves.items():
        assert metrics and set(metrics) <= set(METRICS_BY_KIND[kind]), kind


def test_cloudwatch_serves_exactly_what_its_queries_turn_into() -> None:
    svc = service("cloudwatch")
    t = T0 + timedelta(minutes=5)
    got: dict[str, set[Metric]] = {}
    for resource in svc.resources:
        values = {q.key: {t: 1.0} for q in queries_for(resource, ("p99", "p95"))}
        got[resource.kind] = {s.metric for s in to_series(resource, values, 300)}
    assert {k: set(v) for k, v in CloudWatchTelemetry.serves.items()} == {k: v for k, v in got.items() if v}
    assert got["generic"] == set() and "generic" not in CloudWatchTelemetry.serves


def test_prometheus_serves_workloads_with_its_default_queries() -> None:
    assert PrometheusTelemetry.serves == {"generic": tuple(DEFAULT_QUERIES)}


def test_synthetic_serves_every_metric_of_every_kind() -> None:
    series = generate(service(), T0 - timedelta(hours=2), T0)
    got: dict[str, set[Metric]] = {}
    for s in series:
        got.setdefault(s.resource_id, set()).add(s.metric)  # resource_id == kind here
    assert got == {k: set(v) for k, v in SyntheticTelemetry.serves.items()}
    assert SyntheticTelemetry.serves == METRICS_BY_KIND


def test_which_sources_serve_a_kind() -> None:
    assert sources_serving("lambda_function") == ["cloudwatch", "synthetic"]
    assert sources_serving("generic") == ["prometheus", "synthetic"]
    assert sources_serving("dynamodb_table") == ["cloudwatch", "synthetic"]
    assert not serves("prometheus", "ebs_volume") and serves("cloudwatch", "ebs_volume")
    assert served_kinds("prometheus") == {"generic": tuple(DEFAULT_QUERIES)}


def test_an_undeclared_source_is_asked_for_everything() -> None:
    class Undeclared(TelemetrySource):
        name = "synthetic"

        def fetch(self, service: Service, start: datetime, end: datetime) -> list[Any]:
            return []

    base.register_telemetry("synthetic", Undeclared)
    try:
        assert served_kinds("synthetic") is None and serves("synthetic", "generic")
    finally:
        base.register_telemetry("synthetic", None)
    assert served_kinds("synthetic") is METRICS_BY_KIND


@pytest.fixture
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployed function: no COSTOPT_SOURCE_PLUGINS, so only the sources the package ships."""
    monkeypatch.setattr(base, "_plugins", {})
    monkeypatch.setattr(base, "_instances", {})


def test_the_synthetic_source_is_a_plugin_the_package_does_not_ship(no_plugins: None) -> None:
    assert base.telemetry_sources() == ["cloudwatch", "prometheus"]
    assert base.billing_sources() == ["cost_explorer", "focus_csv", "http"]
    with pytest.raises(base.ConnectorError) as err:
        base.source_for(service())
    assert err.value.source == "synthetic" and not err.value.retryable
    assert sources_serving("lambda_function") == ["cloudwatch"]


@pytest.mark.parametrize(("plugins", "expected"), [("", ["cloudwatch", "prometheus"]),
                                                   ("local.synthetic", ["cloudwatch", "prometheus", "synthetic"])])
def test_plugins_are_named_by_the_environment(plugins: str, expected: list[str]) -> None:
    import os
    import subprocess
    import sys

    code = "from costopt.connectors.base import telemetry_sources; print(','.join(telemetry_sources()))"
    env = dict(os.environ, COSTOPT_SOURCE_PLUGINS=plugins, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().split(",") == expected
