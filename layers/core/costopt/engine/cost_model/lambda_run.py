"""The Lambda run model: per-invocation duration, billed duration and INIT at any memory size (pure).

**Cost.** Invocations x (mean *billed* duration + billed INIT per invocation) x GB x the GB-second
  price, plus requests. The mean duration is CloudWatch's ``Duration`` Average (``duration_mean_ms``).
  Each invocation is billed rounded up to 1 ms (https://aws.amazon.com/lambda/pricing/): per-invocation
  durations are taken as lognormal with the observed mean and the spread implied by the observed p99 / mean
  (``pricing.lambda_billed_duration_ms``; 2.3 ms with little spread bills 3 ms). INIT is billed for on-demand
  functions since 2025-08-01 (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/):
  Lambda Insights ``init_duration`` (Sum per period) / invocations when measured, otherwise the stated default
  ``DEFAULT_COLD_START_RATE`` x ``DEFAULT_INIT_MS`` (labelled ``lambda_init_default``). Without a mean duration
  the mean of the per-period p99 stands in: an **upper bound**, published as ``basis = "upper_bound"``.
**Duration at another memory size**: d(m) = d0 x ((1 - f) + f x cpu(m0)/cpu(m)), f = mean CPU time / mean
  duration (Lambda Insights ``cpu_total_time``). A Lambda gets vCPU in proportion to memory, up to 6 vCPUs at
  10,240 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); single-threaded code
  can use one vCPU (1,769 MB). Which one the code is, is read from the data where it can be:
  - f unknown (no CPU time): f = 1 and the worst case for each direction -- a downsize loses CPU in
    proportion to memory over the whole range (multi-threaded code at 3,008 -> 1,792 MB runs 1.68x slower),
    an upsize gains nothing above 1,769 MB. No downsize is latency-neutral, and none saves money.
  - CPU time above the duration: the code runs several threads; multi-threaded curve, f = 1.
  - otherwise single-threaded (``cpu_share_single``); a downsize from above 1,769 MB is then neutral only if
    the code is single-threaded, which the data cannot prove: the recommender raises its risk to 2 and
    publishes the slowdown multi-threaded code would see (``multithreaded_ratio``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from costopt.domain.recommendation import CostBasis
from costopt.domain.resources import LambdaConfig
from costopt.engine.cost_model.usage import SECONDS_PER_MONTH, UsageStats

FULL_VCPU_MB = 1769
"""Lambda gives the equivalent of one full vCPU at 1,769 MB."""
MAX_MEMORY_MB = 10_240
"""... and 6 vCPUs at 10,240 MB: CPU grows in proportion to memory over the whole range."""

DEFAULT_COLD_START_RATE = 0.01
"""AWS: "INITs (cold starts) typically occur in under 1% of invocations" (the INIT billing post above)."""
DEFAULT_INIT_MS = 250.0
"""costopt's default INIT duration when Lambda Insights does not measure it (not an AWS figure): a managed
runtime with a few SDK clients. Labelled ``lambda_init_default`` wherever it is used."""
DEFAULT_P99_OVER_MEAN = 2.0
"""Spread of per-invocation durations when only one of mean and p99 is observed (for the 1 ms rounding only)."""


def cpu_share_single(memory_mb: float) -> float:
    """vCPUs single-threaded code can use at ``memory_mb``: proportional up to one vCPU at 1,769 MB."""
    return min(memory_mb, FULL_VCPU_MB) / FULL_VCPU_MB


def cpu_share_multi(memory_mb: float) -> float:
    """vCPUs multi-threaded code can use: proportional to memory up to 6 vCPUs at 10,240 MB."""
    return min(memory_mb, MAX_MEMORY_MB) / FULL_VCPU_MB


def duration_ratio(m0: float, m: float, f: float, *, multithreaded: bool = False) -> float:
    """d(m) / d(m0) for CPU-bound fraction ``f``. Single-threaded code gains CPU up to 1,769 MB. With
    ``multithreaded`` (or unknown threading) the worst case per direction: a downsize loses CPU in proportion
    to memory up to 10,240 MB, an upsize gains it only up to 1,769 MB."""
    if multithreaded and m < m0:
        cpu = cpu_share_multi(m0) / cpu_share_multi(m)
    else:
        cpu = cpu_share_single(m0) / cpu_share_single(m)
    return (1.0 - f) + f * cpu


@dataclass(frozen=True)
class LambdaRun:
    """How today's function runs, per invocation, at its current memory ``memory_mb``."""

    memory_mb: int
    invocations_per_month: float
    mean_duration_ms: float
    duration_log_sd: float
    init_ms_per_invocation: float
    cpu_fraction: float | None
    """Mean CPU time / mean duration (at most 1); None = unknown (taken as 1)."""
    multithreaded: bool = True
    """Multi-threaded or unknown: the worst-case curve for downsizes (see the module doc)."""
    gb_s_scale: float = 1.0
    """Bill correction on the billed GB-seconds (1 when the model is within tolerance of the bill)."""

    @property
    def f(self) -> float:
        return 1.0 if self.cpu_fraction is None else self.cpu_fraction

    def ratio(self, memory_mb: float) -> float:
        """d(memory_mb) / d(today's memory) under the model."""
        return duration_ratio(self.memory_mb, memory_mb, self.f, multithreaded=self.multithreaded)

    def multithreaded_ratio(self, memory_mb: float) -> float:
        """The same for code that uses every vCPU it gets (what a single-threaded reading cannot exclude)."""
        return duration_ratio(self.memory_mb, memory_mb, self.f, multithreaded=True)

    def billed_ms(self, memory_mb: float) -> tuple[float, float, float]:
        """(mean duration, mean billed duration, billed INIT) per invocation at ``memory_mb``, in ms."""
        from costopt.pricing import lambda_billed_duration_ms

        ratio = self.ratio(memory_mb)
        mean = self.mean_duration_ms * ratio
        billed = lambda_billed_duration_ms(mean, self.duration_log_sd) * self.gb_s_scale
        return mean, billed, self.init_ms_per_invocation * ratio * self.gb_s_scale


