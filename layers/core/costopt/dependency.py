"""Which failures are a dependency's, not ours: the one classification every function uses.

``dependency_failure(exc) -> DependencyFailure | None`` walks ``exc`` and what it wraps
(``__cause__``, PynamoDB's ``cause``) and names the first link that is a dependency failing:

- a transport failure (botocore ``EndpointConnectionError``, ``ConnectionClosedError``,
  ``ProxyConnectionError``, ``SSLError``, ``IncompleteReadError``, a socket ``ConnectionError``,
  Powertools' ``IdempotencyPersistenceConnectionError``) -> ``unreachable``;
- a timeout (botocore ``ConnectTimeoutError`` / ``ReadTimeoutError``, a socket ``TimeoutError``,
  an AWS ``RequestTimeout``) -> ``timeout``;
- an AWS error answer that says "slow down" (``Throttling``, ``ThrottlingException``,
  ``ProvisionedThroughputExceededException``, ``RequestLimitExceeded``, ``TooManyRequestsException``,
  HTTP 429, a transaction cancelled for throttling, a PynamoDB batch write left with unprocessed
  items) -> ``throttled``;
- an AWS error answer that says "our fault, try again" (``InternalServerError``, ``InternalFailure``,
  ``ServiceUnavailable``, any HTTP 5xx) -> ``unavailable``;
- a ``costopt.errors.DependencyUnavailable`` (connectors, actuators) -> ``unavailable`` unless
  what it wraps says more.

Wrappers are seen through: PynamoDB's ``GetError``/``PutError``/``QueryError``/``UpdateError``/
``TransactWriteError``..., Powertools idempotency's ``IdempotencyPersistenceLayerError`` (raised
``from`` the boto3 error), ``ConnectorError``/``ActuatorError`` (raised ``from`` botocore's).
Anything else (a bug, a missing table, a permission, bad parameters) is ``None``: a 500 stays a 500.

``costopt.http.make_resolver`` answers a classified failure 503 problem+json with ``Retry-After``
(``retry_after_s``: seconds, by kind). The jobs let these exceptions propagate, so a scheduled run
fails (and the schedule's retry policy runs it again) and an SQS record is reported failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["throttled", "timeout", "unavailable", "unreachable"]

# Seconds a client should wait before retrying, by kind: a throttle clears within seconds, an
# error answer or a timeout is usually transient, an endpoint that refuses connections is an outage.
RETRY_AFTER_S: dict[Kind, int] = {"throttled": 2, "timeout": 5, "unavailable": 5, "unreachable": 30}

THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "ThrottlingError",
    "ProvisionedThroughputExceeded", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "TooManyRequestsException", "LimitExceededException", "RequestThrottled", "RequestThrottledException",
    "SlowDown", "PriorRequestNotComplete",
})
TIMEOUT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
UNAVAILABLE_CODES = frozenset({
    "InternalServerError", "InternalFailure", "InternalError", "InternalServiceError", "InternalServiceException",
    "ServiceUnavailable", "ServiceUnavailableException", "ServiceException",
})
# the reasons DynamoDB gives per item when it cancels a transaction for capacity, not for a condition
TRANSACTION_THROTTLE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})

MAX_CHAIN = 16


@dataclass(frozen=True)
class DependencyFailure:
    kind: Kind
    dependency: str  # "DynamoDB", "AWS", or the connector's source / the actuator's kind
    cause: str  # the exception (type and code) that decided it, for logs; never sent to clients

    @property
    def retry_after_s(self) -> int:
        return RETRY_AFTER_S[self.kind]


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: ``__cause__`` (``raise ... from``) and PynamoDB's ``cause``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "cause", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__


def dependency_failure(exc: BaseException) -> DependencyFailure | None:
    """The dependency failure ``exc`` is (or wraps), or None when it is not one (see the module doc)."""
    from costopt.errors import DependencyUnavailable

    dependency: str | None = None  # named by the outermost wrapper that knows it
    wrapper: DependencyFailure | None = None
    for link in chain(exc):
        dependency = dependency or _dependency_of(link)
        found = _classify(link, dependency or "AWS")
        if found is not None:
            return found
        if wrapper is None and isinstance(link, DependencyUnavailable):
            wrapper = DependencyFailure("unavailable", dependency or "AWS", type(link).__name__)
    return wrapper


def _dependency_of(link: BaseException) -> str | None:
    module = type(link).__module__
    if module.startswith(("pynamodb", "aws_lambda_powertools.utilities.idempotency")):
        return "DynamoDB"
    named = getattr(link, "source", None) or getattr(link, "kind", None)  # ConnectorError / ActuatorError
    return str(named) if named and module.startswith("costopt") else None


def _classify(link: BaseException, dependency: str) -> DependencyFailure | None:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        HTTPClientError,
        IncompleteReadError,
        ReadTimeoutError,
    )
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    name = type(link).__name__
    if isinstance(link, ConnectTimeoutError | ReadTimeoutError | TimeoutError):
        return DependencyFailure("timeout", dependency, name)
    if isinstance(link, BotocoreConnectionError | HTTPClientError | IncompleteReadError | ConnectionError):
        return DependencyFailure("unreachable", dependency, name)
    if isinstance(link, ClientError):
        return _client_error(link, dependency)
    if name == "IdempotencyPersistenceConnectionError":
        return DependencyFailure("unreachable", "DynamoDB", name)
    if name == "PutError" and link.__cause__ is None and getattr(link, "cause", None) is None \
            and "max_retry_attempts exceeded" in str(link):
        # BatchWrite gave up on UnprocessedItems: DynamoDB kept refusing them for capacity
        return DependencyFailure("throttled", dependency, name)
    return None


def _client_error(link: BaseException, dependency: str) -> DependencyFailure | None:
    response = getattr(link, "response", None) or {}
    code = str(response.get("Error", {}).get("Code") or "")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    cause = f"{type(link).__name__}({code or status})"
    if code in THROTTLE_CODES or status == 429:
        return DependencyFailure("throttled", dependency, cause)
    if code in TIMEOUT_CODES:
        return DependencyFailure("timeout", dependency, cause)
    if code == "TransactionCanceledException":
        reasons = {getattr(r, "code", None) for r in (getattr(link, "cancellation_reasons", None) or [])}
        reasons |= {r.get("Code") for r in response.get("CancellationReasons") or [] if isinstance(r, dict)}
        if reasons & TRANSACTION_THROTTLE_REASONS:
            return DependencyFailure("throttled", dependency, cause)
        return None
    if code in UNAVAILABLE_CODES or status >= 500:
        return DependencyFailure("unavailable", dependency, cause)
    return None


__all__ = ["RETRY_AFTER_S", "DependencyFailure", "chain", "dependency_failure"]
