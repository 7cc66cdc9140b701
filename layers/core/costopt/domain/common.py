"""Shared types for the domain models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ServiceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")]
ResourceId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
AwsRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=1024)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]

Percent = Annotated[float, Field(ge=0, le=100)]
Fraction = Annotated[float, Field(ge=0, le=1)]

HOURS_PER_MONTH = 730.0


class Model(BaseModel):
    """Base for request/response/domain models: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
