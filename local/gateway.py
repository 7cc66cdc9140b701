"""A local stand-in for API Gateway (HTTP API, payload v2) in front of the real handlers.

Every HttpApi route of template.yaml is served: the request is matched to a route as API Gateway
does, the bearer JWT is verified as the JWT authorizer would (401/403 with API Gateway's own
bodies), the request becomes an HttpApi v2 event, the function's ``lambda_handler`` runs in
process, and its result is turned back into an HTTP response.

The HTTP side answers the way an HTTP API does: any method at all goes through route selection
(an unknown method or route is 404 ``{"message":"Not Found"}``), a request body over Lambda's 6 MB
invocation limit is read and discarded and answered 413 ``{"message":"Request Entity Too Large"}``,
chunked bodies are decoded, and a malformed request is a JSON 400, never an HTML page.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.auth import InvalidToken, KeyPair, authorizer_context, bearer_token, has_any_scope, verify
from local.events import gateway_event
from local.routes import RouteDef, load_routes, select_route

# Every route is a Lambda integration: a synchronous invocation takes at most 6 MB (the event, so
# the body too). API Gateway's own 10 MB limit is never the one that applies.
MAX_BODY_BYTES = 6 * 1024 * 1024
DRAIN_MAX_BYTES = 32 * 1024 * 1024  # a too-large body is read (and dropped) up to this, so the client sees the 413
READ_CHUNK = 64 * 1024


class Gateway:
    """Routes + authorizer + handlers, independent of the HTTP server (easy to test).

    ``clock`` gives the epoch seconds the JWT authorizer checks exp/nbf against (the wall clock
    unless a test passes a fixed one)."""

    def __init__(self, routes: list[RouteDef], keys: KeyPair, *, log: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.routes = routes
        self.keys = keys
        self.log = log
        self.clock = clock

    @classmethod
    def from_template(cls, keys: KeyPair, template: dict[str, Any] | None = None, *, log: bool = True,
                      clock: Callable[[], float] = time.time) -> Gateway:
        return cls(load_routes(template), keys, log=log, clock=clock)

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None,
               source_ip: str = "127.0.0.1") -> tuple[int, list[tuple[str, str]], bytes]:
        """One HTTP request -> (status, headers, body)."""
        url = urlsplit(target)
        path = url.path or "/"
        found = select_route(self.routes, method, path)
        if found is None:
            return _message(404, "Not Found")
        route, params = found
        if body is not None and len(body) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        if not route.function.exists:
            return _message(500, "Internal Server Error",
                            log=f"{route.route_key}: {route.function.handler_file} does not exist")
        authorizer = None
        if route.authorizer:
            auth_header = next((v for k, v in headers if k.lower() == "authorization"), None)
            try:
                claims = verify(self.keys, bearer_token(auth_header), now=self.clock())
            except InvalidToken:
                return _message(401, "Unauthorized", extra=[("www-authenticate", "Bearer")])
            if not has_any_scope(claims, list(route.scopes)):
                return _message(403, "Forbidden")
            authorizer = authorizer_context(claims)
        event = gateway_event(method, path, url.query, headers, body, route_key=route.route_key,
                              path_parameters=params, authorizer=authorizer, source_ip=source_ip)
        if body and len(body) > MAX_BODY_BYTES // 2 and _payload_size(event) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")  # base64 or escapes made the event too big for Lambda
        try:
            result = route.function.invoke(event)
        except Exception:
            traceback.print_exc()
            return _message(500, "Internal Server Error")
        return to_http(result)


def _payload_size(event: dict[str, Any]) -> int:
    """The size of ``event`` as Lambda counts an invocation payload (its JSON, UTF-8)."""
    return len(json.dumps(event, ensure_ascii=False).encode())


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


class BadBody(Exception):
    """A request body the gateway does not pass on: answered ``status`` and the connection closed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, a keep-alive client's delayed ACK holds
    # the body back ~40 ms on every response (API Gateway has no such delay).
    disable_nagle_algorithm = True
    server_version = "costopt-local-gateway"
    timeout = 60  # seconds a client may stall mid-request (socket reads); an idle keep-alive is closed then
    gateway: Gateway  # set on the subclass made by make_server

    def __getattr__(self, name: str) -> Any:
        """``do_<METHOD>`` for every method name (TRACE, PROPFIND, FOO ...): routing decides, not http.server."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            data = self._read_body()
        except BadBody as exc:
            self._reply(*_message(exc.status, HTTPStatus(exc.status).phrase), close=True)
            return
        status, headers, body = self.gateway.handle(self.command, self.path, list(self.headers.items()),
                                                    data, source_ip=self.client_address[0])
        self._reply(status, headers, body)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), at most MAX_BODY_BYTES, else BadBody."""
        lengths = {v.strip() for v in self.headers.get_all("content-length") or []}
        coding = self.headers.get("transfer-encoding")
        if coding is not None:
            if lengths or coding.strip().lower() != "chunked":
                raise BadBody(400)  # both framings at once (or an unknown coding): refuse, as proxies do
            return self._read_chunked()
        if not lengths:
            return None
        length = lengths.pop()
        if lengths or not length.isdigit():
            raise BadBody(400)
        size = int(length)
        if size > MAX_BODY_BYTES:
            self._discard(size)
            raise BadBody(413)
        data = self.rfile.read(size) if size else b""
        if len(data) < size:
            raise BadBody(400)  # the client closed before sending what it announced
        return data or None

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadBody(400) from None
            if n < 0:
                raise BadBody(400)
            if n == 0:
                break
            size += n
            if size > DRAIN_MAX_BYTES:
                raise BadBody(413)
            chunk = self.rfile.read(n)
            if len(chunk) < n or self.rfile.readline(3).strip():
                raise BadBody(400)
            if size <= MAX_BODY_BYTES:
                parts.append(chunk)
        while self.rfile.readline(65537).strip():  # trailer fields, up to the empty line
            pass
        if size > MAX_BODY_BYTES:
            raise BadBody(413)
        return b"".join(parts) or None

    def _discard(self, size: int) -> None:
        """Read and drop up to ``size`` bytes (bounded), so a client still sending gets the answer."""
        left = min(size, DRAIN_MAX_BYTES)
        while left > 0:
            chunk = self.rfile.read(min(READ_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` with a body over the limit: the 413 comes before the body is sent."""
        length = (self.headers.get("content-length") or "").strip()
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._reply(*_message(413, "Request Entity Too Large"), close=True)
            return False
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers too long ...) as JSON, not HTML."""
        self.log_error("code %d, message %s", code, message or "")
        self._reply(*_message(code, HTTPStatus(code).phrase), close=True)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, *, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        if close:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.gateway.log:
            super().log_message(format, *args)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the listen backlog: socketserver's default of 5 resets bursts of clients


def make_server(gateway: Gateway, host: str = "127.0.0.1", port: int = 3000) -> GatewayServer:
    handler = type("GatewayHandler", (_Handler,), {"gateway": gateway})
    return GatewayServer((host, port), handler)


def serve_in_thread(server: GatewayServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="costopt-gateway", daemon=True)
    thread.start()
    return thread
