"""Timeouts, bounded retries with full-jitter backoff, and typed connector errors.

Every outbound call of a connector goes through here:

- HTTP (httpx) calls use :func:`call_with_retry`: at most ``settings.http_max_retries`` attempts,
  sleeping ``uniform(0, min(cap, base * 2**attempt))`` between them ("full jitter", AWS
  Architecture Blog, *Exponential Backoff And Jitter*), never sleeping past a deadline.
- boto3 clients are built by :func:`boto_client` with botocore's own timeouts and its
  ``standard`` retry mode (also exponential backoff with full jitter, bounded attempts), so
  AWS calls are not retried twice; :func:`aws_errors` turns what is left into ConnectorError.

Whatever fails ends as ``costopt.errors.ConnectorError(source, detail, retryable=...)``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Lock
from typing import TYPE_CHECKING, Any, TypeVar

from costopt.config import settings
from costopt.errors import ConnectorError

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

BASE_DELAY_S = 0.2
MAX_DELAY_S = 5.0
CONNECT_TIMEOUT_S = 3.0

# botocore error codes worth retrying at our level (botocore already retried them).
_RETRYABLE_AWS_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "LimitExceededException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalError", "InternalFailure", "InternalServiceError", "RequestTimeout", "RequestTimeoutException",
    "DataUnavailableException",
})

# Injectable for tests (and so retries never really sleep in unit tests).
sleep: Callable[[float], None] = time.sleep


def backoff_delay(attempt: int, base: float = BASE_DELAY_S, cap: float = MAX_DELAY_S,
                  rng: random.Random | None = None) -> float:
    """Full jitter: a uniform delay in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
    upper = min(cap, base * (2 ** attempt))
    return (rng or random).uniform(0.0, upper)


def call_with_retry(source: str, fn: Callable[[], T], *, attempts: int | None = None,
                    base: float = BASE_DELAY_S, cap: float = MAX_DELAY_S,
                    deadline: float | None = None) -> T:
    """Call ``fn`` until it succeeds, raises a non-retryable error, or attempts run out.

    ``fn`` raises ConnectorError (retryable or not); any other exception is a bug and propagates.
    ``deadline`` is a ``time.monotonic()`` value: no retry starts (or sleeps) past it.
    """
    tries = max(1, attempts if attempts is not None else settings.http_max_retries)
    last: ConnectorError | None = None
    for attempt in range(tries):
        try:
            return fn()
        except ConnectorError as exc:
            last = exc
            if not exc.retryable or attempt == tries - 1:
                raise
            delay = backoff_delay(attempt, base, cap)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise ConnectorError(source, f"{exc.detail} (no time left to retry)", retryable=True) from exc
            sleep(delay)
    assert last is not None  # pragma: no cover - the loop always returns or raises
    raise last


# --------------------------------------------------------------------------- AWS


def boto_client(service: str, region: str | None = None, account_id: str | None = None) -> Any:
    """A boto3 client per (service, region, account), created once per container with timeouts and retries
    (``account_id`` None: the account costopt runs in; another one through :func:`costopt.accounts.session`)."""
    from botocore.config import Config

    from costopt import accounts

    return accounts.client(service, region or settings.aws_region, account_id, purpose="connector",
                           config=lambda: Config(
                               connect_timeout=CONNECT_TIMEOUT_S,
                               read_timeout=settings.http_timeout_s,
                               retries={"mode": "standard", "max_attempts": max(1, settings.http_max_retries)},
                           ))


def aws_error(source: str, exc: Exception) -> ConnectorError:
    """Classify a botocore exception as a ConnectorError (retryable when a later run may succeed)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = code in _RETRYABLE_AWS_CODES or status >= 500 or status == 429
        return ConnectorError(source, f"{code}: {err.get('Message', '')}".strip(), retryable=retryable)
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError | EndpointConnectionError):
        return ConnectorError(source, f"timeout or connection failure: {exc}", retryable=True)
    if isinstance(exc, BotoCoreError):
        return ConnectorError(source, str(exc), retryable=False)
    return ConnectorError(source, f"{type(exc).__name__}: {exc}", retryable=False)


@contextmanager
def aws_errors(source: str) -> Iterator[None]:
    """Turn botocore errors raised inside the block into ConnectorError."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(source, exc) from exc


# --------------------------------------------------------------------------- HTTP


def http_status_error(source: str, status: int, detail: str) -> ConnectorError:
    """5xx and 429 are worth retrying; other 4xx are our request's fault and are not."""
    return ConnectorError(source, f"HTTP {status}: {detail}"[:500], retryable=status >= 500 or status == 429)


def http_timeout() -> Any:
    """The httpx timeout every HTTP connector uses."""
    import httpx

    return httpx.Timeout(settings.http_timeout_s, connect=CONNECT_TIMEOUT_S)


_http: Any = None
_http_lock = Lock()


def http_client() -> Any:
    """The one httpx.Client the HTTP connectors share (connection pooling across warm invocations)."""
    global _http
    if _http is None:
        with _http_lock:
            if _http is None:
                import httpx

                _http = httpx.Client(timeout=http_timeout(), headers={"Accept": "application/json"})
    return _http


class HttpConnector:
    """What an HTTP connector is built with: an httpx client (default: the shared ``http_client()``) and a base
    URL that overrides the configured one (tests, or a connector pointed elsewhere)."""

    def __init__(self, client: httpx.Client | None = None, base_url: str | None = None) -> None:
        self._client = client
        self._base_url = base_url

    @property
    def client(self) -> httpx.Client:
        return self._client or http_client()
