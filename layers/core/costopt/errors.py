"""Typed errors: each class declares the HTTP status, title and problem type it maps to, in its class line.

Logic raises these; ``costopt.http`` turns them into RFC 9457 problem+json responses: ``status``,
``title`` and ``type`` (``PROBLEM_BASE`` + ``type_slug``). A new error is one line:
``class Gone(CostoptError, status=410, title="Gone", slug="gone"): ...``.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://costopt.dev/problems/"


class CostoptError(Exception):
    """A 500 (a bug) unless the subclass declares its problem: ``class X(CostoptError, status=, title=, slug=)``."""

    status: int = 500
    title: str = "Internal error"
    type_slug: str = "internal"

    def __init_subclass__(cls, status: int | None = None, title: str | None = None, slug: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.title = title or cls.title
        cls.type_slug = slug or cls.type_slug

    def __init__(self, detail: str = "", *, extra: dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.errors = errors or []


# one line each: the request cannot be read; no token; the token lacks a scope; an id that names nothing;
# the state refuses it (stale etag/version, a change in progress); too many items; a body that is not JSON;
# well-formed but cannot be done; a body (or a batch's item) that does not match the schema; too many requests;
# not built yet
class BadRequest(CostoptError, status=400, title="Bad request", slug="bad-request"): ...
class Unauthorized(CostoptError, status=401, title="Unauthorized", slug="unauthorized"): ...
class Forbidden(CostoptError, status=403, title="Forbidden", slug="forbidden"): ...
class NotFound(CostoptError, status=404, title="Not found", slug="not-found"): ...
class Conflict(CostoptError, status=409, title="Conflict", slug="conflict"): ...
class PayloadTooLarge(CostoptError, status=413, title="Payload too large", slug="too-large"): ...
class UnsupportedMediaType(CostoptError, status=415, title="Unsupported media type", slug="unsupported-media-type"): ...
class Unprocessable(CostoptError, status=422, title="Unprocessable request", slug="unprocessable"): ...
class InvalidRequest(CostoptError, status=422, title="Invalid request", slug="invalid-request"): ...
class Throttled(CostoptError, status=429, title="Too many requests", slug="throttled"): ...
class NotImplementedYet(CostoptError, status=501, title="Not implemented", slug="not-implemented"): ...


class DependencyUnavailable(CostoptError, status=503, title="Dependency unavailable", slug="dependency-unavailable"):
    """An outbound dependency (AWS API, Prometheus, billing API) failed after retries."""


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
