"""The HTTP contract apart from the domain: request bodies, parameters and response envelopes of the API.

Domain models (``Service``, ``Recommendation``, ``Change``, ``Scenario``...) travel as they are; what
only the API has lives in this package, one module per route family (so a function imports only its
own): ``metrics`` (``MetricQuery``, ``MetricPoints``, ``ServicePage``), ``recommendations``
(``RecommendRequest``, ``RecommendResponse``, ``DismissRequest``, ``RecommendationPage``), ``changes``
(``RollbackRequest``, ``ChangePage``) and ``simulations`` (``BatchRequest``, ``TemplateList``). Class
names are the OpenAPI component names clients see: keep them. Here: the path and query parameters
routes share.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from costopt.domain.common import ServiceId

ServiceIdPath = Annotated[ServiceId, Path(description="3-64 chars: lowercase letters, digits, '-'")]
ChangeIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# the ids the recommend routes take are generated ones; rollback accepts any id an apply was given
RecommendationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-z]+$")]
AppliedRecommendationIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SimulationIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="As returned by POST")]
PageLimit = Annotated[int, Query(ge=1, le=100)]
NextToken = Annotated[str | None, Query(max_length=2048)]
