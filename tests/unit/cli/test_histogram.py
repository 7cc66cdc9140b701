"""The text histogram of simulated monthly cost, drawn from p10/p50/p90 (costopt_cli.histogram)."""

from __future__ import annotations

import re

import pytest

from costopt_cli.histogram import NOTE, histogram, segments, share


def shares_of(lines: list[str]) -> list[float]:
    return [float(re.search(r"(\d+\.\d)%$", line).group(1)) for line in lines[1:]]


def test_the_segments_put_40_percent_between_the_quartiles_and_taper_the_tails():
    assert segments({"p10": 100, "p50": 110, "p90": 130}) == [
        (95.0, 100.0, 0.1), (100.0, 110.0, 0.4), (110.0, 130.0, 0.4), (130.0, 140.0, 0.1)]


def test_share_counts_the_overlap_of_each_segment():
    parts = segments({"p10": 100, "p50": 110, "p90": 130})
    assert share(parts, 100, 110) == pytest.approx(0.4)
    assert share(parts, 105, 120) == pytest.approx(0.2 + 0.2)  # half of [100,110] and half of [110,130]
    assert share(parts, 0, 1000) == pytest.approx(1.0)
    assert share(parts, 140, 150) == 0.0


def test_a_histogram_has_a_bar_per_bin_summing_to_all_samples():
    lines = histogram("baseline", {"p10": 100, "p50": 110, "p90": 130}, bins=9, width=30)
    assert lines[0] == f"baseline monthly cost, {NOTE}"
    assert len(lines) == 10
    values = shares_of(lines)
    assert sum(values) == pytest.approx(100.0, abs=0.5)
    assert lines[1].strip().startswith("$95.00 - $100.00")
    assert lines[-1].strip().startswith("$135.00 - $140.00")
    assert lines[2].count("█") == 30  # the tallest bar is the full width
    assert lines[1].count("█") == 15


def test_the_bins_are_exact_for_a_known_distribution():
    # 9 bins 5 wide over [95, 140]: the lower tail, p10..p50 (20% a bin), p50..p90 (10%), the upper tail (5%)
    values = shares_of(histogram("s", {"p10": 100, "p50": 110, "p90": 130}, bins=9))
    assert values == [10.0, 20.0, 20.0, 10.0, 10.0, 10.0, 10.0, 5.0, 5.0]


def test_every_sample_at_one_cost_is_one_full_bin():
    lines = histogram("scenario", {"p10": 5, "p50": 5, "p90": 5})
    assert len(lines) == 2 and lines[1].endswith("100.0%")


def test_percentiles_out_of_order_are_refused():
    with pytest.raises(ValueError, match="out of order"):
        segments({"p10": 3, "p50": 2, "p90": 4})
