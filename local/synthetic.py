"""Deterministic synthetic telemetry and billing (demos, tests, benchmarks).

A source plugin of the local stack, not part of the product: importing this module adds the telemetry and
billing source ``synthetic`` to ``costopt.connectors.base`` (``add_telemetry_source``/``add_billing_source``).
``local.env.configure`` names it in ``COSTOPT_SOURCE_PLUGINS`` (so do the tests), which the registry imports
at its first lookup; a deployment that does not name it refuses a service with ``source: synthetic`` (422).

Public API
----------
``SyntheticTelemetry().fetch(service: Service, start: datetime, end: datetime) -> list[Series]``
``SyntheticBilling().fetch_costs(service: Service, start: datetime, end: datetime) -> list[Series]``
``generate(service, start, end) -> list[Series]`` / ``generate_costs(service, start, end) -> list[Series]``
    (the same as functions). ``data_origin(service) -> datetime``: no data before it
    (= UTC midnight of ``service.created_at`` minus ``telemetry.synthetic.history_days`` days).
``stable_seed(*parts) -> int`` — blake2b-based, stable across processes (never Python's ``hash``).

Properties
----------
- Pure and seekable: every value depends only on (service seed, resource_id, metric, hour) through
  ``random.Random(stable_seed(...))``, so any window returns the same values for the same timestamps.
  The seed is ``telemetry.synthetic.seed`` or ``stable_seed(service_id)``.
- Points every ``telemetry.period_s`` seconds aligned to the hour; ``start <= t < end``.
- Traffic (shared by every resource of the service) = ``base_rps`` x daily shape (business-hours peak near
  14:00 UTC, night trough; ``daily_amplitude``) x weekly shape (``weekend_factor`` on Sat/Sun) x noise x
  occasional hour-long spikes (x2-3.5 with ``spike_probability`` per hour).
- Lambda: duration = io_ms + cpu_ms x 1769 / min(memory_mb, 1769) (CPU share grows with memory up to one
  vCPU at 1,769 MB; single-threaded code); per-invocation durations are lognormal with p99 = 1.8 x mean;
  duration_ms is the p99 per period, duration_mean_ms the mean, cpu_time_ms the mean CPU time per
  invocation, init_duration_ms the INIT ms of the period's cold starts (``cold_start_pct`` of invocations x
  ``init_ms``), concurrency = rps x mean duration (Little's law) with bursts, memory_utilization_pct steady
  with slow drift (cpu_time_ms, init_duration_ms and memory only when ``lambda_insights``).
- ECS/EC2/generic: CPU% = rps x cpu_ms / 1000 / allocated cores x 100 (+ ~1.5 % idle overhead), memory%
  steady around the profile's value with slow drift, latency p99 grows with utilization.
- EBS IOPS = 40 + 5 x rps (well under 3,000 for the demo), throughput = IOPS x 32 KiB; both capped by
  the volume's limits. DynamoDB consumed RCU = 0.5 x rps, WCU = 0.2 x rps per second, capped by
  provisioned capacity.
- Billing: one ``cost_usd`` point per complete UTC day (t = 00:00) per resource = that day's synthetic
  usage x the bundled us-east-1 catalog of costopt.pricing (``config_cost`` over 24 h of that calendar
  month), billed as AWS bills: Lambda duration rounded up to 1 ms per invocation (the expectation over the
  lognormal durations, ``lambda_billed_duration_ms``) plus the INIT of on-demand cold starts.

No numpy.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from costopt.connectors.base import (
    METRIC_STAT,
    METRICS_BY_KIND,
    BillingSource,
    TelemetrySource,
    add_billing_source,
    add_telemetry_source,
    check_window,
)
from costopt.domain.ebs import ebs_limits
from costopt.domain.observation import Datapoint, Metric, Series
from costopt.domain.resources import (
    DynamoDbTable,
    EbsVolume,
    Ec2Instance,
    EcsService,
    GenericResource,
    LambdaFunction,
)
from costopt.domain.service import Service, SyntheticProfile
from costopt.pricing.costs import lambda_billed_duration_ms, lognormal_log_sd

LAMBDA_FULL_VCPU_MB = 1769
PEAK_HOUR_UTC = 14.0
PEAK_WIDTH_H = 3.5
P99_OVER_MEAN = 1.8
DURATION_LOG_SD = lognormal_log_sd(P99_OVER_MEAN)  # per-invocation Lambda durations are lognormal
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def stable_seed(*parts: object) -> int:
    raw = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def _bump(h: float) -> float:
    d = abs(h - PEAK_HOUR_UTC) % 24.0
    d = min(d, 24.0 - d)
    return math.exp(-0.5 * (d / PEAK_WIDTH_H) ** 2)


_BUMP_MEAN = sum(_bump(i / 12.0) for i in range(24 * 12)) / (24 * 12)


def daily_shape(t: datetime, amplitude: float) -> float:
    """Mean 1 over a day: (1 - A) + A x bump(h) / mean(bump), peaking at 14:00 UTC."""
    h = t.hour + t.minute / 60.0
    return (1.0 - amplitude) + amplitude * _bump(h) / _BUMP_MEAN


def weekly_shape(t: datetime, weekend_factor: float) -> float:
    return weekend_factor if t.weekday() >= 5 else 1.0


_new = object.__new__
_set = object.__setattr__
_POINT_FIELDS = frozenset({"t", "v"})


def _point(t: datetime, v: float) -> Datapoint:
    """A Datapoint without validation (what ``model_construct`` does, ~10x cheaper): our values are valid."""
    p = _new(Datapoint)
    _set(p, "__dict__", {"t": t, "v": float(v)})
    _set(p, "__pydantic_fields_set__", set(_POINT_FIELDS))
    _set(p, "__pydantic_extra__", None)
    _set(p, "__pydantic_private__", None)
    return p


def data_origin(service: Service) -> datetime:
    created = service.created_at.astimezone(UTC) if service.created_at.tzinfo else \
        service.created_at.replace(tzinfo=UTC)
    midnight = created.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=service.telemetry.synthetic.history_days)


def _service_seed(service: Service) -> int:
    prof = service.telemetry.synthetic
    return prof.seed if prof.seed is not None else stable_seed("service", service.service_id)


def _hours(start: datetime, end: datetime) -> Iterator[datetime]:
    h = start.replace(minute=0, second=0, microsecond=0)
    while h < end:
        yield h
        h += HOUR


@lru_cache(maxsize=256)
def _ec2_vcpus(instance_type: str) -> float:
    from costopt.pricing.catalog import bundled_catalog
    from costopt.pricing.costs import PricingError
    from costopt.pricing.costs import instance_type as lookup

    try:
        return float(lookup(bundled_catalog(), instance_type).vcpu)
    except PricingError:  # not in the catalog: estimate from the size name
        pass
    size = instance_type.split(".", 1)[1]
    table = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4, "metal": 96}
    if size in table:
        return float(table[size])
    if size.endswith("xlarge"):
        try:
            return 4.0 * float(size[: -len("xlarge")])
        except ValueError:
            return 4.0
    return 2.0


class _Generator:
    """Values of one service; every method is a pure function of (seed, resource, metric, hour)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.prof: SyntheticProfile = service.telemetry.synthetic
        self.seed = _service_seed(service)
        self.period = int(service.telemetry.period_s)
        self.origin = data_origin(service)
        self._traffic: dict[int, list[float]] = {}

    # ------------------------------------------------------------------ shared traffic

    def slots(self, hour: datetime) -> list[datetime]:
        return [hour + timedelta(seconds=s) for s in range(0, 3600, self.period)]

    def traffic(self, hour: datetime) -> list[float]:
        """Traffic factor per slot of the hour (mean ~1 over a weekday), shared by every resource."""
        key = int(hour.timestamp()) // 3600
        cached = self._traffic.get(key)
        if cached is not None:
            return cached
        rng = random.Random(stable_seed(self.seed, "traffic", key))
        spike = rng.uniform(2.0, 3.5) if rng.random() < self.prof.spike_probability else 1.0
        out = []
        for t in self.slots(hour):
            base = daily_shape(t, self.prof.daily_amplitude) * weekly_shape(t, self.prof.weekend_factor)
            noise = max(0.2, 1.0 + self.prof.noise * rng.gauss(0.0, 1.0))
            out.append(base * noise * spike)
        self._traffic[key] = out
        return out

    def rng(self, resource_id: str, metric: str, hour: datetime) -> random.Random:
        return random.Random(stable_seed(self.seed, resource_id, metric, int(hour.timestamp()) // 3600))

    def drift(self, resource_id: str, hour: datetime) -> float:
        """Slow memory drift: +-6 % over a week, resource-specific phase."""
        phase = (stable_seed(self.seed, resource_id, "phase") % 1000) / 1000.0 * 2 * math.pi
        days = hour.timestamp() / 86400.0
        return 1.0 + 0.06 * math.sin(2 * math.pi * days / 7.0 + phase)

    # ------------------------------------------------------------------ per kind

    def hour(self, resource: Any, hour: datetime) -> dict[str, list[float | None]]:
        """Values per slot for every metric of ``resource`` (None = no datapoint), plus hidden "_" keys."""
        rps = [self.prof.base_rps * f for f in self.traffic(hour)]
        if isinstance(resource, LambdaFunction):
            return self._lambda(resource, hour, rps)
        if isinstance(resource, EcsService):
            c = resource.config
            cores = c.desired_count * c.cpu_units / 1024.0
            return self._compute(resource.resource_id, hour, rps, cores)
        if isinstance(resource, Ec2Instance):
            return self._compute(resource.resource_id, hour, rps, _ec2_vcpus(resource.config.instance_type))
        if isinstance(resource, GenericResource):
            g = resource.config
            return self._compute(resource.resource_id, hour, rps, g.replicas * g.cpu_cores)
        if isinstance(resource, EbsVolume):
            return self._ebs(resource, hour, rps)
        if isinstance(resource, DynamoDbTable):
            return self._dynamodb(resource, hour, rps)
        return {}

    def _counts(self, rng: random.Random, means: list[float]) -> list[float | None]:
        out: list[float | None] = []
        for m in means:
            sd = math.sqrt(m) if m > 0 else 0.0
            out.append(float(max(0, round(m + sd * rng.gauss(0.0, 1.0)))))
        return out

    def _lambda(self, r: LambdaFunction, hour: datetime, rps: list[float]) -> dict[str, list[float | None]]:
        p, rid = self.prof, r.resource_id
        share = min(r.config.memory_mb, LAMBDA_FULL_VCPU_MB) / LAMBDA_FULL_VCPU_MB
        mean_ms = p.io_ms_per_request + p.cpu_ms_per_request / share
        requests = self._counts(self.rng(rid, Metric.REQUESTS, hour), [x * self.period for x in rps])
        rd = self.rng(rid, Metric.DURATION_MS, hour)
        rc = self.rng(rid, Metric.CPU_TIME_MS, hour)
        rcc = self.rng(rid, Metric.CONCURRENCY, hour)
        rm = self.rng(rid, Metric.MEMORY_PCT, hour)
        re = self.rng(rid, Metric.ERRORS, hour)
        drift = self.drift(rid, hour)
        out: dict[str, list[float | None]] = {k: [] for k in (
            Metric.REQUESTS, Metric.DURATION_MS, Metric.CPU_TIME_MS, Metric.CONCURRENCY, Metric.MEMORY_PCT,
            Metric.ERRORS, Metric.THROTTLES, Metric.DURATION_MEAN_MS, Metric.INIT_MS)}
        out[Metric.REQUESTS] = requests
        for n, x in zip(requests, rps, strict=True):
            active = bool(n)
            jitter = max(0.5, 1.0 + 0.5 * p.noise * rd.gauss(0.0, 1.0))
            out[Metric.DURATION_MS].append(max(1.0, mean_ms * P99_OVER_MEAN * jitter) if active else None)
            out[Metric.DURATION_MEAN_MS].append(mean_ms * min(jitter, 1.5) if active else None)
            cold = (n or 0.0) * p.cold_start_pct / 100.0
            out[Metric.INIT_MS].append(cold * p.init_ms if active and p.lambda_insights else None)
            cpu_t = max(0.0, p.cpu_ms_per_request * (1.0 + 0.2 * p.noise * rc.gauss(0.0, 1.0)))
            out[Metric.CPU_TIME_MS].append(cpu_t if active and p.lambda_insights else None)
            conc = x * mean_ms / 1000.0 * (1.0 + 0.5 * rcc.random())
            out[Metric.CONCURRENCY].append(float(max(conc, r.config.provisioned_concurrency)) if active else 0.0)
            mem = p.memory_utilization_pct * drift * (1.0 + 0.03 * rm.gauss(0.0, 1.0))
            out[Metric.MEMORY_PCT].append(min(100.0, max(1.0, mem)) if active and p.lambda_insights else None)
            errs = (n or 0.0) * p.error_rate_pct / 100.0
            out[Metric.ERRORS].append(float(max(0, round(errs + math.sqrt(errs) * re.gauss(0.0, 1.0)))))
            out[Metric.THROTTLES].append(0.0)
        return out

    def _compute(self, rid: str, hour: datetime, rps: list[float], cores: float) -> dict[str, list[float | None]]:
        p = self.prof
        requests = self._counts(self.rng(rid, Metric.REQUESTS, hour), [x * self.period for x in rps])
        rc, rm = self.rng(rid, Metric.CPU_PCT, hour), self.rng(rid, Metric.MEMORY_PCT, hour)
        rl, re = self.rng(rid, Metric.LATENCY_MS, hour), self.rng(rid, Metric.ERRORS, hour)
        drift = self.drift(rid, hour)
        service_ms = p.io_ms_per_request + p.cpu_ms_per_request
        out: dict[str, list[float | None]] = {Metric.REQUESTS: requests, Metric.CPU_PCT: [], Metric.MEMORY_PCT: [],
                                              Metric.LATENCY_MS: [], Metric.ERRORS: []}
        for n, x in zip(requests, rps, strict=True):
            if cores <= 0:
                out[Metric.CPU_PCT].append(None)
                out[Metric.MEMORY_PCT].append(None)
                out[Metric.LATENCY_MS].append(None)
                out[Metric.ERRORS].append(None)
                continue
            rho = x * p.cpu_ms_per_request / 1000.0 / cores
            cpu = 100.0 * rho * (1.0 + 0.3 * p.noise * rc.gauss(0.0, 1.0)) + 1.5
            out[Metric.CPU_PCT].append(min(100.0, max(0.1, cpu)))
            mem = p.memory_utilization_pct * drift * (1.0 + 0.02 * rm.gauss(0.0, 1.0)) + 2.0 * min(rho, 1.0)
            out[Metric.MEMORY_PCT].append(min(100.0, max(0.5, mem)))
            queueing = min(rho, 0.95) / (1.0 - min(rho, 0.95))
            lat = service_ms * (P99_OVER_MEAN + queueing) * max(0.5, 1.0 + 0.3 * p.noise * rl.gauss(0.0, 1.0))
            out[Metric.LATENCY_MS].append(lat if n else None)
            errs = (n or 0.0) * p.error_rate_pct / 100.0
            out[Metric.ERRORS].append(float(max(0, round(errs + math.sqrt(errs) * re.gauss(0.0, 1.0)))))
        return out

    def _ebs(self, r: EbsVolume, hour: datetime, rps: list[float]) -> dict[str, list[float | None]]:
        c, rid = r.config, r.resource_id
        max_iops, max_tp = ebs_limits(c)
        ri, rt = self.rng(rid, Metric.IOPS, hour), self.rng(rid, Metric.THROUGHPUT_MBPS, hour)
        out: dict[str, list[float | None]] = {Metric.IOPS: [], Metric.THROUGHPUT_MBPS: []}
        for x in rps:
            iops = min(max_iops, max(1.0, (40.0 + 5.0 * x) * (1.0 + 0.1 * ri.gauss(0.0, 1.0))))
            out[Metric.IOPS].append(iops)
            tp = iops * 32.0 / 1024.0 * max(0.3, 1.0 + 0.15 * rt.gauss(0.0, 1.0))
            out[Metric.THROUGHPUT_MBPS].append(min(max_tp, tp))
        return out

    def _dynamodb(self, r: DynamoDbTable, hour: datetime, rps: list[float]) -> dict[str, list[float | None]]:
        c, rid = r.config, r.resource_id
        cap_r = float(c.rcu) if c.billing_mode == "PROVISIONED" and c.rcu else math.inf
        cap_w = float(c.wcu) if c.billing_mode == "PROVISIONED" and c.wcu else math.inf
        rr, rw = self.rng(rid, Metric.CONSUMED_RCU, hour), self.rng(rid, Metric.CONSUMED_WCU, hour)
        out: dict[str, list[float | None]] = {
            Metric.REQUESTS: self._counts(self.rng(rid, Metric.REQUESTS, hour), [x * self.period for x in rps]),
            Metric.CONSUMED_RCU: [], Metric.CONSUMED_WCU: []}
        for x in rps:
            out[Metric.CONSUMED_RCU].append(min(cap_r, max(0.0, 0.5 * x * (1.0 + 0.1 * rr.gauss(0.0, 1.0)))))
            out[Metric.CONSUMED_WCU].append(min(cap_w, max(0.0, 0.2 * x * (1.0 + 0.1 * rw.gauss(0.0, 1.0)))))
        return out

    # ------------------------------------------------------------------ windows

    def series(self, start: datetime, end: datetime) -> list[Series]:
        start = max(start, self.origin)
        points: dict[tuple[str, str], list[Datapoint]] = {}
        if start < end:
            for hour in _hours(start, end):
                slots = self.slots(hour)
                for res in self.service.resources:
                    values = self.hour(res, hour)
                    for metric, vals in values.items():
                        if metric.startswith("_"):
                            continue
                        bucket = points.setdefault((res.resource_id, metric), [])
                        bucket.extend(_point(t, v) for t, v in zip(slots, vals, strict=True)
                                      if v is not None and start <= t < end)
        return [Series(resource_id=rid, metric=Metric(m), stat=METRIC_STAT[Metric(m)], period_s=self.period,
                       points=pts) for (rid, m), pts in points.items() if pts]

    def day_cost(self, resource: Any, day: datetime) -> float:
        """USD of one UTC day of ``resource`` at public us-east-1 prices, from that day's synthetic usage."""
        hours = [day + timedelta(hours=h) for h in range(24)]
        sums: dict[str, float] = {}
        slot_s = float(self.period)
        for hour in hours:
            vals = self.hour(resource, hour)
            if isinstance(resource, LambdaFunction):
                reqs = [v or 0.0 for v in vals[Metric.REQUESTS]]
                durs = [v or 0.0 for v in vals[Metric.DURATION_MEAN_MS]]
                sums["requests"] = sums.get("requests", 0.0) + sum(reqs)
                sums["ms"] = sums.get("ms", 0.0) + sum(n * lambda_billed_duration_ms(d, DURATION_LOG_SD)
                                                       for n, d in zip(reqs, durs, strict=True))
                cold = self.prof.cold_start_pct / 100.0 * self.prof.init_ms  # billed even without Insights
                sums["init_ms"] = sums.get("init_ms", 0.0) + sum(reqs) * cold
            elif isinstance(resource, DynamoDbTable):
                for m in (Metric.CONSUMED_RCU, Metric.CONSUMED_WCU):
                    sums[m] = sums.get(m, 0.0) + sum((v or 0.0) * slot_s for v in vals[m])
        return _price_day(resource, sums, day)


# ---------------------------------------------------------------------- prices


def _price_day(resource: Any, sums: dict[str, float], day: datetime) -> float:
    """One day of ``resource`` at the bundled us-east-1 catalog (costopt.pricing), from that day's usage."""
    from costopt.pricing.catalog import bundled_catalog
    from costopt.pricing.costs import ResourceCostUsage, config_cost

    month_hours = 24.0 * calendar.monthrange(day.year, day.month)[1]
    usage = ResourceCostUsage(hours=24.0, month_hours=month_hours)
    if isinstance(resource, LambdaFunction):
        n = sums.get("requests", 0.0)
        usage = ResourceCostUsage(hours=24.0, month_hours=month_hours, invocations=n,
                                  avg_duration_ms=sums.get("ms", 0.0) / n if n else 0.0,
                                  init_ms_per_invocation=sums.get("init_ms", 0.0) / n if n else 0.0)
    elif isinstance(resource, DynamoDbTable):
        usage = ResourceCostUsage(hours=24.0, month_hours=month_hours,
                                  read_request_units=sums.get(Metric.CONSUMED_RCU, 0.0),
                                  write_request_units=sums.get(Metric.CONSUMED_WCU, 0.0))
    return float(config_cost(resource.kind, resource.config, usage, bundled_catalog()).total_usd)


# ---------------------------------------------------------------------- sources


def generate(service: Service, start: datetime, end: datetime) -> list[Series]:
    start, end = check_window(start, end)
    return _Generator(service).series(start, end)


def generate_costs(service: Service, start: datetime, end: datetime) -> list[Series]:
    start, end = check_window(start, end)
    gen = _Generator(service)
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += DAY
    first = max(first, gen.origin)
    out: list[Series] = []
    for res in service.resources:
        pts: list[Datapoint] = []
        day = first
        while day + DAY <= end:
            pts.append(Datapoint(t=day, v=round(gen.day_cost(res, day), 6)))
            day += DAY
        if pts:
            out.append(Series(resource_id=res.resource_id, metric=Metric.COST_USD, stat="sum", period_s=86400,
                              points=pts))
    return out


class SyntheticTelemetry(TelemetrySource):
    name = "synthetic"
    serves: ClassVar[Mapping[str, tuple[Metric, ...]] | None] = METRICS_BY_KIND  # every kind, every metric

    def fetch(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        return generate(service, start, end)


class SyntheticBilling(BillingSource):
    name = "synthetic"

    def fetch_costs(self, service: Service, start: datetime, end: datetime) -> list[Series]:
        return generate_costs(service, start, end)


add_telemetry_source(SyntheticTelemetry.name, SyntheticTelemetry)
add_billing_source(SyntheticBilling.name, SyntheticBilling)
