"""Alerts table: one item per (service, month, type, kind, threshold) crossing.

The conditional put is what makes a crossing alert exactly once however often the
recompute runs; ``delivery`` stays PENDING until SNS and EventBridge accepted the
message, so a failed publish is retried by the next run instead of being lost.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from costopt.config import settings
from costopt.domain.budget import BudgetAlert
from costopt.store.base import is_conditional, table_meta


class AlertItem(Model):
    Meta = table_meta(settings.alerts_table)
    service_id = UnicodeAttribute(hash_key=True)
    alert_key = UnicodeAttribute(range_key=True)
    delivery = UnicodeAttribute(default="PENDING")
    crossed_at = UTCDateTimeAttribute()
    doc = UnicodeAttribute()

    def to_domain(self) -> BudgetAlert:
        alert = BudgetAlert.model_validate_json(self.doc)
        return alert.model_copy(update={"delivery": self.delivery})


class AlertRepository:
    def raised(self, service_id: str, month: str) -> dict[str, datetime]:
        """alert_key -> crossed_at for the month's recorded crossings."""
        return {i.alert_key: i.crossed_at
                for i in AlertItem.query(service_id, AlertItem.alert_key.startswith(f"{month}#"))}

    def record(self, key: str, alert: BudgetAlert) -> bool:
        """Record a crossing; False when it was recorded before (by this or a concurrent run)."""
        item = AlertItem(service_id=alert.service_id, alert_key=key, delivery="PENDING",
                         crossed_at=alert.crossed_at, doc=alert.model_dump_json())
        try:
            item.save(condition=AlertItem.alert_key.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                return False
            raise
        return True

    def pending(self, service_id: str, month: str) -> list[tuple[str, BudgetAlert]]:
        return [(i.alert_key, i.to_domain())
                for i in AlertItem.query(service_id, AlertItem.alert_key.startswith(f"{month}#"),
                                         filter_condition=AlertItem.delivery == "PENDING")]

    def mark_sent(self, service_id: str, key: str) -> None:
        AlertItem(service_id=service_id, alert_key=key).update(actions=[AlertItem.delivery.set("SENT")])
