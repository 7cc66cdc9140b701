"""Typed errors. Each carries the HTTP status and problem+json fields it maps to.

Logic raises these; ``costopt.http`` turns them into RFC 9457 problem+json responses.
"""

from __future__ import annotations

from typing import Any


class CostoptError(Exception):
    status: int = 500
    title: str = "Internal error"
    type_slug: str = "internal"

    def __init__(self, detail: str = "", *, extra: dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.errors = errors or []


class BadRequest(CostoptError):
    status, title, type_slug = 400, "Bad request", "bad-request"


class Unauthorized(CostoptError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class Forbidden(CostoptError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class NotFound(CostoptError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(CostoptError):
    status, title, type_slug = 409, "Conflict", "conflict"


class PayloadTooLarge(CostoptError):
    status, title, type_slug = 413, "Payload too large", "too-large"


class Unprocessable(CostoptError):
    status, title, type_slug = 422, "Unprocessable request", "unprocessable"


class Throttled(CostoptError):
    status, title, type_slug = 429, "Too many requests", "throttled"


class NotImplementedYet(CostoptError):
    status, title, type_slug = 501, "Not implemented", "not-implemented"


class DependencyUnavailable(CostoptError):
    """An outbound dependency (AWS API, Prometheus, billing API) failed after retries."""

    status, title, type_slug = 503, "Dependency unavailable", "dependency-unavailable"


class ConnectorError(DependencyUnavailable):
    """A telemetry/billing connector failed; carries the source name."""

    def __init__(self, source: str, detail: str, *, retryable: bool = True) -> None:
        super().__init__(f"{source}: {detail}", extra={"source": source})
        self.source = source
        self.retryable = retryable


class ActuatorError(DependencyUnavailable):
    """Changing a live resource failed."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}", extra={"actuator": kind})
        self.kind = kind
