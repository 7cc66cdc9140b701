"""HTTP plumbing shared by every API function.

- ``make_resolver()`` builds the Powertools HTTP API (v2) resolver with validation on,
  problem+json errors and scope checks done *before* request validation. A dependency that
  fails (DynamoDB or an AWS API unreachable, timing out, throttling or answering 5xx; see
  ``costopt.dependency``) is a 503 problem with ``Retry-After``, whatever wraps it; a 500 is a bug.
- Routes declare the scope they need with ``security=READ | WRITE | OPERATE``; the same
  value documents the route in OpenAPI and is enforced here against the claims API
  Gateway's JWT authorizer passes in ``requestContext.authorizer.jwt``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from costopt.dependency import DependencyFailure, dependency_failure
from costopt.errors import (
    PROBLEM_BASE,
    BadRequest,
    CostoptError,
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    Unauthorized,
    UnsupportedMediaType,
)
from costopt.observability import logger

PROBLEM_JSON = "application/problem+json"
SECURITY_SCHEME = "jwt"

SCOPE_READ = "costopt/read"
SCOPE_WRITE = "costopt/write"
SCOPE_OPERATE = "costopt/operate"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_OPERATE)

READ: list[dict[str, list[str]]] = [{SECURITY_SCHEME: [SCOPE_READ]}]
WRITE: list[dict[str, list[str]]] = [{SECURITY_SCHEME: [SCOPE_WRITE]}]
OPERATE: list[dict[str, list[str]]] = [{SECURITY_SCHEME: [SCOPE_OPERATE]}]
PUBLIC: list[dict[str, list[str]]] = []


# --------------------------------------------------------------------------- problems


DEFAULT_RETRY_AFTER_S = 5  # a 503 whose cause says nothing more


def problem(status: int, title: str, detail: str = "", *, type_slug: str | None = None,
            errors: list[dict[str, Any]] | None = None, retry_after: int | None = None,
            **extra: Any) -> Response:
    """A problem+json response. Every 503 carries ``Retry-After`` (seconds; also ``retry_after_s``
    in the body): ``retry_after`` when given, else ``DEFAULT_RETRY_AFTER_S``."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_slug or str(status)),
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="costopt"'
    if status == 503:
        seconds = max(1, int(retry_after or DEFAULT_RETRY_AFTER_S))
        body["retry_after_s"] = seconds
        headers["Retry-After"] = str(seconds)
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body, default=str),
                    headers=headers or None)


def problem_from(exc: CostoptError) -> Response:
    extra = dict(exc.extra)
    retry_after: int | None = None
    if exc.status == 503:
        retry_after = extra.pop("retry_after_s", None)
        if retry_after is None:
            failure = dependency_failure(exc)  # what the connector or actuator error wraps decides
            retry_after = failure.retry_after_s if failure else None
    return problem(exc.status, exc.title, exc.detail, type_slug=exc.type_slug, errors=exc.errors or None,
                   retry_after=retry_after, **extra)


_DEPENDENCY_NAMES = {"DynamoDB": "the database", "AWS": "an AWS service costopt calls"}
_KIND_DETAIL = {
    "throttled": "{who} is throttling requests",
    "timeout": "{who} did not answer in time",
    "unavailable": "{who} is unavailable",
    "unreachable": "{who} cannot be reached",
}


def dependency_problem(failure: DependencyFailure) -> Response:
    """The 503 for a dependency failure; the detail names the kind of failure, never the cause's text."""
    who = _DEPENDENCY_NAMES.get(failure.dependency, failure.dependency)
    detail = _KIND_DETAIL[failure.kind].format(who=who) + f"; retry in {failure.retry_after_s} s"
    return problem_from(DependencyUnavailable(detail, extra={"retry_after_s": failure.retry_after_s}))


def _loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in (loc or [])]


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        msg = e.get("msg") or e.get("type", "invalid")
        out.append({"loc": _loc(e.get("loc")), "msg": str(msg), "type": e.get("type", "value_error")})
    return out


# --------------------------------------------------------------------------- request bodies

