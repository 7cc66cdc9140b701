"""Local-only extensions of moto for the sandbox (never product code: costopt never imports `local`).

Each module patches moto's backend classes in-process, so the patch holds for `mock_aws` and for the
ThreadedMotoServer of the local stack alike: ``cloudwatch`` (GetMetricData with percentiles, indexed),
``sts`` (AssumeRole checks the role, its trust policy and the ExternalId), ``lambda_concurrency`` (the
provisioned-concurrency APIs; it adds URL routes, so it must be installed before a server starts), ``ce``
(Cost Explorer answered from a bill). `install()` installs all of them; it is idempotent.
"""

from __future__ import annotations


def install() -> None:
    """Install every moto extension (idempotent); before a moto server starts (see lambda_concurrency)."""
    from local.moto_ext import ce, cloudwatch, lambda_concurrency, sts

    cloudwatch.install()
    sts.install()
    lambda_concurrency.install()
    ce.install()
