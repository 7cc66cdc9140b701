"""What an EBS volume delivers: the IOPS and throughput limits AWS publishes per volume type.

The one definition the pricing (gp3's included performance), the simulation (its EBS clauses) and the
synthetic source (the ceiling of its demo metrics) share. Source: Amazon EBS User Guide, "Amazon EBS
volume types" (docs.aws.amazon.com/ebs/latest/userguide/ebs-volume-types.html) and its pages on
General Purpose SSD (gp2, gp3), Provisioned IOPS SSD (io1, io2) and Throughput Optimized / Cold HDD
(st1, sc1):

- gp3: 3,000 IOPS and 125 MiB/s included at any size; at most 16,000 IOPS and 1,000 MiB/s, 500 IOPS
  per GiB and 0.25 MiB/s per provisioned IOPS.
- gp2: 3 IOPS per GiB, at least 100, at most 16,000; volumes under 1,000 GiB burst to 3,000 IOPS.
  Throughput at most 128 MiB/s up to 170 GiB and 250 MiB/s from 334 GiB (in between 250 only while
  bursting, so 128 is what it sustains).
- io1 / io2: the provisioned IOPS (at least 100); throughput 256 KiB per provisioned IOPS, at most
  1,000 MiB/s.
- st1: at most 500 IOPS and 500 MiB/s; sc1: at most 250 IOPS and 250 MiB/s (1 MiB I/O).

MB/s here is the MiB/s AWS publishes (the field names say mbps).
"""

from __future__ import annotations

from costopt.domain.resources import EbsConfig

GP3_BASELINE_IOPS = 3000
GP3_BASELINE_THROUGHPUT_MBPS = 125
GP3_MAX_IOPS = 16_000
GP3_MAX_THROUGHPUT_MBPS = 1_000
GP3_MAX_IOPS_PER_GB = 500
GP3_MAX_MBPS_PER_IOPS = 0.25
"""gp3 ratios: at most 500 provisioned IOPS per GiB, and 0.25 MiB/s of throughput per provisioned IOPS."""

GP2_IOPS_PER_GB = 3.0
GP2_MIN_IOPS = 100.0
GP2_MAX_IOPS = 16_000.0
GP2_BURST_IOPS = 3_000.0
GP2_BURST_BELOW_GB = 1_000
"""Volumes smaller than this burst to ``GP2_BURST_IOPS`` (larger ones have at least that as baseline)."""
GP2_FULL_THROUGHPUT_FROM_GB = 334

PROVISIONED_IOPS_MIN = 100.0
PROVISIONED_IOPS_MB_PER_IOPS = 0.256  # 256 KiB I/O
PROVISIONED_IOPS_MAX_THROUGHPUT_MBPS = 1_000.0

HDD_LIMITS: dict[str, tuple[float, float]] = {"st1": (500.0, 500.0), "sc1": (250.0, 250.0)}
"""(max IOPS, max MB/s) of the HDD volume types."""


def gp2_baseline_iops(size_gb: float) -> float:
    """gp2 baseline: 3 IOPS per GB, at least 100, at most 16,000."""
    return min(GP2_MAX_IOPS, max(GP2_MIN_IOPS, GP2_IOPS_PER_GB * size_gb))


def gp2_max_throughput_mbps(size_gb: float) -> float:
    """gp2 throughput ceiling: 128 MB/s up to 170 GB, 250 MB/s from 334 GB (in between only with burst)."""
    return 128.0 if size_gb < GP2_FULL_THROUGHPUT_FROM_GB else 250.0


def ebs_limits(cfg: EbsConfig) -> tuple[float, float]:
    """(IOPS, MB/s) the volume delivers: gp3 as provisioned; gp2 its baseline, bursting to 3,000 IOPS
    under 1,000 GB; io1/io2 the provisioned IOPS; st1/sc1 their published maxima."""
    if cfg.volume_type == "gp3":
        return float(cfg.iops or GP3_BASELINE_IOPS), float(cfg.throughput_mbps or GP3_BASELINE_THROUGHPUT_MBPS)
    if cfg.volume_type == "gp2":
        burst = GP2_BURST_IOPS if cfg.size_gb < GP2_BURST_BELOW_GB else 0.0
        return max(gp2_baseline_iops(cfg.size_gb), burst), gp2_max_throughput_mbps(cfg.size_gb)
    if cfg.volume_type in ("io1", "io2"):
        iops = float(cfg.iops or PROVISIONED_IOPS_MIN)
        return iops, min(PROVISIONED_IOPS_MAX_THROUGHPUT_MBPS, iops * PROVISIONED_IOPS_MB_PER_IOPS)
    return HDD_LIMITS[cfg.volume_type]
