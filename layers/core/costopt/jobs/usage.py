"""Load a service's usage over a lookback from the observations store (the model: ``costopt.observe.usage``).

``load_usage(service, lookback_days=14, now=None, repo=None) -> ServiceUsage`` reads the day items of
every ``usage_keys(service)`` pair for every day the window touches (BatchGet, no Scan) and builds the
usage exactly as ``usage_from_series`` does from connector output.
"""

from __future__ import annotations

from datetime import datetime

from costopt import clock, deps
from costopt.domain.service import Service
from costopt.observe.usage import ServiceUsage, build_usage, usage_keys
from costopt.observe.window import DEFAULT_LOOKBACK_DAYS, Window
from costopt.ports import Observations


def load_usage(service: Service, lookback_days: int = DEFAULT_LOOKBACK_DAYS, now: datetime | None = None,
               repo: Observations | None = None) -> ServiceUsage:
    window = Window.ending(now or clock.now(), lookback_days)
    store = repo or deps.observations()
    days = store.day_summaries(service.service_id, usage_keys(service), window.days[0], window.days[-1])
    return build_usage(service, window, days)
