"""A local stand-in for API Gateway (HTTP API, payload v2) in front of the real handlers.

Every HttpApi route of template.yaml is served: the request is matched to a route as API Gateway
does, the bearer JWT is verified as the JWT authorizer would (401/403 with API Gateway's own
bodies), the request becomes an HttpApi v2 event, the function's ``lambda_handler`` runs in
process, and its result is turned back into an HTTP response.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.auth import InvalidToken, KeyPair, authorizer_context, bearer_token, has_any_scope, verify
from local.events import gateway_event
from local.routes import RouteDef, load_routes, select_route

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class Gateway:
    """Routes + authorizer + handlers, independent of the HTTP server (easy to test)."""

    def __init__(self, routes: list[RouteDef], keys: KeyPair, *, log: bool = True) -> None:
        self.routes = routes
        self.keys = keys
        self.log = log

    @classmethod
    def from_template(cls, keys: KeyPair, template: dict[str, Any] | None = None, *, log: bool = True) -> Gateway:
        return cls(load_routes(template), keys, log=log)

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None,
               source_ip: str = "127.0.0.1") -> tuple[int, list[tuple[str, str]], bytes]:
        """One HTTP request -> (status, headers, body)."""
        url = urlsplit(target)
        path = url.path or "/"
        found = select_route(self.routes, method, path)
        if found is None:
            return _message(404, "Not Found")
        route, params = found
        if not route.function.exists:
            return _message(500, "Internal Server Error",
                            log=f"{route.route_key}: {route.function.handler_file} does not exist")
        authorizer = None
        if route.authorizer:
            auth_header = next((v for k, v in headers if k.lower() == "authorization"), None)
            try:
                claims = verify(self.keys, bearer_token(auth_header))
            except InvalidToken:
                return _message(401, "Unauthorized", extra=[("www-authenticate", "Bearer")])
            if not has_any_scope(claims, list(route.scopes)):
                return _message(403, "Forbidden")
            authorizer = authorizer_context(claims)
        event = gateway_event(method, path, url.query, headers, body, route_key=route.route_key,
                              path_parameters=params, authorizer=authorizer, source_ip=source_ip)
        try:
            result = route.function.invoke(event)
        except Exception:
            traceback.print_exc()
            return _message(500, "Internal Server Error")
        return to_http(result)


def _message(status: int, message: str, *, extra: list[tuple[str, str]] | None = None,
             log: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    if log:
        print(f"gateway: {log}", file=sys.stderr)
    body = json.dumps({"message": message}).encode()
    return status, [("content-type", "application/json"), *(extra or [])], body


def to_http(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A v2 handler result as API Gateway turns it into a response (incl. the 'no statusCode' form)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return _message(500, "Internal Server Error", log=f"bad statusCode {result.get('statusCode')!r}")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.append((str(name), ",".join(str(v) for v in values)))
    for cookie in result.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    return status, headers, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, a keep-alive client's delayed ACK holds
    # the body back ~40 ms on every response (API Gateway has no such delay).
    disable_nagle_algorithm = True
    server_version = "costopt-local-gateway"
    gateway: Gateway  # set on the subclass made by make_server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            status, headers, body = _message(413, "Request Entity Too Large")
            self.close_connection = True
        else:
            data = self.rfile.read(length) if length else None
            status, headers, body = self.gateway.handle(self.command, self.path, list(self.headers.items()),
                                                        data, source_ip=self.client_address[0])
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.gateway.log:
            super().log_message(format, *args)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(gateway: Gateway, host: str = "127.0.0.1", port: int = 3000) -> GatewayServer:
    handler = type("GatewayHandler", (_Handler,), {"gateway": gateway})
    return GatewayServer((host, port), handler)


def serve_in_thread(server: GatewayServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="costopt-gateway", daemon=True)
    thread.start()
    return thread
