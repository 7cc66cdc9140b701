"""The shared usage and cost model (costopt.engine.cost_model) against hand-computed vectors, a Monte Carlo
reference for the 1 ms rounding, and the bill for each resource kind.

Public prices used below (us-east-1, https://aws.amazon.com/lambda/pricing/, /fargate/pricing/,
/ec2/pricing/on-demand/, /ebs/pricing/): Lambda x86_64 $0.0000166667 per GB-second, $0.20 per million
requests; Fargate x86_64 $0.04048 per vCPU-hour and $0.004445 per GB-hour; m5.xlarge $0.192 per hour;
gp2 $0.10 per GB-month.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from costopt.domain.observation import Metric
from costopt.domain.resources import (
    DynamoDbTable,
    EbsVolume,
    Ec2Instance,
    EcsService,
    GenericResource,
    LambdaFunction,
)
from costopt.domain.service import Service
from costopt.engine.cost_model import (
    DEFAULT_COLD_START_RATE,
    DEFAULT_INIT_MS,
    SECONDS_PER_MONTH,
    UsageStats,
    cost_inputs,
    monthly,
    price,
)
from costopt.engine.recommend import recommend
from costopt.observe.usage import usage_from_series
from costopt.pricing import bundled_catalog, ebs_monthly, lambda_billed_duration_ms, lognormal_log_sd
from local.synthetic import generate, generate_costs

CAT = bundled_catalog()
GBS = 0.0000166667
REQ = 0.20 / 1e6
FARGATE_VCPU_H, FARGATE_GB_H = 0.04048, 0.004445
M5_XLARGE_H = 0.192
RPS = 10.0
INVOCATIONS = RPS * SECONDS_PER_MONTH  # 26,280,000 a 730-hour month


def fn(memory_mb: int = 1024, pc: int = 0) -> LambdaFunction:
    return LambdaFunction.model_validate({"resource_id": "fn", "function_name": "f",
                                          "config": {"memory_mb": memory_mb, "provisioned_concurrency": pc}})


def ecs(desired: int, min_count: int | None = None, max_count: int | None = None) -> EcsService:
    return EcsService.model_validate({"resource_id": "api", "cluster": "c", "service_name": "s", "config": {
        "cpu_units": 1024, "memory_mb": 2048, "desired_count": desired, "min_count": min_count,
        "max_count": max_count}})


# --------------------------------------------------------------------------- Lambda: 1 ms rounding


def test_billed_duration_rounds_each_invocation_up_to_the_millisecond() -> None:
    # deterministic durations bill ceil(d): a 2.3 ms function bills 3 ms, so pricing the mean underbills by 23%
    assert lambda_billed_duration_ms(2.3, 0.0) == 3
    assert pytest.approx(-0.233, abs=1e-3) == 2.3 / 3 - 1
    assert lambda_billed_duration_ms(0.4, 0.0) == 1  # at least 1 ms
    assert lambda_billed_duration_ms(120.0, 0.0) == 120
    # spread over many ms: half a millisecond on average
    assert lambda_billed_duration_ms(240.0, lognormal_log_sd(1.8)) == pytest.approx(240.5, abs=1e-6)


def test_lognormal_log_sd_solves_the_p99_over_mean_ratio() -> None:
    for ratio in (1.2, 1.8, 3.0):
        s = lognormal_log_sd(ratio)
        # p99 / mean of a lognormal = exp(z99 s - s^2 / 2)
        assert math.exp(2.3263478740408408 * s - s * s / 2) == pytest.approx(ratio, rel=1e-9)
    assert lognormal_log_sd(1.0) == 0.0 and lognormal_log_sd(0.5) == 0.0


@pytest.mark.parametrize(("mean_ms", "p99_over_mean"), [(1.2, 2.0), (2.3, 1.5), (4.0, 3.0)])
def test_billed_duration_matches_a_monte_carlo_of_rounded_invocations(mean_ms: float, p99_over_mean: float) -> None:
    """Independent reference: draw invocations from the lognormal and round each one up as AWS bills it."""
    s = lognormal_log_sd(p99_over_mean)
    mu = math.log(mean_ms) - s * s / 2
    rng = random.Random(11)
    n = 200_000
    draws = [max(1, math.ceil(rng.lognormvariate(mu, s))) for _ in range(n)]
    mc = sum(draws) / n
    se = math.sqrt(sum((d - mc) ** 2 for d in draws) / (n - 1) / n)
    assert lambda_billed_duration_ms(mean_ms, s) == pytest.approx(mc, abs=4 * se)


def test_a_short_function_is_priced_at_its_rounded_duration() -> None:
    # 2.3 ms, no spread (p99 = mean), INIT measured as none: 3 ms billed per invocation at 1 GB
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=2.3, duration_p99_mean_ms=2.3, init_ms_per_s=0.0)
    inputs = cost_inputs(fn(1024), stats, CAT)
    cost = price("lambda_function", fn(1024).config, inputs, CAT)
    assert cost.lines["duration"] == pytest.approx(INVOCATIONS * 0.003 * 1.0 * GBS, rel=1e-9)  # $1.314
    assert cost.lines["requests"] == pytest.approx(INVOCATIONS * REQ, rel=1e-9)  # $5.256
    assert "init" not in cost.lines
    assert inputs.basis == "measured"


# --------------------------------------------------------------------------- Lambda: INIT


def test_init_is_billed_for_on_demand_functions() -> None:
    # 50 ms mean (p99 100 ms), 10% cold starts of 320 ms each (Lambda Insights init_duration, summed):
    # billed per invocation 50.5 ms of duration (the 1 ms rounding) + 32 ms of INIT, at 1 GB
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=50.0, duration_p99_mean_ms=100.0,
                       init_ms_per_s=RPS * 0.10 * 320.0)
    inputs = cost_inputs(fn(1024), stats, CAT)
    cost = price("lambda_function", fn(1024).config, inputs, CAT)
    assert cost.lines["duration"] == pytest.approx(INVOCATIONS * 0.0505 * GBS, rel=1e-6)
    assert cost.lines["init"] == pytest.approx(INVOCATIONS * 0.032 * GBS, rel=1e-6)
    # leaving INIT out would underbill the GB-seconds by 39%, as issue 11 measured
    assert pytest.approx(-0.388, abs=1e-3) == 0.0505 / (0.0505 + 0.032) - 1
    assert inputs.assumptions == ()


def test_init_without_insights_is_a_labelled_default() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=100.0, duration_p99_mean_ms=200.0)
    inputs = cost_inputs(fn(1024), stats, CAT)
    assert inputs.assumptions == ("lambda_init_default",)
    per_invocation = DEFAULT_COLD_START_RATE * DEFAULT_INIT_MS  # 1% x 250 ms = 2.5 ms
    assert per_invocation == 2.5
    cost = price("lambda_function", fn(1024).config, inputs, CAT)
    assert cost.lines["init"] == pytest.approx(INVOCATIONS * 0.0025 * GBS, rel=1e-6)


def test_provisioned_environments_bill_no_separate_init() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=50.0, duration_p99_mean_ms=100.0,
                       init_ms_per_s=RPS * 0.1 * 320.0)
    inputs = cost_inputs(fn(1024, pc=5), stats, CAT)
    assert "init" not in price("lambda_function", fn(1024, pc=5).config, inputs, CAT).lines


def test_without_a_mean_duration_the_p99_is_a_flagged_upper_bound() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_p99_mean_ms=180.0, init_ms_per_s=0.0)
    inputs = cost_inputs(fn(1024), stats, CAT)
    assert inputs.basis == "upper_bound"
    assert inputs.lambda_run is not None and inputs.lambda_run.mean_duration_ms == 180.0
    assert any("upper bound" in n for n in inputs.notes)


# --------------------------------------------------------------------------- Lambda: unknown f


def test_3008_to_1792_with_unknown_f_is_not_neutral() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=100.0, duration_p99_mean_ms=200.0, init_ms_per_s=0.0)
    run = cost_inputs(fn(3008), stats, CAT).lambda_run
    assert run is not None and run.cpu_fraction is None and run.multithreaded
    assert run.ratio(1792) == pytest.approx(3008 / 1792)  # 1.68x slower, not 1.000
    # and the smaller size saves nothing: GB-s = m x d(m) stays, so no saving is claimed from it
    big = price("lambda_function", fn(3008).config, cost_inputs(fn(3008), stats, CAT), CAT).total_usd
    small = price("lambda_function", fn(1792).config, cost_inputs(fn(3008), stats, CAT), CAT).total_usd
    assert small >= big * 0.995


def test_the_recommender_never_offers_a_neutral_downsize_from_3008_without_cpu_time() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    service = Service.model_validate({
        "service_id": "big-fn", "name": "n", "team": "t", "version": 1, "created_at": now - timedelta(days=1),
        "updated_at": now, "sla": {"latency_p99_ms": 5000},
        "resources": [{"resource_id": "fn", "kind": "lambda_function", "function_name": "f",
                       "config": {"memory_mb": 3008}}],
        "telemetry": {"source": "synthetic", "synthetic": {"lambda_insights": False, "base_rps": 20}},
        "billing": {"source": "synthetic"}})
    usage = usage_from_series(service, generate(service, now - timedelta(days=3), now), 3, now)
    result = recommend(service, usage, CAT, now=now)
    for rec in result.recommendations:
        if rec.action == "lambda_memory":
            assert rec.proposed["memory_mb"] > 3008 or rec.monthly_savings_usd <= 0
            assert not any("x 1.000" in n for n in rec.evidence.notes)
    for opt in result.rejected:
        assert not (opt.action == "lambda_memory" and opt.proposed["memory_mb"] < 3008
                    and opt.monthly_savings_usd > 0.05 * opt.monthly_cost_current_usd)


# --------------------------------------------------------------------------- the bill, per kind


def day_bill(monthly_usd: float) -> float:
    return monthly_usd * 24.0 / 730.0


def test_lambda_within_five_percent_of_the_bill_stands() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=100.0, duration_p99_mean_ms=200.0, init_ms_per_s=0.0)
    model = monthly(fn(), cost_inputs(fn(), stats, CAT), CAT)
    inputs = cost_inputs(fn(), UsageStats(**{**stats.__dict__, "billed_usd_per_day": day_bill(model * 1.04),
                                             "billed_days": 14}), CAT)
    assert inputs.bill is not None and not inputs.bill.corrected and not inputs.bill.flagged
    assert inputs.bill.model_vs_bill_pct == pytest.approx((1 / 1.04 - 1) * 100, rel=1e-6)  # -3.85%
    assert inputs.basis == "measured" and monthly(fn(), inputs, CAT) == pytest.approx(model)


def test_lambda_beyond_five_percent_is_corrected_to_the_bill() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=100.0, duration_p99_mean_ms=200.0, init_ms_per_s=0.0)
    model = monthly(fn(), cost_inputs(fn(), stats, CAT), CAT)
    billed = model * 1.25
    inputs = cost_inputs(fn(), UsageStats(**{**stats.__dict__, "billed_usd_per_day": day_bill(billed),
                                             "billed_days": 14}), CAT)
    assert inputs.bill is not None and inputs.bill.corrected and inputs.basis == "billed"
    assert inputs.bill.model_vs_bill_pct == pytest.approx(-20.0, rel=1e-6)  # model = bill / 1.25
    assert monthly(fn(), inputs, CAT) == pytest.approx(billed, rel=1e-9)  # today's config now costs the bill
    # the correction is on the GB-seconds, not on the requests: an option keeps its GB-s ratio
    requests = INVOCATIONS * REQ
    run = inputs.lambda_run
    assert run is not None and run.gb_s_scale == pytest.approx((billed - requests) / (model - requests))


def test_lambda_with_provisioned_concurrency_is_flagged_not_corrected() -> None:
    stats = UsageStats(requests_per_s=RPS, duration_mean_ms=100.0, duration_p99_mean_ms=200.0)
    model = monthly(fn(pc=2), cost_inputs(fn(pc=2), stats, CAT), CAT)
    inputs = cost_inputs(fn(pc=2), UsageStats(**{**stats.__dict__, "billed_usd_per_day": day_bill(model * 1.3),
                                                 "billed_days": 7}), CAT)
    assert inputs.bill is not None and inputs.bill.flagged and not inputs.bill.corrected


def test_a_fixed_ecs_service_is_corrected_to_the_tasks_it_runs() -> None:
    # 4 tasks of 1 vCPU / 2 GB configured; the bill shows 3 on average (e.g. one task crash-looping)
    task_month = (FARGATE_VCPU_H + 2 * FARGATE_GB_H) * 730  # $35.8408 per task-month
    inputs = cost_inputs(ecs(4), UsageStats(billed_usd_per_day=day_bill(3 * task_month), billed_days=14), CAT)
    assert inputs.bill is not None and inputs.bill.corrected and inputs.basis == "billed"
    assert inputs.bill.model_vs_bill_pct == pytest.approx(100 / 3, rel=1e-6)  # 4 vs 3 tasks: +33.3%
    assert monthly(ecs(4), inputs, CAT) == pytest.approx(3 * task_month, rel=1e-9)
    # an option of 2 tasks runs 2 x 3/4 of them on average
    assert monthly(ecs(4), inputs, CAT, ecs(2).config) == pytest.approx(1.5 * task_month, rel=1e-9)


def test_an_autoscaled_ecs_service_runs_what_its_autoscaler_would() -> None:
    # demand 1.6 cores in 12 hours, 0.4 in the other 12; 1-vCPU tasks between 1 and 8, desired 2 today
    hourly_pct = tuple([80.0] * 12 + [20.0] * 12)  # of 2 x 1 vCPU: 1.6 and 0.4 cores
    svc = ecs(2, 1, 8)
    inputs = cost_inputs(svc, UsageStats(cpu_pct_hourly=hourly_pct), CAT)
    assert inputs.scaling is not None and inputs.basis == "measured"
    task_month = (FARGATE_VCPU_H + 2 * FARGATE_GB_H) * 730
    # at the inferred target the day runs 2 tasks on average (e.g. 3 by day and 1 by night at 60%)
    assert monthly(svc, inputs, CAT) == pytest.approx(2 * task_month, rel=1e-9)
    # a desired count changes nothing the autoscaler decides
    assert monthly(svc, inputs, CAT, ecs(1, 1, 8).config) == pytest.approx(2 * task_month, rel=1e-9)
    # half-size tasks: twice as many of them (ceil per hour), at half the price each
    half = EcsService.model_validate({**svc.model_dump(), "config": {**svc.config.model_dump(), "cpu_units": 512,
                                                                     "memory_mb": 1024}})
    t = inputs.scaling.target
    expected_tasks = (12 * math.ceil(1.6 / (0.5 * t) - 1e-9) + 12 * math.ceil(0.4 / (0.5 * t) - 1e-9)) / 24
    half_task_month = (0.5 * FARGATE_VCPU_H + 1 * FARGATE_GB_H) * 730
    assert monthly(svc, inputs, CAT, half.config) == pytest.approx(expected_tasks * half_task_month, rel=1e-9)


def test_a_generic_pool_is_corrected_like_ecs() -> None:
    res = GenericResource.model_validate({"resource_id": "d", "workload": "ns/app", "config": {
        "replicas": 6, "cpu_cores": 2, "memory_gb": 8, "price_per_core_hour_usd": 0.04,
        "price_per_gb_hour_usd": 0.005}})
    per_replica = (2 * 0.04 + 8 * 0.005) * 730  # $87.60
    inputs = cost_inputs(res, UsageStats(billed_usd_per_day=day_bill(5 * per_replica), billed_days=10), CAT)
    assert inputs.bill is not None and inputs.bill.corrected
    assert monthly(res, inputs, CAT) == pytest.approx(5 * per_replica, rel=1e-9)


def test_an_ec2_instance_stopped_half_the_time_is_corrected_to_its_running_hours() -> None:
    box = Ec2Instance.model_validate({"resource_id": "h", "instance_id": "i-0123456789abcdef0",
                                      "config": {"instance_type": "m5.xlarge"}})
    inputs = cost_inputs(box, UsageStats(billed_usd_per_day=day_bill(M5_XLARGE_H * 365), billed_days=14), CAT)
    assert inputs.bill is not None and inputs.bill.corrected and inputs.running_fraction == pytest.approx(0.5)
    assert monthly(box, inputs, CAT) == pytest.approx(M5_XLARGE_H * 365, rel=1e-9)
    # a bill above the always-on price has a cause the model does not price: flagged, figures unchanged
    over = cost_inputs(box, UsageStats(billed_usd_per_day=day_bill(M5_XLARGE_H * 730 * 1.2), billed_days=14), CAT)
    assert over.bill is not None and over.bill.flagged and monthly(box, over, CAT) == pytest.approx(M5_XLARGE_H * 730)


def test_ebs_and_dynamodb_gaps_are_flagged() -> None:
    vol = EbsVolume.model_validate({"resource_id": "v", "volume_id": "vol-0123456789abcdef0",
                                    "config": {"volume_type": "gp2", "size_gb": 500}})
    snap = cost_inputs(vol, UsageStats(billed_usd_per_day=day_bill(50.0 + 12.0), billed_days=14), CAT)
    assert snap.bill is not None and snap.bill.flagged and monthly(vol, snap, CAT) == pytest.approx(50.0)
    assert snap.bill.model_vs_bill_pct == pytest.approx((50 / 62 - 1) * 100)
    table = DynamoDbTable.model_validate({"resource_id": "t", "table_name": "sessions",
                                          "config": {"billing_mode": "PROVISIONED", "rcu": 10, "wcu": 10}})
    model = 10 * 730 * 0.00013 + 10 * 730 * 0.00065  # $5.694
    tbl = cost_inputs(table, UsageStats(billed_usd_per_day=day_bill(model + 2.5), billed_days=14), CAT)
    assert tbl.bill is not None and tbl.bill.flagged
    assert monthly(table, tbl, CAT) == pytest.approx(model, rel=1e-9)


# --------------------------------------------------------------------------- storage per month


@pytest.mark.parametrize(("year", "month", "days"), [(2026, 12, 31), (2026, 11, 30), (2027, 2, 28), (2028, 2, 29)])
def test_storage_is_priced_per_calendar_month(year: int, month: int, days: int) -> None:
    # 500 GB gp2 for a whole month is 500 x $0.10 = $50.00, whatever the month's length
    daily = ebs_monthly(CAT, "gp2", 500, hours=24.0, month_hours=24.0 * days).total_usd
    assert round(daily * days, 2) == 50.00
    assert ebs_monthly(CAT, "gp2", 500).total_usd == pytest.approx(50.0)  # the 730-hour monthly figure


def test_the_synthetic_bill_for_a_31_day_month_of_gp2_is_exactly_the_monthly_price() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    service = Service.model_validate({
        "service_id": "vol", "name": "n", "team": "t", "version": 1, "created_at": now, "updated_at": now,
        "resources": [{"resource_id": "v", "kind": "ebs_volume", "volume_id": "vol-0123456789abcdef0",
                       "config": {"volume_type": "gp2", "size_gb": 500}}],
        "telemetry": {"source": "synthetic", "synthetic": {"history_days": 93}},
        "billing": {"source": "synthetic"}})
    start = datetime(2026, 12, 1, tzinfo=UTC)
    (series,) = generate_costs(service, start, now)
    assert len(series.points) == 31
    assert round(sum(p.v for p in series.points), 2) == 50.00  # not 744/730 of it ($50.96)
    assert series.metric == Metric.COST_USD
