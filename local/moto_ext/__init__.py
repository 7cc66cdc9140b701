"""Local-only extensions of moto for the sandbox (never product code: costopt never imports `local`).

Each module patches moto's backend classes in-process, so the patch holds for `mock_aws` and for the
ThreadedMotoServer of the local stack alike: ``cloudwatch`` (GetMetricData with percentiles, indexed),
``sts`` (AssumeRole checks the role, its trust policy and the ExternalId). `install()` installs all of
them; it is idempotent.
"""

from __future__ import annotations


def install() -> None:
    """Install every moto extension (idempotent)."""
    from local.moto_ext import cloudwatch, sts

    cloudwatch.install()
    sts.install()
