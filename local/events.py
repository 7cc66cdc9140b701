"""Build API Gateway HTTP API (payload v2) events, shaped as `sam local generate-event
apigateway http-api-proxy` makes them. Used by the local gateway and by the tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

ALL_SCOPES = ["costopt/read", "costopt/write", "costopt/operate"]


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
    now = time.time()
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
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
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
