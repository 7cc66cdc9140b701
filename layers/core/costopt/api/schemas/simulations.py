"""API schemas of the simulate routes: the batch body and the template list."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from costopt.domain.common import Model
from costopt.domain.simulation import MAX_BATCH, TemplateInfo


class BatchRequest(Model):
    scenarios: list[Any] = Field(
        min_length=1,
        description=f"Up to {MAX_BATCH} scenarios, each shaped as the body of POST /v1/simulate (more is a 413). "
                    "Each is validated on its own: an invalid one gets its own problem entry.",
    )


class TemplateList(Model):
    items: list[TemplateInfo]
