"""Build API Gateway HTTP API (payload v2) events, shaped as `sam local generate-event
apigateway http-api-proxy` makes them. Used by the local gateway and by the tests."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

ALL_SCOPES = ["costopt/read", "costopt/write", "costopt/operate"]


def _request_time() -> datetime:
    """When the request arrived: costopt's business clock (pinned in tests, the system clock otherwise).
    Imported on call: costopt reads the environment at import, which local.env sets up first."""
    from costopt import clock

    return clock.now()


def _request_context_time(at: datetime) -> dict[str, object]:
    """``requestContext.time`` / ``timeEpoch`` as API Gateway writes them (01/Dec/2026:20:00:00 +0000)."""
    return {"time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(at.timestamp() * 1000)}


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
    scopes: list[str] | None = None,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    authorized: bool = True,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HttpApi v2 event. ``authorized=False`` leaves out the authorizer block (no token)."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body = body.decode()
    hdrs = {"content-type": "application/json", "user-agent": "costopt-tests"}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    request_id = uuid.uuid4().hex
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method.upper()} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": hdrs["user-agent"]},
            "requestId": request_id,
            "routeKey": route_key or f"{method.upper()} {path}",
            "stage": "$default",
            **_request_context_time(_request_time()),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        if base64_body:
            event["body"] = base64.b64encode(body.encode()).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body
    if authorized:
        token_scopes = ALL_SCOPES if scopes is None else scopes
        jwt_claims = {"sub": "tester", "iss": "https://costopt.local", "aud": "costopt",
                      "scope": " ".join(token_scopes)}
        jwt_claims.update(claims or {})
        event["requestContext"]["authorizer"] = {"jwt": {"claims": jwt_claims, "scopes": list(token_scopes)}}
    return event


TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/problem+json", "application/yaml")


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text (others arrive base64-encoded)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    return ctype.startswith(TEXT_TYPES) or ctype.endswith(("+json", "+xml"))


def gateway_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    route_key: str,
    path_parameters: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """The HttpApi v2 event API Gateway sends for one HTTP request: headers lower-cased (repeats
    joined by ','), cookies split out, repeated query parameters joined by ',', a non-text or
    non-UTF-8 body base64-encoded, and the authorizer block when the route has an authorizer."""
    from urllib.parse import parse_qsl

    hdrs: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        hdrs[key] = f"{hdrs[key]},{value}" if key in hdrs else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": hdrs.get("host", "127.0.0.1").split(":", 1)[0],
            "domainPrefix": "local",
            "http": {"method": method.upper(), "path": raw_path, "protocol": protocol,
                     "sourceIp": source_ip, "userAgent": hdrs.get("user-agent", "")},
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            **_request_context_time(_request_time()),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if body:
        text: str | None = None
        if is_text(hdrs.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event