class LambdaReading(NamedTuple):
    """A function's run model and what its cost figures rest on."""

    run: LambdaRun
    basis: CostBasis
    notes: tuple[str, ...]
    assumptions: tuple[str, ...]
    percentiles: dict[str, float]


def read_lambda(cfg: LambdaConfig, stats: UsageStats) -> LambdaReading:
    """How today's function runs under ``stats``, and what its figures rest on (see the module doc)."""
    notes: list[str] = []
    assumptions: list[str] = []
    invocations = (stats.requests_per_s or 0.0) * SECONDS_PER_MONTH
    mean, p99 = stats.duration_mean_ms, stats.duration_p99_mean_ms
    basis: CostBasis = "measured"
    if mean is not None and mean > 0:
        ratio = (p99 / mean) if p99 else DEFAULT_P99_OVER_MEAN
        notes.append(f"cost uses the mean duration {mean:.2f} ms (CloudWatch Duration Average)")
    elif p99 is not None and p99 > 0:
        mean, ratio, basis = p99, 1.0, "upper_bound"
        notes.append(f"no mean duration: cost uses the mean per-period p99 duration {p99:.2f} ms, an upper bound "
                     "on the mean, so the cost and any saving read high")
    else:
        mean, ratio = 0.0, 1.0
        notes.append("no duration data: only requests are priced")
    from costopt.pricing import lognormal_log_sd

    log_sd = lognormal_log_sd(ratio)
    cpu_fraction = None
    multithreaded = True
    if stats.cpu_time_ms is not None and mean > 0:
        raw = max(0.0, stats.cpu_time_ms / mean)
        cpu_fraction = min(1.0, raw)
        multithreaded = raw > 1.0
        notes.append(f"CPU-bound fraction f = {cpu_fraction:.2f} = mean CPU time / "
                     + ("mean duration" if basis == "measured" else "mean p99 duration (a lower bound on f)"))
        if multithreaded:
            notes.append(f"CPU time is {raw:.2f}x the duration: the code runs several threads, so a smaller size "
                         "loses CPU in proportion to memory")
    else:
        notes.append("CPU-bound fraction unknown (no Lambda Insights cpu time): f = 1 and the code may be "
                     "multi-threaded, so a smaller size is taken to lose CPU in proportion to memory (the worst "
                     "case for a downsize) and a larger one to gain none above 1,769 MB")
    if cfg.provisioned_concurrency > 0:
        init = 0.0
        notes.append("INIT: provisioned environments are initialised inside the provisioned concurrency charge")
    elif stats.init_ms_per_s is not None and stats.requests_per_s:
        init = stats.init_ms_per_s / stats.requests_per_s
        notes.append(f"INIT billed: {init:.3f} ms per invocation (Lambda Insights init_duration)")
    else:
        init = DEFAULT_COLD_START_RATE * DEFAULT_INIT_MS
        assumptions.append("lambda_init_default")
        notes.append(f"INIT not measured: assumed {DEFAULT_COLD_START_RATE:.0%} cold starts (AWS: 'typically under "
                     f"1% of invocations') x {DEFAULT_INIT_MS:g} ms (costopt's default, not an AWS figure) = "
                     f"{init:.2f} ms per invocation")
    run = LambdaRun(memory_mb=cfg.memory_mb, invocations_per_month=invocations, mean_duration_ms=mean,
                    duration_log_sd=log_sd, init_ms_per_invocation=init, cpu_fraction=cpu_fraction,
                    multithreaded=multithreaded)
    pct = {"invocations_per_month": round(invocations, 1), "duration_mean_ms": round(mean, 3),
           "billed_duration_ms": round(run.billed_ms(cfg.memory_mb)[1], 3),
           "init_ms_per_invocation": round(init, 4)}
    if cpu_fraction is not None:
        pct["cpu_bound_fraction"] = round(cpu_fraction, 4)
    return LambdaReading(run=run, basis=basis, notes=tuple(notes), assumptions=tuple(assumptions), percentiles=pct)


__all__ = ["DEFAULT_COLD_START_RATE", "DEFAULT_INIT_MS", "DEFAULT_P99_OVER_MEAN", "FULL_VCPU_MB", "MAX_MEMORY_MB",
           "LambdaReading", "LambdaRun", "cpu_share_multi", "cpu_share_single", "duration_ratio", "read_lambda"]
