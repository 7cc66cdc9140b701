"""Pull one service's history now (``POST /v1/services/{service_id}/pull``) and report how far it got.

``pull_service_now(service_id: str, now: datetime, deadline_s: float) -> PullProgress``: runs the hourly
pull (``jobs.pull_metrics.run``, ``history_only``: telemetry and billing, not the change recovery and
verification the hourly pull does) for that one service within ``deadline_s``; the watermarks make a
later call (or the hourly schedule) resume where it stopped.
``pull_progress(service_id: str, now: datetime) -> PullProgress``: the same report from the watermarks,
without pulling.

The window is the first pull's (``policy.lookback_days`` back from ``as_of``'s day to ``as_of``, the
last full hour); ``percent`` is the share of it telemetry has reached. ``done`` when telemetry has
reached ``as_of`` and billing the last settled day (or the service has no resources); ``failed``
when the pull of this service failed (``detail`` says why); else ``in_progress``. NotFound (404)
for an unknown service.
"""

from __future__ import annotations

from datetime import UTC, datetime

from costopt import deps
from costopt.clock import floor_hour
from costopt.connectors.base import BILLING, TELEMETRY
from costopt.domain.pull import PullProgress
from costopt.jobs.pull_windows import billing_window, telemetry_window


def pull_progress(service_id: str, now: datetime, detail: str | None = None, failed: bool = False) -> PullProgress:
    """How far the service's telemetry and billing watermarks are against its first-pull window."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    service = deps.services().get(service_id)
    obs = deps.observations()
    as_of = floor_hour(now)
    start, end = telemetry_window(service, None, as_of)
    _, billing_end = billing_window(service, None, now)
    telemetry = obs.get_watermark(service_id, TELEMETRY)
    billing = obs.get_watermark(service_id, BILLING)
    reached = min(max(telemetry, start), end) if telemetry else start
    percent = 100.0 if end <= start else round(100.0 * (reached - start) / (end - start), 1)
    done = not service.resources or (
        telemetry is not None and telemetry >= end and billing is not None and billing >= billing_end)
    state = "failed" if failed else "done" if done else "in_progress"
    return PullProgress(service_id=service_id, state=state, window_start=start, window_end=end,
                        telemetry_reached=telemetry, billing_reached=billing,
                        percent=100.0 if done else percent, detail=detail)


def pull_service_now(service_id: str, now: datetime, deadline_s: float) -> PullProgress:
    """Pull the service's telemetry and billing within ``deadline_s`` seconds, then report the progress."""
    from costopt.jobs.pull_metrics import run

    deps.services().get(service_id)  # 404 before any work
    report = run(now, deadline_s, [service_id], history_only=True)
    pulled = next((s for s in report.services if s.service_id == service_id), None)
    if pulled is None:
        return pull_progress(service_id, now, detail="out of time before the pull started; the hourly pull continues")
    errors = [f"{name}: {p.error}" for name, p in (("telemetry", pulled.telemetry), ("billing", pulled.billing))
              if p.outcome in ("stale", "failed") and p.error]
    failed = pulled.telemetry.outcome == "failed" or pulled.billing.outcome == "failed"
    return pull_progress(service_id, now, detail="; ".join(errors) or None, failed=failed)


__all__ = ["pull_progress", "pull_service_now"]
