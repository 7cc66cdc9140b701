"""The simulated calendar: which observed day each sample draws per simulated day, traffic, off hours.

Block bootstrap: each sample draws whole observed days for the horizon, by weekday class -- a
simulated Monday draws from observed weekdays, a Saturday from observed weekend days (falling back
to any day when the class was never observed) -- so the daily and weekly shapes are kept and every
resource's metrics stay mutually consistent (they come from the same day). Load metrics are scaled
per hour by ``multiplier x (1 + growth)^(hour/730)`` and by any template event (spike, seasonal peak).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from costopt.domain.common import HOURS_PER_MONTH
from costopt.engine.simulation.history import HOURS_PER_DAY, Array
from costopt.engine.simulation.plan import OffHours, SimulationPlan


def bootstrap_days(weekend: NDArray[np.bool_], start: date, horizon_days: int, samples: int,
                   rng: np.random.Generator) -> NDArray[np.int64]:
    """(samples x horizon_days) indices of observed days, drawn within weekday class."""
    pools = {False: np.flatnonzero(~weekend), True: np.flatnonzero(weekend)}
    every = np.arange(len(weekend))
    sim_weekend = np.array([(start + timedelta(days=d)).weekday() >= 5 for d in range(horizon_days)])
    u = rng.random((samples, horizon_days))
    idx = np.empty((samples, horizon_days), dtype=np.int64)
    for cls in (False, True):
        cols = np.flatnonzero(sim_weekend == cls)
        if cols.size == 0:
            continue
        pool = pools[cls] if pools[cls].size else every
        idx[:, cols] = pool[np.minimum((u[:, cols] * pool.size).astype(np.int64), pool.size - 1)]
    return idx


def traffic_factor(plan: SimulationPlan, hours: int) -> Array:
    h = np.arange(hours, dtype=np.float64)
    factor = plan.traffic_multiplier * np.power(1.0 + plan.growth_pct_per_month / 100.0, h / HOURS_PER_MONTH)
    for ev in plan.events:
        factor[ev.start_day * HOURS_PER_DAY:(ev.start_day + ev.days) * HOURS_PER_DAY] *= ev.factor
    return factor


def off_hours_mask(window: OffHours, start: date, hours: int) -> NDArray[np.bool_]:
    h = np.arange(hours) + window.utc_offset_hours
    local_hour = np.mod(h, HOURS_PER_DAY)
    local_day = np.floor_divide(h, HOURS_PER_DAY)
    start_wd = start.weekday()
    weekday = np.mod(start_wd + local_day, 7)
    if window.start_hour > window.end_hour:
        night = (local_hour >= window.start_hour) | (local_hour < window.end_hour)
    else:
        night = (local_hour >= window.start_hour) & (local_hour < window.end_hour)
    return night | ((weekday >= 5) if window.weekends else np.zeros(hours, dtype=bool))
