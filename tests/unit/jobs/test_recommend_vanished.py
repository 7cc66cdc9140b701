"""A resource discovery marked vanished gets no recommendation: the engine is not given it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from costopt.domain.service import Service
from costopt.jobs import recommend as job

NOW = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


def test_vanished_resources_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def engine(service: Service, usage: Any, catalog: Any, **kw: Any) -> Any:
        seen["engine"] = [r.resource_id for r in service.resources]
        return None

    def usage(service: Service, lookback: int, now: datetime) -> dict[str, Any]:
        seen["usage"] = [r.resource_id for r in service.resources]
        return {}

    monkeypatch.setattr(job, "recommend", engine)
    monkeypatch.setattr(job, "load_usage", usage)
    monkeypatch.setattr(job.deps, "catalog", lambda region: None)
    monkeypatch.setattr(job, "recently_rolled_back", lambda *a: [])
    service = Service.model_validate({
        "service_id": "checkout", "version": 1, "created_at": NOW, "updated_at": NOW, "name": "c", "team": "t",
        "telemetry": {"source": "cloudwatch"}, "billing": {"source": "cost_explorer"},
        "resources": [{"resource_id": r, "kind": "lambda_function", "function_name": r, "config": {"memory_mb": 512},
                       "vanished_at": NOW if r == "gone" else None} for r in ("api", "gone")]})
    job.recommend_service(service, now=NOW, persist=False, recommendations=object())  # type: ignore[arg-type]  # not persisted
    assert seen == {"engine": ["api"], "usage": ["api"]}
