"""What costopt observes, summarized (DESIGN §4 Observations, Data sufficiency). Pure, numpy-free.

- ``costopt.observe.sketch``: ``MetricSummary`` (DDSketch 1 % + count/sum/min/max, compact codec),
  ``DaySummary`` (one UTC day of one resource metric, idempotent ``fold``), ``group_by_day``.
- ``costopt.observe.window``: ``Window.ending(now, lookback_days)``, ``merge_days``, ``MIN_HOURS = 30``,
  ``insufficient(...)``.
- ``costopt.observe.usage``: ``build_usage(service, window, days) -> ServiceUsage`` and
  ``usage_from_series(service, series, lookback_days, now) -> ServiceUsage`` (the engines' input;
  ``costopt.jobs.usage.load_usage`` builds it from the observations store).

Each module's docstring lists its exact public API.
"""