MAX_JSON_DEPTH = 32  # no request model nests deeper than a few levels; free-form dicts stay shallow


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf
        raise BadRequest(f"the number {text[:40]} is out of range",
                         errors=[{"loc": ["body"], "msg": "numbers must be finite"}])
    return value


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number", errors=[{"loc": ["body"], "msg": f"{name} is not allowed"}])


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json_body(text: str) -> Any:
    """Strict JSON for request bodies: no NaN/Infinity, finite numbers, bounded nesting.

    Syntax errors stay ``json.JSONDecodeError`` (Powertools answers them 400 ``json_invalid``);
    the rest raise ``BadRequest``."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                         errors=[{"loc": ["body"], "msg": "too deeply nested"}]) from exc
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer literal longer than Python's 4300-digit limit
        raise BadRequest("the body holds a number that cannot be read",
                         errors=[{"loc": ["body"], "msg": "number out of range"}]) from exc
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                         errors=[{"loc": ["body"], "msg": "too deeply nested"}])
    return value


def require_json_body(event: BaseProxyEvent) -> None:
    """Bodies are JSON: a body sent as another media type is a 415 (not parsed as a form or multipart), and one
    that is not UTF-8 text a 400, on every route (also on one that takes no body)."""
    if not event.body:
        return
    media_type = (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type not in ("", "application/json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {media_type[:100]}",
                                   errors=[{"loc": ["header", "content-type"], "msg": "unsupported media type"}])
    event.decoded_body  # noqa: B018 - decoding raises BadRequest for a body that is not UTF-8 text


class HttpApiEvent(APIGatewayProxyEventV2):
    """The v2 event with a body decoder that answers 400 for base64 that is not base64 of UTF-8 text."""

    @cached_property
    def decoded_body(self) -> str | None:
        body: str | None = self.body
        if self.is_base64_encoded and body:
            try:
                return base64.b64decode(body, validate=True).decode("utf-8")
            except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
                raise BadRequest("the body is not base64-encoded UTF-8 text",
                                 errors=[{"loc": ["body"], "msg": "invalid encoding"}]) from exc
        return body


# --------------------------------------------------------------------------- auth


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def principal_of(event: APIGatewayProxyEventV2) -> Principal | None:
    """The caller as API Gateway's JWT authorizer describes it, or None without claims."""
    authorizer = event.request_context.authorizer
    if authorizer is None:
        return None
    claims = authorizer.jwt_claim
    if not claims:
        return None
    scopes = set(authorizer.jwt_scopes or [])
    raw_scope = claims.get("scope") or claims.get("scp") or ""
    if isinstance(raw_scope, str):
        scopes.update(s for s in raw_scope.split() if s)
    elif isinstance(raw_scope, list):
        scopes.update(str(s) for s in raw_scope)
    subject = str(claims.get("sub") or claims.get("client_id") or "unknown")
    return Principal(subject=subject, scopes=frozenset(scopes), claims=dict(claims))


def authorize(event: APIGatewayProxyEventV2, security: list[dict[str, list[str]]] | None) -> Principal | None:
    required = [scope for req in (security or []) for scope in req.get(SECURITY_SCHEME, [])]
    if not required:
        return principal_of(event)
    who = principal_of(event)
    if who is None:
        raise Unauthorized("a bearer token is required")
    missing = [s for s in required if s not in who.scopes]
    if missing:
        raise Forbidden(f"the token lacks the scope {', '.join(missing)}", extra={"required_scopes": missing})
    return who


class CostoptResolver(APIGatewayHttpResolver):
    """HTTP API resolver that checks the route's scopes before validating the request."""

    def _to_proxy_event(self, event: dict) -> BaseProxyEvent:
        return HttpApiEvent(event, parse_json_body)

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> Any:
        try:
            authorize(self.current_event, route.security)
            require_json_body(self.current_event)
        except CostoptError as exc:
            return self._response_builder_class(response=problem_from(exc), serializer=self._serializer,
                                                route=route)
        return super()._call_route(route, route_arguments)

    @property
    def principal(self) -> Principal:
        who = principal_of(self.current_event)
        if who is None:  # routes with security never get here without claims
            raise Unauthorized("a bearer token is required")
        return who


def make_resolver() -> CostoptResolver:
    app = CostoptResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = validation_errors(exc.errors())
        status = 400 if any(e["type"] == "json_invalid" for e in errors) else 422
        return problem(status, InvalidRequest.title, "the request does not match the schema",
                       type_slug=InvalidRequest.type_slug, errors=errors)

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response:
        return problem_from(UnsupportedMediaType("send the body as application/json",
                                                 errors=validation_errors(exc.errors())))

    @app.exception_handler(CostoptError)
    def _costopt(exc: CostoptError) -> Response:
        if exc.status >= 500:
            logger.warning("request failed on a dependency", extra={"error": str(exc)})
        return problem_from(exc)

    from pynamodb.exceptions import PynamoDBException

    @app.exception_handler(PynamoDBException)
    def _dynamodb(exc: PynamoDBException) -> Response:
        # not exc.cause_response_code: it raises AttributeError for a cause whose response is None
        # (a botocore ReadTimeoutError), which would escape the handler as a Lambda error (a 500)
        response = getattr(exc.cause, "response", None)
        code = str((response.get("Error") or {}).get("Code") or "") if isinstance(response, dict) else ""
        if code == "ValidationException" and type(exc).__name__ in ("GetError", "QueryError", "ScanError"):
            # what a client controls in a read is its ids, parameters and next_token (an empty or
            # oversized key, a start key outside the queried partition); DynamoDB's message is not echoed
            logger.warning("read rejected by DynamoDB", extra={"error": exc.cause_response_message})
            return problem_from(BadRequest("an id, next_token or parameter is not valid for this read"))
        return _unexpected(exc)

    @app.exception_handler(NotFoundError)
    def _not_found(exc: NotFoundError) -> Response:
        return problem(404, "Not found", "no route matches this method and path", type_slug="no-route")

    @app.exception_handler(ServiceError)
    def _service(exc: ServiceError) -> Response:
        return problem(exc.status_code, "Error", str(exc.msg))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # the one place a dependency failure is told from a bug, for every exception type and function
        failure = dependency_failure(exc)
        if failure is not None:
            logger.warning("dependency unavailable", extra={"kind": failure.kind, "dependency": failure.dependency,
                                                            "cause": failure.cause, "error": str(exc)[:500],
                                                            "retry_after_s": failure.retry_after_s})
            return dependency_problem(failure)
        logger.exception("unhandled error")
        return problem_from(CostoptError("an unexpected error occurred; it has been logged"))

    return app
