"""Options whose cost rests on an assumption say so: the Fargate Spot discount (``fargate_spot_discount``)
and the estimated unit prices of a generic resource registered without its own (``generic_unit_price_estimate``),
through the recommenders, the engine and the HTTP API (moto DynamoDB, synthetic telemetry)."""


from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from costopt.domain.service import Service
from costopt.engine.recommend import Context, recommend
from costopt.engine.recommend.ecs import recommend_ecs
from costopt.engine.recommend.generic import recommend_generic
from costopt.observe.usage import usage_from_series
from costopt.pricing import FARGATE_SPOT_DISCOUNT, GENERIC_UNIT_PRICE_ESTIMATE, bundled_catalog, fargate_monthly
from costopt.pricing.catalog import Assumption
from local.synthetic import generate

NOW = datetime(2026, 11, 20, tzinfo=UTC)
CATALOG = bundled_catalog()
FARGATE_URL = "https://aws.amazon.com/fargate/pricing/"
WEB = {"kind": "ecs_service", "cluster": "c", "service_name": "s",
       "config": {"cpu_units": 2048, "memory_mb": 8192, "desired_count": 6}}
K8S = {"kind": "generic", "workload": "ns/app", "config": {"replicas": 8, "cpu_cores": 2, "memory_gb": 8}}


def service(resources: dict[str, dict[str, Any]], **extra: Any) -> Service:
    return Service.model_validate({
        "service_id": "shop", "name": "Shop", "team": "t", "version": 1,
        "created_at": NOW - timedelta(days=1), "updated_at": NOW,
        "sla": {"latency_p99_ms": 400, "availability_pct": 99.9},
        "resources": [{"resource_id": rid, **spec} for rid, spec in resources.items()],
        "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"}, **extra})


def context(svc: Service, rid: str, catalog=CATALOG) -> Context:
    usage = usage_from_series(svc, generate(svc, NOW - timedelta(days=3), NOW), 3, NOW)
    res = next(r for r in svc.resources if r.resource_id == rid)
    ru = usage.resource(rid)
    assert ru is not None
    return Context(service=svc, resource=res, usage=ru, catalog=catalog, strategy="balanced")


def test_ecs_spot_option_rests_on_the_spot_assumption_and_cites_it():
    plan = recommend_ecs(context(service({"web": WEB}), "web"))
    spot = next(o for o in plan.options if o.action == "ecs_spot")
    assert spot.assumptions == [FARGATE_SPOT_DISCOUNT]
    note = next(n for n in spot.notes if FARGATE_SPOT_DISCOUNT in n)
    assert "70% off on-demand" in note and FARGATE_URL in note and "as of 2026-11-29" in note
    assert "set by the bundled catalog" in note
    assert spot.monthly_cost_usd == pytest.approx(0.3 * plan.current_cost_usd)
    # on-demand options rest on published prices only
    assert all(o.assumptions == [] for o in plan.options if o.action != "ecs_spot")


def test_every_option_of_a_service_already_on_spot_rests_on_it():
    on_spot = {**WEB, "config": {**WEB["config"], "capacity": "spot"}}
    plan = recommend_ecs(context(service({"web": on_spot}), "web"))
    assert plan.options and all(o.assumptions == [FARGATE_SPOT_DISCOUNT] for o in plan.options)
    assert all(any(FARGATE_SPOT_DISCOUNT in n for n in o.notes) for o in plan.options)


def test_an_overridden_discount_prices_and_labels_the_option():
    override = Assumption(id=FARGATE_SPOT_DISCOUNT, value=0.6, text="ours", url="CUR 2026-11", as_of="2026-11-30",
                          set_by="COSTOPT_FARGATE_SPOT_DISCOUNT")
    cat = CATALOG.with_fargate_spot(override)
    plan = recommend_ecs(context(service({"web": WEB}), "web", cat))
    spot = next(o for o in plan.options if o.action == "ecs_spot")
    od = fargate_monthly(cat, cpu_units=2048, memory_mb=8192, tasks=6).total_usd
    assert spot.monthly_cost_usd == pytest.approx(0.4 * od)
    assert any("60% off on-demand" in n and "COSTOPT_FARGATE_SPOT_DISCOUNT" in n and "CUR 2026-11" in n
               for n in spot.notes)
    with pytest.raises(ValueError):
        CATALOG.with_fargate_spot(override.model_copy(update={"value": 1.0}))


def test_a_spot_saving_on_the_bundled_assumption_is_at_most_p2_and_p1_once_the_deployment_sets_it():
    svc = service({"web": WEB}, policy={"allow_spot": True})
    usage = usage_from_series(svc, generate(svc, NOW - timedelta(days=3), NOW), 3, NOW)
    spot = next(r for r in recommend(svc, usage, CATALOG, now=NOW).recommendations if r.action == "ecs_spot")
    # 6 tasks of 2 vCPU / 8 GB: 6 x (2 x 0.04048 + 8 x 0.004445) x 730 = $510.36 a month on demand; 70% off
    # is a $357.25 saving -- P1 by the amount alone
    assert spot.monthly_savings_usd == pytest.approx(357.25, abs=0.01) and spot.performance_risk <= 2
    assert spot.priority == "P2"
    assert spot.evidence.cost_model is not None and FARGATE_SPOT_DISCOUNT in spot.evidence.cost_model.assumptions
    confirmed = CATALOG.with_fargate_spot(Assumption(
        id=FARGATE_SPOT_DISCOUNT, value=0.7, text="our billed rate", url="CUR 2026-11", as_of="2026-11-30",
        set_by="COSTOPT_FARGATE_SPOT_DISCOUNT"))
    spot2 = next(r for r in recommend(svc, usage, confirmed, now=NOW).recommendations if r.action == "ecs_spot")
    assert spot2.priority == "P1"


def test_generic_without_prices_is_priced_at_the_labelled_estimate():
    plan = recommend_generic(context(service({"k8s": K8S}), "k8s"))
    assert plan.current_cost_usd == pytest.approx(8 * (2 * 0.04048 + 8 * 0.004445) * 730)
    (warning,) = plan.warnings
    assert GENERIC_UNIT_PRICE_ESTIMATE in warning and FARGATE_URL in warning
    assert plan.options and all(o.assumptions == [GENERIC_UNIT_PRICE_ESTIMATE] for o in plan.options)


def test_generic_with_its_own_prices_has_no_label():
    own = {**K8S, "config": {**K8S["config"], "price_per_core_hour_usd": 0.03, "price_per_gb_hour_usd": 0.004}}
    plan = recommend_generic(context(service({"k8s": own}), "k8s"))
    assert plan.current_cost_usd == pytest.approx(8 * (2 * 0.03 + 8 * 0.004) * 730)
    assert plan.warnings == [] and all(o.assumptions == [] for o in plan.options)


def test_the_engine_passes_the_estimate_warning_and_notes_on():
    svc = service({"k8s": K8S})
    result = recommend(svc, usage_from_series(svc, generate(svc, NOW - timedelta(days=3), NOW), 3, NOW), CATALOG,
                       now=NOW)
    assert any(w.startswith("k8s: unit prices are an estimate") for w in result.warnings)
    assert result.recommendations
    for rec in result.recommendations:
        assert any(GENERIC_UNIT_PRICE_ESTIMATE in n for n in rec.evidence.notes)
