"""Every error class answers the same problem+json as before it became declarative, and the resolver's
own problems (415, a DynamoDB-rejected read, a bug) are built from those classes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError

from costopt import errors
from costopt.http import PUBLIC, make_resolver
from local.events import http_event

PROBLEMS = {  # status, title, type slug: what clients see, pinned
    "CostoptError": (500, "Internal error", "internal"),
    "BadRequest": (400, "Bad request", "bad-request"),
    "Unauthorized": (401, "Unauthorized", "unauthorized"),
    "Forbidden": (403, "Forbidden", "forbidden"),
    "NotFound": (404, "Not found", "not-found"),
    "Conflict": (409, "Conflict", "conflict"),
    "PayloadTooLarge": (413, "Payload too large", "too-large"),
    "UnsupportedMediaType": (415, "Unsupported media type", "unsupported-media-type"),
    "Unprocessable": (422, "Unprocessable request", "unprocessable"),
    "InvalidRequest": (422, "Invalid request", "invalid-request"),
    "Throttled": (429, "Too many requests", "throttled"),
    "NotImplementedYet": (501, "Not implemented", "not-implemented"),
    "DependencyUnavailable": (503, "Dependency unavailable", "dependency-unavailable"),
    "ConnectorError": (503, "Dependency unavailable", "dependency-unavailable"),
    "ActuatorError": (503, "Dependency unavailable", "dependency-unavailable"),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_error_classes_keep_their_problem(name: str) -> None:
    cls = getattr(errors, name)
    assert (cls.status, cls.title, cls.type_slug) == PROBLEMS[name]
    assert issubclass(cls, errors.CostoptError)


def test_the_http_module_serves_the_same_media_type_error() -> None:
    from costopt import http

    assert http.UnsupportedMediaType is errors.UnsupportedMediaType and http.PROBLEM_BASE == errors.PROBLEM_BASE


@pytest.fixture
def resolve(lambda_context: Any) -> Any:
    app = make_resolver()

    @app.post("/t/echo", security=PUBLIC)
    def echo() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/t/<what>", security=PUBLIC)
    def fail(what: str) -> dict[str, str]:
        if what == "rejected-read":
            cause = ClientError({"Error": {"Code": "ValidationException", "Message": "key too long"}}, "GetItem")
            raise GetError("Failed", cause)
        if what == "conflict":
            raise errors.Conflict("stale etag", extra={"current_etag": "e2"})
        raise RuntimeError("a bug")

    def _resolve(method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
        resp = app.resolve(http_event(method, path, **kw), lambda_context)
        return resp["statusCode"], json.loads(resp["body"]), resp.get("headers") or {}

    return _resolve


def test_resolver_problems(resolve: Any) -> None:
    status, body, headers = resolve("POST", "/t/echo", body="a=b", headers={"content-type": "text/plain"})
    assert (status, body["type"], body["title"]) == (415, errors.PROBLEM_BASE + "unsupported-media-type",
                                                     "Unsupported media type")
    assert headers["Content-Type"] == "application/problem+json"

    status, body, _ = resolve("GET", "/t/rejected-read")
    assert body == {"type": errors.PROBLEM_BASE + "bad-request", "title": "Bad request", "status": 400,
                    "detail": "an id, next_token or parameter is not valid for this read"}

    status, body, _ = resolve("GET", "/t/conflict")
    assert body == {"type": errors.PROBLEM_BASE + "conflict", "title": "Conflict", "status": 409,
                    "detail": "stale etag", "current_etag": "e2"}

    status, body, _ = resolve("GET", "/t/bug")
    assert body == {"type": errors.PROBLEM_BASE + "internal", "title": "Internal error", "status": 500,
                    "detail": "an unexpected error occurred; it has been logged"}
