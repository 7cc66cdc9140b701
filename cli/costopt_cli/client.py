"""The HTTP client: bearer token, JSON in and out, RFC 9457 problems as errors, bounded Retry-After retries.

Exit codes (``CliError.exit_code``): 0 done; 1 the API refused the request (a 4xx: validation, not found,
conflict, a rejected token); 2 a usage error (Typer's own, or a missing token, a bad file or profile);
3 the API could not be reached or could not answer (network error, timeout, 5xx, a 503 or 429 still
answered after the retries); 4 a confirmation was declined.

A 503 or 429 is retried after its ``Retry-After`` (at most ``max_wait_s`` each, ``max_retries`` times) when the
request is safe to repeat: a GET, a call with an ``Idempotency-Key``, or one the caller marks ``retry=True``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from costopt_cli import __version__

EXIT_API = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_DECLINED = 4
RETRY_STATUSES = frozenset({429, 503})


class CliError(Exception):
    """What ends a command with a message on stderr and a non-zero exit code."""

    def __init__(self, message: str, exit_code: int, lines: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.lines = lines or []


class ApiError(CliError):
    """An error answer of the API; ``problem`` is its body (RFC 9457 problem+json when it is costopt's)."""

    def __init__(self, status: int, problem: dict[str, Any], lines: list[str]) -> None:
        title = str(problem.get("title") or problem.get("message") or httpx.codes.get_reason_phrase(status))
        detail = problem.get("detail")
        message = f"{status} {title}" + (f": {detail}" if detail else "")
        super().__init__(message, EXIT_API if status < 500 else EXIT_UNAVAILABLE, lines)
        self.status = status
        self.problem = problem


@dataclass
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def retry_after_s(value: str | None, default: float = 1.0) -> float:
    """Seconds of a ``Retry-After`` header (delta-seconds; anything else waits ``default``)."""
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def problem_lines(problem: Mapping[str, Any]) -> list[str]:
    """The parts of a problem beyond title and detail, one per line: field errors and extra members."""
    lines = []
    for error in problem.get("errors") or []:
        if isinstance(error, Mapping):
            where = ".".join(str(p) for p in error.get("loc") or error.get("location") or [] if p != "body")
            message = error.get("msg") or error.get("message") or error.get("detail") or error
            lines.append(f"  {where}: {message}" if where else f"  {message}")
        else:
            lines.append(f"  {error}")
    for key, value in problem.items():
        if key not in {"type", "title", "status", "detail", "errors", "instance", "message"}:
            lines.append(f"  {key}: {value}")
    return lines


class Client:
    """One API at ``url``; ``token`` goes as ``Authorization: Bearer``."""

    def __init__(self, url: str, token: str | None, *, timeout_s: float = 120.0, max_retries: int = 3,
                 max_wait_s: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"user-agent": f"costopt-cli/{__version__}", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.url = url
        self.max_retries, self.max_wait_s, self.sleep = max_retries, max_wait_s, sleep
        self.http = httpx.Client(base_url=url, headers=headers, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, retry: bool | None = None) -> Reply:
        safe = retry if retry is not None else (method == "GET" or "Idempotency-Key" in (headers or {}))
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                response = self.http.request(method, path, json=body, params=query, headers=headers)
            except httpx.TimeoutException as exc:
                raise CliError(f"{method} {self.url}{path} timed out ({exc})", EXIT_UNAVAILABLE) from exc
            except httpx.TransportError as exc:
                raise CliError(f"cannot reach {self.url}: {exc}", EXIT_UNAVAILABLE) from exc
            if response.status_code in RETRY_STATUSES and safe and attempt < self.max_retries:
                attempt += 1
                self.sleep(min(self.max_wait_s, retry_after_s(response.headers.get("retry-after"))))
                continue
            return self._reply(response)

    def _reply(self, response: httpx.Response) -> Reply:
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:500]}
        if response.status_code >= 400:
            problem = body if isinstance(body, dict) else {"detail": str(body)}
            lines = problem_lines(problem)
            if response.status_code == 401:
                lines.append("  the API rejected the token: get a fresh one and `costopt login` (or set COSTOPT_TOKEN)")
            if response.status_code in RETRY_STATUSES and response.headers.get("retry-after"):
                lines.append(f"  retry after {response.headers['retry-after']} s")
            raise ApiError(response.status_code, problem, lines)
        return Reply(response.status_code, body, dict(response.headers))

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).body

    def post(self, path: str, body: Any, *, headers: Mapping[str, str] | None = None,
             retry: bool | None = None) -> Reply:
        return self.request("POST", path, body=body, headers=headers, retry=retry)

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``next_token``."""
        token: str | None = None
        while True:
            page = self.get(path, **params, next_token=token)
            yield from page.get("items", [])
            token = page.get("next_token")
            if not token:
                return
