"""The scenario being resolved: configs as dicts while templates, recommendations and changes merge.

Order of application, later wins on the same field: template -> recommendation_ids -> changes
(``build.build_plan``). Also the 422 helpers every step raises with. Pure and numpy-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from costopt.domain.recommendation import Recommendation
from costopt.domain.resources import CONFIG_MODELS, ResourceKind
from costopt.domain.service import Service
from costopt.engine.simulation.plan import OffHours, TrafficEvent
from costopt.errors import Unprocessable
from costopt.pricing.catalog import Catalog


def validation_errors(exc: ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


def unprocessable(detail: str, loc: Sequence[str | int], msg: str | None = None) -> Unprocessable:
    return Unprocessable(detail, errors=[{"loc": list(loc), "msg": msg or detail, "type": "value_error"}])


class Draft:
    """Scenario configs as dicts while templates, recommendations and changes are merged."""

    def __init__(self, service: Service, catalog: Catalog) -> None:
        self.service = service
        self.catalog = catalog
        self.configs: dict[str, dict[str, Any]] = {r.resource_id: r.config.model_dump() for r in service.resources}
        self.origin: dict[str, list[Sequence[str | int]]] = {r.resource_id: [] for r in service.resources}
        self.off_hours: dict[str, dict[str, Any]] = {}
        self.spot: set[str] = set()
        self.notes: dict[str, list[str]] = {r.resource_id: [] for r in service.resources}
        self.plan_notes: list[str] = []
        self.events: list[TrafficEvent] = []
        self.window: OffHours | None = None

    def update(self, resource_id: str, values: dict[str, Any], loc: Sequence[str | int]) -> None:
        self.configs[resource_id].update(values)
        self.origin[resource_id].append(loc)

    def kind(self, resource_id: str) -> ResourceKind:
        resource = self.service.resource(resource_id)
        assert resource is not None
        return resource.kind

    def apply_recommendation(self, rec: Recommendation, loc: Sequence[str | int]) -> None:
        if rec.resource_id not in self.configs:
            raise unprocessable(f"recommendation {rec.recommendation_id!r} is for resource {rec.resource_id!r}, "
                                "which the service no longer has", [*loc])
        diff = {k: v for k, v in rec.proposed.items() if rec.current.get(k) != v}
        model = CONFIG_MODELS[self.kind(rec.resource_id)]
        diff = {k: v for k, v in diff.items() if k in model.model_fields}
        self.update(rec.resource_id, diff, loc)
        self.notes[rec.resource_id].append(f"recommendation {rec.recommendation_id} ({rec.action})")
