"""What the per-kind models evaluate on -- the (horizon day x observed day x hour) grid -- and what they return.

No model state carries from one hour to the next (autoscaling has no lag), so an hour's outcome
depends only on (simulated day, observed day drawn, hour of day): every model evaluates that grid
once, vectorized, returning cost lines per hour and SLA clauses per hour (``Evaluation``);
``accumulate`` then gathers each sample's totals from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.domain.observation import Metric
from costopt.domain.service import Sla
from costopt.engine.cost_model import CostInputs
from costopt.engine.simulation.history import HOURS_PER_DAY, Array, History
from costopt.pricing.catalog import Catalog


@dataclass
class Clause:
    name: str
    limit: float
    value: Any  # broadcastable to (horizon_days, observed_days, 24); inf = cannot hold
    lower_bound: bool = False  # True: value must be >= limit (min_replicas)
    breach: Any = None  # precomputed breach (bool array/scalar) overriding the comparison


@dataclass
class Evaluation:
    lines: dict[str, Any] = field(default_factory=dict)  # cost per hour, broadcastable to the grid
    clauses: list[Clause] = field(default_factory=list)


@dataclass
class Grid:
    """Every (simulated day, observed day, hour) once: shape (horizon_days, observed_days, 24).

    Nothing in the model carries state from one hour to the next (autoscaling has no lag), so an
    hour's cost and clause values depend only on the traffic factor of the simulated hour and the
    observed day a sample drew for that day. Evaluating this grid once and gathering per-sample
    totals from it is exactly the same as evaluating (samples x hours) arrays, at a fraction of the cost.
    """

    history: History
    t: Array  # (horizon_days, 1, 24) traffic factor
    off: NDArray[np.bool_] | None  # (horizon_days, 1, 24) off-hours mask

    @property
    def shape(self) -> tuple[int, int, int]:
        return (int(self.t.shape[0]), len(self.history.days), HOURS_PER_DAY)

    def get(self, resource_id: str, metric: Metric) -> Array | None:
        """An observed metric as (1, observed_days, 24)."""
        arr = self.history.get(resource_id, metric)
        return None if arr is None else arr[None, :, :]

    def load(self, resource_id: str, metric: Metric) -> Array | None:
        """A load metric under the simulated traffic, (horizon_days, observed_days, 24)."""
        arr = self.get(resource_id, metric)
        return None if arr is None else arr * self.t


@dataclass(frozen=True)
class ServiceTerms:
    """The service-wide terms every per-kind model evaluates against: its SLA, the price catalog and
    the policy's CPU target utilization and Spot permission."""

    sla: Sla
    catalog: Catalog
    target_utilization: float
    allow_spot: bool


@dataclass
class Prepared:
    """Per-resource constants read once from the whole history (not per sample)."""

    cost: CostInputs | None = None  # the shared cost model of the resource
    cpu_s_per_request: float | None = None  # pools
    autoscale_target: float | None = None  # pools: the CPU utilization the current autoscaling holds
    service_scv: float = 1.0  # pools: SCV of the CPU time per request (exponential: the data carry no spread)
    latency_residual_ms: float = 0.0  # pools: non-queueing latency calibrated at the current config
    notes: list[str] = field(default_factory=list)


def safe_div(num: Any, den: Any, when_zero: float) -> Any:
    """num / den element-wise; where den <= 0: ``when_zero`` if num > 0, else 0."""
    if np.ndim(den) == 0:
        d = float(den)
        if d > 0:
            return num * (1.0 / d)
        return np.where(np.asarray(num) > 0, when_zero, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den)
    return np.where(np.asarray(den) > 0, out, np.where(np.asarray(num) > 0, when_zero, 0.0))


def scheduled(on: Any, off: Any, mask: NDArray[np.bool_] | None) -> Any:
    """``on``, or ``off`` in the off hours of ``mask`` (when the override differs)."""
    if mask is None or off is None or off == on:
        return on
    return np.where(mask, float(off), float(on))
