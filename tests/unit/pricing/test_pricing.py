"""Cost functions against public AWS us-east-1 prices (the bundled, dated catalog)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from costopt.config import settings
from costopt.domain.common import HOURS_PER_MONTH
from costopt.domain.resources import (
    DynamoDbConfig,
    DynamoDbTable,
    EbsConfig,
    EbsVolume,
    Ec2Config,
    Ec2Instance,
    EcsConfig,
    EcsService,
    GenericConfig,
    GenericResource,
    LambdaConfig,
    LambdaFunction,
)
from costopt.pricing import (
    FARGATE_SPOT_DISCOUNT,
    GENERIC_UNIT_PRICE_ESTIMATE,
    GP3_BASELINE_IOPS,
    GP3_BASELINE_THROUGHPUT_MBPS,
    CostBreakdown,
    PricingError,
    ResourceCostUsage,
    bundled_catalog,
    config_cost,
    dynamodb_monthly,
    ebs_monthly,
    ec2_hourly,
    ec2_monthly,
    fargate_hourly,
    fargate_monthly,
    fargate_valid_pairs,
    generic_hourly,
    generic_unit_prices,
    get_catalog,
    graviton_equivalent,
    instance_type,
    instance_types,
    is_valid_fargate,
    lambda_cost,
    lambda_gb_second_price,
    monthly_cost,
    round_usd,
    smallest_valid_fargate,
)
from costopt.pricing.catalog import DATA_DIR, FargateArchPrices


@pytest.fixture(scope="module")
def cat():
    return bundled_catalog()


# ------------------------------------------------------------------ catalog file


def test_catalog_file_is_dated_and_sourced():
    raw = json.loads((DATA_DIR / "us-east-1.json").read_text())
    assert raw["region"] == "us-east-1"
    assert raw["as_of"][:4].isdigit() and len(raw["as_of"]) == 10
    for service in ("lambda", "fargate", "ec2", "ebs", "dynamodb"):
        assert raw["source"]["urls"][service].startswith("https://aws.amazon.com/")
        # each section says where its figures come from, when, and how
        src = raw[service]["source"]
        assert src["kind"] == "price" and src["method"] == "transcribed" and src["as_of"] == raw["as_of"]
        assert src["url"] == raw["source"]["urls"][service]
        assert src["offer_file"].startswith("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/")
    # Fargate Spot is an assumption, not a price: AWS advertises "up to 70%" and publishes varying Spot rates
    spot = raw["fargate"]["spot"]
    assert spot["id"] == "fargate_spot_discount" and spot["kind"] == "assumption" and spot["value"] == 0.7
    assert spot["url"] == "https://aws.amazon.com/fargate/pricing/" and spot["as_of"] == raw["as_of"]
    assert "up to a 70% discount" in spot["text"] and "COSTOPT_FARGATE_SPOT_DISCOUNT" in spot["text"]
    assert "spot_discount" not in raw["fargate"]
    assert "2024-11-01" in raw["dynamodb"]["source"]["note"]  # DynamoDB on-demand price cut recorded
    assert any("2024-11-01" in a for a in raw["assumptions"])


@pytest.mark.parametrize(("figure", "item", "url"), [
    ("lambda", None, "https://aws.amazon.com/lambda/pricing/"),
    ("lambda_function", None, "https://aws.amazon.com/lambda/pricing/"),
    ("fargate", None, "https://aws.amazon.com/fargate/pricing/"),
    ("ecs_service", None, "https://aws.amazon.com/fargate/pricing/"),
    ("ec2", None, "https://aws.amazon.com/ec2/pricing/on-demand/"),
    ("ec2", "m5.large", "https://aws.amazon.com/ec2/pricing/on-demand/"),
    ("ebs", None, "https://aws.amazon.com/ebs/pricing/"),
    ("dynamodb_table", None, "https://aws.amazon.com/dynamodb/pricing/"),
])
def test_source_of_each_priced_figure(cat, figure, item, url):
    (src,) = cat.source_of(figure, item)
    assert src.kind == "price" and src.url == url and src.as_of == cat.as_of == "2026-11-29"
    assert src.cite() == f"{url} (transcribed, as of 2026-11-29)"


def test_source_of_fargate_spot_is_the_on_demand_price_and_the_assumption(cat):
    price, assumption = cat.source_of("fargate_spot")
    assert price == cat.fargate.source
    assert assumption.kind == "assumption" and assumption.id == FARGATE_SPOT_DISCOUNT
    assert assumption.value == cat.fargate.spot_discount == 0.7 and assumption.set_by == "catalog"
    assert assumption.cite() == ("assumption fargate_spot_discount = 0.7, set by the bundled catalog "
                                 "(https://aws.amazon.com/fargate/pricing/, as of 2026-11-29)")
    with pytest.raises(KeyError):
        cat.source_of("ec2", "m5.metal")
    with pytest.raises(KeyError):
        cat.source_of("ec2_spot", "m5.large")  # not enriched with Spot prices
    with pytest.raises(ValueError):
        cat.source_of("s3")


def test_sources_for_a_config(cat):
    assert cat.sources_for("ecs_service", EcsConfig(cpu_units=256, memory_mb=512, desired_count=1)) \
        == [cat.fargate.source]
    spot = cat.sources_for("ecs_service", EcsConfig(cpu_units=256, memory_mb=512, desired_count=1, capacity="spot"))
    assert [c.kind for c in spot] == ["price", "assumption"]
    assert cat.sources_for("ec2_instance", Ec2Config(instance_type="c7g.large")) == [cat.ec2.source]
    assert cat.sources_for("ebs_volume", EbsConfig(volume_type="gp3", size_gb=10)) == [cat.ebs.source]
    own = GenericConfig(replicas=1, cpu_cores=1, memory_gb=1, price_per_core_hour_usd=0.03, price_per_gb_hour_usd=0.004)
    assert cat.sources_for("generic", own) == []  # the user's own prices
    assert cat.sources_for("generic", GenericConfig(replicas=1, cpu_cores=1, memory_gb=1)) == [cat.fargate.source]


def test_fargate_spot_discount_is_overridable_by_setting(cat, monkeypatch):
    monkeypatch.setattr(settings, "fargate_spot_discount", 0.65)
    monkeypatch.setattr(settings, "fargate_spot_discount_source", "CUR 2026-11: SpotUsage-Fargate vs Fargate")
    monkeypatch.setattr(settings, "fargate_spot_discount_as_of", date(2026, 11, 30))
    over = bundled_catalog()
    assert over is bundled_catalog() and over is not cat  # one object per setting
    assert over.fargate.spot_discount == 0.65 and cat.fargate.spot_discount == 0.7
    spot = over.fargate.spot
    assert (spot.set_by, spot.url, spot.as_of) == ("COSTOPT_FARGATE_SPOT_DISCOUNT",
                                                   "CUR 2026-11: SpotUsage-Fargate vs Fargate", "2026-11-30")
    od = fargate_hourly(over, 512, 1024)
    assert fargate_hourly(over, 512, 1024, capacity="spot") == pytest.approx(0.35 * od)
    assert fargate_monthly(over, cpu_units=512, memory_mb=1024, capacity="spot").total_usd \
        == pytest.approx(0.35 * od * HOURS_PER_MONTH)
    assert get_catalog("us-east-1") is over
    assert over.ec2 == cat.ec2  # nothing else changes


def test_fargate_spot_setting_is_validated():
    from costopt.config import Settings

    assert Settings(COSTOPT_FARGATE_SPOT_DISCOUNT="0.6").fargate_spot_discount == 0.6
    assert Settings().fargate_spot_discount is None
    for bad in ("1", "-0.1", "seventy"):
        with pytest.raises(ValueError):
            Settings(COSTOPT_FARGATE_SPOT_DISCOUNT=bad)


def test_get_catalog_us_east_1_is_the_bundled_file_without_warnings(cat):
    assert get_catalog("us-east-1") is cat
    assert cat.warnings == ()


def test_catalog_covers_every_family_and_size(cat):
    families = ["t3", "t4g", "m5", "m6i", "m6g", "m7g", "c5", "c6i", "c6g", "c7g", "r5", "r6i", "r6g", "r7g"]
    for fam in families:
        sizes = {t.size for t in instance_types(cat, family=fam)}
        expected = {"large", "xlarge", "2xlarge"} | (set() if fam.startswith("t") else {"4xlarge"})
        assert sizes == expected, fam


# ------------------------------------------------------------------ Lambda


@pytest.mark.parametrize(("arch", "expected"), [("x86_64", 2.70), ("arm64", 2.20)])
def test_lambda_one_million_512mb_300ms(cat, arch, expected):
    cost = lambda_cost(cat, invocations=1_000_000, avg_duration_ms=300, memory_mb=512, architecture=arch)
    assert round_usd(cost.total_usd) == expected
    assert cost.lines["requests"] == pytest.approx(0.20)
    # 150,000 GB-s at the first-tier price
    first_tier = cat.lambda_.architectures[arch].duration_tiers[0].usd_per_gb_second
    assert cost.lines["duration"] == pytest.approx(150_000 * first_tier)


def test_lambda_free_tier_covers_small_workload(cat):
    cost = lambda_cost(cat, invocations=1_000_000, avg_duration_ms=300, memory_mb=512, free_tier=True)
    assert cost.total_usd == 0.0
    bigger = lambda_cost(cat, invocations=3_000_000, avg_duration_ms=300, memory_mb=512, free_tier=True)
    # 450,000 GB-s - 400,000 free = 50,000 GB-s; 2M billable requests
    assert bigger.lines["duration"] == pytest.approx(50_000 * 0.0000166667)
    assert bigger.lines["requests"] == pytest.approx(0.40)


def test_lambda_duration_tier_boundary_x86(cat):
    # 1 GB x 1 s invocations: GB-s == invocations
    at_boundary = lambda_cost(cat, invocations=6e9, avg_duration_ms=1000, memory_mb=1024)
    assert at_boundary.lines["duration"] == pytest.approx(6e9 * 0.0000166667)
    past = lambda_cost(cat, invocations=6e9 + 1e9, avg_duration_ms=1000, memory_mb=1024)
    assert past.lines["duration"] == pytest.approx(6e9 * 0.0000166667 + 1e9 * 0.0000150000)
    beyond = lambda_cost(cat, invocations=16e9, avg_duration_ms=1000, memory_mb=1024)
    assert beyond.lines["duration"] == pytest.approx(6e9 * 0.0000166667 + 9e9 * 0.000015 + 1e9 * 0.0000133334)


def test_lambda_arm_tiers_and_marginal_price(cat):
    cost = lambda_cost(cat, invocations=8e9, avg_duration_ms=1000, memory_mb=1024, architecture="arm64")
    assert cost.lines["duration"] == pytest.approx(7.5e9 * 0.0000133334 + 0.5e9 * 0.0000120001)
    assert lambda_gb_second_price(cat, "arm64", 0) == 0.0000133334
    assert lambda_gb_second_price(cat, "arm64", 7.5e9) == 0.0000120001
    assert lambda_gb_second_price(cat, "x86_64", 20e9) == 0.0000133334


def test_lambda_tiers_prorate_for_shorter_periods(cat):
    # half a month: the first tier ends at 3B GB-s
    cost = lambda_cost(cat, invocations=4e9, avg_duration_ms=1000, memory_mb=1024, hours=HOURS_PER_MONTH / 2)
    assert cost.lines["duration"] == pytest.approx(3e9 * 0.0000166667 + 1e9 * 0.000015)


def test_lambda_provisioned_concurrency(cat):
    # 10 x 1 GB provisioned for the month; 1M x 1 s x 1 GB = 1M GB-s run on it (capacity 26.28M GB-s)
    cost = lambda_cost(cat, invocations=1_000_000, avg_duration_ms=1000, memory_mb=1024, provisioned_concurrency=10)
    capacity = 10 * 730 * 3600
    assert cost.lines["provisioned_concurrency"] == pytest.approx(capacity * 0.0000041667)  # $109.50
    assert round_usd(cost.lines["provisioned_concurrency"]) == 109.50
    assert cost.lines["provisioned_duration"] == pytest.approx(1e6 * 0.0000097222)
    assert cost.lines["duration"] == 0.0
    # spill-over beyond the provisioned capacity is billed on-demand
    spill = lambda_cost(cat, invocations=30e6, avg_duration_ms=1000, memory_mb=1024, provisioned_concurrency=10)
    assert spill.lines["duration"] == pytest.approx((30e6 - capacity) * 0.0000166667)
    # the free tier does not apply to functions with provisioned concurrency
    free = lambda_cost(cat, invocations=1_000_000, avg_duration_ms=1000, memory_mb=1024,
                       provisioned_concurrency=10, free_tier=True)
    assert free.lines["requests"] == pytest.approx(0.20)


# ------------------------------------------------------------------ Fargate


def test_fargate_one_vcpu_two_gb_month(cat):
    x86 = fargate_monthly(cat, cpu_units=1024, memory_mb=2048, architecture="x86_64")
    arm = fargate_monthly(cat, cpu_units=1024, memory_mb=2048, architecture="arm64")
    assert round_usd(x86.total_usd) == 36.04
    assert round_usd(arm.total_usd) == 28.84
    assert round_usd(x86.lines["vcpu"]) == 29.55 and round_usd(x86.lines["memory"]) == 6.49
    assert round_usd(arm.lines["vcpu"]) == 23.64 and round_usd(arm.lines["memory"]) == 5.20
    assert fargate_hourly(cat, 1024, 2048) * HOURS_PER_MONTH == pytest.approx(x86.total_usd)


def test_fargate_spot_is_thirty_percent_of_on_demand_and_x86_only(cat):
    od = fargate_hourly(cat, 512, 1024, "x86_64", "on_demand")
    assert fargate_hourly(cat, 512, 1024, "x86_64", "spot") == pytest.approx(0.3 * od)
    assert cat.fargate.spot.kind == "assumption"  # 0.3x rests on the fargate_spot_discount assumption
    with pytest.raises(PricingError):
        fargate_hourly(cat, 512, 1024, "arm64", "spot")


def test_fargate_valid_pairs(cat):
    pairs = fargate_valid_pairs(cat)
    assert (256, 512) in pairs and (256, 2048) in pairs and (256, 3072) not in pairs
    assert not is_valid_fargate(cat, 1024, 1024)
    assert is_valid_fargate(cat, 4096, 30720) and not is_valid_fargate(cat, 4096, 31744)
    assert is_valid_fargate(cat, 8192, 16384 + 4096) and not is_valid_fargate(cat, 8192, 16384 + 1024)
    assert is_valid_fargate(cat, 16384, 122880) and not is_valid_fargate(cat, 16384, 36864)
    assert len([p for p in pairs if p[0] == 2048]) == 13  # 4..16 GB in 1 GB steps
    assert pairs == sorted(pairs)
    with pytest.raises(PricingError):
        fargate_hourly(cat, 1024, 1024)


def test_smallest_valid_fargate(cat):
    assert smallest_valid_fargate(cat, 0.3, 900) == (512, 1024)
    assert smallest_valid_fargate(cat, 0.25, 512) == (256, 512)
    assert smallest_valid_fargate(cat, 1.0, 1024) == (1024, 2048)
    assert smallest_valid_fargate(cat, 2.5, 3000) == (4096, 8192)
    assert smallest_valid_fargate(cat, 17, 1024) is None
    assert smallest_valid_fargate(cat, 1, 130_000) is None


# ------------------------------------------------------------------ EC2


def test_ec2_m5_large_month(cat):
    assert round_usd(ec2_monthly(cat, "m5.large").total_usd) == 70.08
    assert ec2_hourly(cat, "m5.large") == 0.096
    # $0.096/h: https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, us-east-1), transcribed 2026-11-29
    assert cat.source_of("ec2", "m5.large")[0].cite() == \
        "https://aws.amazon.com/ec2/pricing/on-demand/ (transcribed, as of 2026-11-29)"


@pytest.mark.parametrize(
    ("large", "price"),
    [("m6i.large", 0.096), ("m6g.large", 0.077), ("m7g.large", 0.0816), ("c5.large", 0.085), ("c6i.large", 0.085),
     ("c6g.large", 0.068), ("c7g.large", 0.0725), ("r5.large", 0.126), ("r6i.large", 0.126), ("r6g.large", 0.1008),
     ("r7g.large", 0.1071), ("t3.large", 0.0832), ("t4g.large", 0.0672)],
)
def test_ec2_public_large_prices_and_doubling(cat, large, price):
    family = large.split(".")[0]
    assert ec2_hourly(cat, large) == price
    assert ec2_hourly(cat, f"{family}.xlarge") == pytest.approx(2 * price)
    assert ec2_hourly(cat, f"{family}.2xlarge") == pytest.approx(4 * price)


def test_instance_specs(cat):
    m5 = instance_type(cat, "m5.xlarge")
    assert (m5.vcpu, m5.memory_gib, m5.architecture, m5.generation) == (4, 16, "x86_64", 5)
    assert instance_type(cat, "c7g.4xlarge").memory_gib == 32
    assert instance_type(cat, "r6g.2xlarge").memory_gib == 64
    assert instance_type(cat, "t4g.large").burstable_baseline_cpu_pct == 30
    arm = instance_types(cat, architecture="arm64")
    assert arm and all(t.architecture == "arm64" for t in arm)
    assert [t.hourly_usd for t in arm] == sorted(t.hourly_usd for t in arm)
    with pytest.raises(PricingError):
        ec2_hourly(cat, "m5.metal")


def test_graviton_equivalent(cat):
    assert graviton_equivalent("m5.large") == "m6g.large"
    assert graviton_equivalent("m6i.2xlarge") == "m7g.2xlarge"
    assert graviton_equivalent("c5.xlarge") == "c6g.xlarge"
    assert graviton_equivalent("r6i.4xlarge") == "r7g.4xlarge"
    assert graviton_equivalent("t3.large") == "t4g.large"
    assert graviton_equivalent("m7g.large") is None
    assert graviton_equivalent("t3.micro", cat) is None  # not in the catalog
    # same size on Graviton is cheaper for every mapped type in the catalog
    for t in instance_types(cat, architecture="x86_64"):
        target = graviton_equivalent(t.name, cat)
        assert target is not None, t.name
        assert ec2_hourly(cat, target) < t.hourly_usd


# ------------------------------------------------------------------ EBS


def test_gp2_to_gp3_hundred_gb(cat):
    assert round_usd(ebs_monthly(cat, "gp2", 100).total_usd) == 10.00
    gp3 = ebs_monthly(cat, "gp3", 100)
    assert round_usd(gp3.total_usd) == 8.00
    assert gp3.lines["iops"] == 0 and gp3.lines["throughput"] == 0


def test_gp3_iops_and_throughput_increments(cat):
    assert (GP3_BASELINE_IOPS, GP3_BASELINE_THROUGHPUT_MBPS) == (3000, 125)
    at_base = ebs_monthly(cat, "gp3", 100, iops=3000, throughput_mbps=125)
    assert at_base.total_usd == pytest.approx(8.0)
    more = ebs_monthly(cat, "gp3", 100, iops=4000, throughput_mbps=250)
    assert more.lines["iops"] == pytest.approx(1000 * 0.005)  # $5
    assert more.lines["throughput"] == pytest.approx(125 * 0.040)  # $5
    assert round_usd(more.total_usd) == 18.00


def test_io1_and_io2_iops(cat):
    io1 = ebs_monthly(cat, "io1", 100, iops=5000)
    assert round_usd(io1.total_usd) == round_usd(12.5 + 5000 * 0.065)  # $337.50
    io2 = ebs_monthly(cat, "io2", 100, iops=5000)
    assert io2.total_usd == pytest.approx(io1.total_usd)  # same below 32k
    io2_big = ebs_monthly(cat, "io2", 1000, iops=80_000)
    tier3 = cat.ebs.volumes["io2"].iops_tiers[-1].usd_per_iops_month
    assert io2_big.lines["iops"] == pytest.approx(32_000 * 0.065 + 32_000 * 0.0455 + 16_000 * tier3)
    assert round_usd(io2_big.lines["iops"], 0) in (4046, 4048)  # 0.03185 (price list) vs 0.032 (page)
    io1_big = ebs_monthly(cat, "io1", 1000, iops=64_000)
    assert io1_big.lines["iops"] == pytest.approx(64_000 * 0.065)  # io1 is not tiered
    with pytest.raises(PricingError):
        ebs_monthly(cat, "io1", 100)


def test_hdd_volumes(cat):
    assert ebs_monthly(cat, "st1", 1000).total_usd == pytest.approx(45.0)
    assert ebs_monthly(cat, "sc1", 1000).total_usd == pytest.approx(15.0)


# ------------------------------------------------------------------ DynamoDB


def test_dynamodb_on_demand_current_public_price(cat):
    cost = dynamodb_monthly(cat, billing_mode="PAY_PER_REQUEST", read_request_units=100e6,
                            write_request_units=10e6, storage_gb=10)
    assert cost.lines["reads"] == pytest.approx(12.5)   # 100M x $0.125/M
    assert cost.lines["writes"] == pytest.approx(6.25)  # 10M x $0.625/M
    assert cost.lines["storage"] == pytest.approx(2.5)


def test_dynamodb_provisioned_vs_on_demand(cat):
    prov = dynamodb_monthly(cat, billing_mode="PROVISIONED", rcu=100, wcu=50)
    assert prov.lines["reads"] == pytest.approx(100 * 730 * 0.00013)  # $9.49
    assert prov.lines["writes"] == pytest.approx(50 * 730 * 0.00065)  # $23.725
    assert round_usd(prov.total_usd) == 33.22
    # steady 100 reads/s and 50 writes/s for a month on-demand costs far more than that capacity
    seconds = 730 * 3600
    od = dynamodb_monthly(cat, billing_mode="PAY_PER_REQUEST", read_request_units=100 * seconds,
                          write_request_units=50 * seconds)
    assert round_usd(od.total_usd) == round_usd(262.8 * 0.125 + 131.4 * 0.625)  # $114.98
    assert od.total_usd > 3 * prov.total_usd
    # a spiky table with 1M writes a month is cheaper on-demand
    spiky = dynamodb_monthly(cat, billing_mode="PAY_PER_REQUEST", write_request_units=1e6, read_request_units=1e6)
    assert spiky.total_usd < prov.total_usd
    with pytest.raises(PricingError):
        dynamodb_monthly(cat, billing_mode="PROVISIONED", rcu=5)


# ------------------------------------------------------------------ generic and the dispatcher


def test_generic_hourly():
    cfg = GenericConfig(replicas=3, cpu_cores=2, memory_gb=4, price_per_core_hour_usd=0.03, price_per_gb_hour_usd=0.004)
    assert generic_hourly(cfg) == pytest.approx(3 * (0.06 + 0.016))
    assert generic_hourly(cfg, replicas=1.5) == pytest.approx(1.5 * 0.076)
    unit = generic_unit_prices(cfg)
    assert (unit.core_hour_usd, unit.gb_hour_usd, unit.estimated, unit.note) == (0.03, 0.004, [], None)


def test_generic_without_unit_prices_is_a_labelled_fargate_estimate(cat):
    # no defaults any more: an unset price is the catalog's Fargate on-demand x86_64 rate, and says so
    bare = GenericConfig(replicas=2, cpu_cores=1, memory_gb=2)
    assert bare.price_per_core_hour_usd is None and bare.price_per_gb_hour_usd is None
    unit = generic_unit_prices(bare, cat)
    assert (unit.core_hour_usd, unit.gb_hour_usd) == (0.04048, 0.004445)  # aws.amazon.com/fargate/pricing/
    assert unit.estimated == ["price_per_core_hour_usd", "price_per_gb_hour_usd"]
    assert unit.note is not None and GENERIC_UNIT_PRICE_ESTIMATE in unit.note
    assert "https://aws.amazon.com/fargate/pricing/ (transcribed, as of 2026-11-29)" in unit.note
    assert generic_hourly(bare, catalog=cat) == pytest.approx(2 * (0.04048 + 2 * 0.004445))
    # only the missing one is estimated
    half = generic_unit_prices(bare.model_copy(update={"price_per_core_hour_usd": 0.02}), cat)
    assert (half.core_hour_usd, half.gb_hour_usd, half.estimated) == (0.02, 0.004445, ["price_per_gb_hour_usd"])
    # a region's catalog prices the estimate at that region's Fargate rate
    london = cat.model_copy(update={"region": "eu-west-2", "fargate": cat.fargate.model_copy(update={
        "architectures": {**cat.fargate.architectures, "x86_64": FargateArchPrices(
            usd_per_vcpu_hour=0.04656, usd_per_gb_hour=0.00511)}})})
    assert generic_unit_prices(bare, london).core_hour_usd == 0.04656


def test_monthly_cost_for_every_resource_kind(cat):
    lam = LambdaFunction(resource_id="fn", function_name="fn", config=LambdaConfig(memory_mb=512))
    usage = ResourceCostUsage(invocations=1_000_000, avg_duration_ms=300)
    assert round_usd(monthly_cost(lam, usage, cat).total_usd) == 2.70

    ecs = EcsService(resource_id="svc", cluster="c", service_name="s",
                     config=EcsConfig(cpu_units=1024, memory_mb=2048, desired_count=2, architecture="arm64"))
    assert round_usd(monthly_cost(ecs, None, cat).total_usd) == round_usd(2 * 28.835)
    assert monthly_cost(ecs, ResourceCostUsage(avg_replicas=1), cat).total_usd == pytest.approx(28.835)

    ec2 = Ec2Instance(resource_id="vm", instance_id="i-0123456789abcdef0", config=Ec2Config(instance_type="m5.large"))
    assert round_usd(monthly_cost(ec2, None, cat).total_usd) == 70.08
    assert monthly_cost(ec2, ResourceCostUsage(running_fraction=0.5), cat).total_usd == pytest.approx(35.04)

    ebs = EbsVolume(resource_id="vol", volume_id="vol-0123456789abcdef0",
                    config=EbsConfig(volume_type="gp2", size_gb=100))
    assert round_usd(monthly_cost(ebs, None, cat).total_usd) == 10.00
    assert round_usd(config_cost("ebs_volume", EbsConfig(volume_type="gp3", size_gb=100), None, cat).total_usd) == 8.00

    ddb = DynamoDbTable(resource_id="t", table_name="orders",
                        config=DynamoDbConfig(billing_mode="PROVISIONED", rcu=100, wcu=50))
    assert round_usd(monthly_cost(ddb, None, cat).total_usd) == 33.22

    gen = GenericResource(resource_id="k8s", workload="ns/deploy",
                          config=GenericConfig(replicas=2, cpu_cores=1, memory_gb=2, price_per_core_hour_usd=0.0316,
                                               price_per_gb_hour_usd=0.0042))
    assert monthly_cost(gen, None, cat).total_usd == pytest.approx(2 * (0.0316 + 2 * 0.0042) * 730)
    estimated = gen.model_copy(update={"config": GenericConfig(replicas=2, cpu_cores=1, memory_gb=2)})
    assert monthly_cost(estimated, None, cat).total_usd == pytest.approx(2 * (0.04048 + 2 * 0.004445) * 730)


def test_invalid_configs_are_pricing_errors_not_crashes(cat):
    bad_pair = EcsService(resource_id="svc", cluster="c", service_name="s",
                          config=EcsConfig(cpu_units=1024, memory_mb=1024, desired_count=1))
    with pytest.raises(PricingError) as err:
        monthly_cost(bad_pair, None, cat)
    assert err.value.status == 422
    with pytest.raises(PricingError):
        config_cost("ec2_instance", EbsConfig(volume_type="gp2", size_gb=1), None, cat)


def test_cost_breakdown_arithmetic():
    a = CostBreakdown.of({"x": 1.0, "y": 2.0})
    b = CostBreakdown.of({"y": 0.5, "z": 4.0})
    total = a + b
    assert total.lines == {"x": 1.0, "y": 2.5, "z": 4.0} and total.total_usd == 7.5
    assert a.scaled(2).total_usd == 6.0
    assert round_usd(28.835) == 28.84 and round_usd(2.700005) == 2.70 and round_usd(0.125, 2) == 0.13
