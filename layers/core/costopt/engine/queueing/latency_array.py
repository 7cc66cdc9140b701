"""The latency model of ``queueing.latency`` element-wise (numpy): the queueing part over a grid, and its calibration.

The simulation's form of the SLA engine's prediction: the queueing part's quantiles at every hour's
replica count and arrival rate, and the non-queueing residual calibrated at the current config over
every observed hour (the median of observed p99 - model p99 where both exist; ``latency.split_gap``
then keeps it >= 0 and reports the model excess). Only the simulate path imports it (numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costopt.engine.queueing.capacity import Capacity
from costopt.engine.queueing.latency import split_gap
from costopt.engine.queueing.response_array import response_time_quantiles_array
from costopt.engine.queueing.service import ServiceTime

Array = NDArray[np.float64]


def model_latency_ms_array(replicas: Any, replica: Capacity, arrival_rate_per_s: Any, cpu: ServiceTime,
                           qs: Sequence[float]) -> list[Array]:
    """The model's q-quantiles of the queueing part in ms (inf where unstable) at ``replicas`` copies of
    ``replica`` (broadcast with the arrival rate); ``cpu`` is the CPU time per request on one full core."""
    servers = replicas * replica.servers_per_replica
    service = cpu.at_speed(replica.speed)
    return [seconds * 1000.0 for seconds in response_time_quantiles_array(servers, arrival_rate_per_s, service, qs)]


def calibrate_residual_array(observed_p99_ms: Array, model_p99_ms: Array,
                             where: NDArray[np.bool_]) -> tuple[float, float] | None:
    """(residual, model excess) in ms from the median gap over the hours ``where`` both exist (None when
    no hour has both)."""
    ok = np.isfinite(model_p99_ms) & (observed_p99_ms > 0) & where
    if not ok.any():
        return None
    return split_gap(float(np.median(observed_p99_ms[ok] - model_p99_ms[ok])))
