"""The service registry as the API uses it: create/replace (checked against its telemetry source), read, delete.

A service is put only when its telemetry source can serve every resource kind it lists
(:func:`costopt.connectors.base.check_serves`, else 422).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costopt import deps
from costopt.domain.service import Service, ServicePut

if TYPE_CHECKING:
    from costopt.domain.budget import BudgetReport


def put_service(service_id: str, spec: ServicePut) -> tuple[Service, bool]:
    """Create (no ``version``) or replace (``version`` must match): (service, created). 409 on a stale version."""
    from costopt.connectors.base import check_serves

    check_serves(spec)
    return deps.services().put(service_id, spec)


def get_service(service_id: str) -> Service:
    return deps.services().get(service_id)


def delete_service(service_id: str, version: int | None = None) -> None:
    """Delete, only at ``version`` when given (404 unknown, 409 stale)."""
    deps.services().delete(service_id, version)


def service_budget(service_id: str) -> BudgetReport:
    """Month-to-date spend, forecast and threshold crossings of a service."""
    from costopt.jobs.budget import budget_report

    return budget_report(get_service(service_id))
