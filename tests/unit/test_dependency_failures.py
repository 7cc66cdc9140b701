"""Dependency failures are 503 problem+json with Retry-After, never 500 (issue 12).

- ``test_dynamodb_failing_on_the_wire``: the PynamoDB models and the idempotency store's boto3 client
  pointed at an endpoint that refuses connections, hangs past the read timeout, or answers DynamoDB's
  own throttling / 5xx errors; real bytes through botocore and PynamoDB's wrapping, real handlers.
- ``test_every_classification_through_a_handler``: each kind of exception (PynamoDB wrapping a
  connection error, raw botocore connect/read timeouts, ClientError throttle codes of other AWS APIs,
  Powertools idempotency persistence errors, costopt's DependencyUnavailable family) raised where a
  repository call is, through the services function's real handler.
- genuine bugs and misconfigurations stay 500; a DynamoDB failure is never a 404/409.
- the jobs let a dependency failure fail: pull_metrics fails the invocation (after the other services),
  the recompute reports the SQS record failed, a simulation batch fails as a whole.
"""


from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from pynamodb.exceptions import GetError, PutError, QueryError, TransactWriteError, UpdateError

from costopt.dependency import RETRY_AFTER_S, dependency_failure
from costopt.errors import ActuatorError, ConnectorError, DependencyUnavailable
from local.events import http_event

DDB_URL = "https://dynamodb.us-east-1.amazonaws.com"


def call(function: str, method: str, path: str, context: Any, **kw: Any) -> tuple[int, dict[str, str], Any]:
    import importlib

    handler = importlib.import_module(f"functions.{function}.app").lambda_handler
    resp = handler(http_event(method, path, **kw), context)
    body = resp.get("body")
    return resp["statusCode"], dict(resp.get("headers") or {}), json.loads(body) if body else None


def test_dynamodb_settings_bound_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models, transactions and the idempotency store's boto3 client all use the COSTOPT_DYNAMODB_* bounds."""
    from costopt.config import Settings
    from costopt.store.base import BaseMeta, client_config, connection

    monkeypatch.setenv("COSTOPT_DYNAMODB_CONNECT_TIMEOUT_S", "0.5")
    monkeypatch.setenv("COSTOPT_DYNAMODB_READ_TIMEOUT_S", "1.5")
    monkeypatch.setenv("COSTOPT_DYNAMODB_MAX_RETRIES", "1")
    fresh = Settings()
    bounds = (fresh.dynamodb_connect_timeout_s, fresh.dynamodb_read_timeout_s, fresh.dynamodb_max_retries)
    assert bounds == (0.5, 1.5, 1)
    monkeypatch.setenv("COSTOPT_DYNAMODB_MAX_RETRIES", "-1")
    with pytest.raises(ValueError):
        Settings()
    from costopt.config import settings

    assert (BaseMeta.connect_timeout_seconds, BaseMeta.read_timeout_seconds, BaseMeta.max_retry_attempts) == (
        settings.dynamodb_connect_timeout_s, settings.dynamodb_read_timeout_s, settings.dynamodb_max_retries)
    monkeypatch.setattr(settings, "dynamodb_max_retries", 2)
    config = client_config()
    assert (config.connect_timeout, config.read_timeout) == (settings.dynamodb_connect_timeout_s,
                                                            settings.dynamodb_read_timeout_s)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    conn = connection()
    assert conn.client.meta.config.retries["total_max_attempts"] == 3
    assert conn.client.meta.config.read_timeout == settings.dynamodb_read_timeout_s


def _client_error(code: str, status: int = 400, operation: str = "GetMetricData", **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status},
                        **extra}, operation)


def _pynamo(cls: type, cause: Exception) -> Exception:
    try:
        raise cause
    except Exception as exc:
        return cls(f"Failed: {exc}", exc)


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


def _idempotency(name: str, cause: Exception | None) -> Exception:
    from aws_lambda_powertools.utilities.idempotency import exceptions

    cls = getattr(exceptions, name)
    return _chained(cls("Failed to save in progress record to idempotency store", cause), cause) if cause else cls(
        "connection failed")


def _transaction(*reasons: str | None) -> Exception:
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                               "TransactWriteItems",
                               cancellation_reasons=[CancellationReason(code=r) if r else None for r in reasons])
    return TransactWriteError("Failed to write transaction items", cause)


def _connector_throttled() -> Exception:
    return _chained(ConnectorError("cloudwatch", "ThrottlingException: Rate exceeded"),
                    _client_error("ThrottlingException"))


def _actuator_unreachable() -> Exception:
    return _chained(ActuatorError("lambda_function", "read failed"),
                    EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com/"))


CLASSIFIED: list[tuple[str, Callable[[], Exception], str, str]] = [
    # PynamoDB wrapping a transport failure (what a stopped DynamoDB raises)
    ("get-endpoint", lambda: _pynamo(GetError, EndpointConnectionError(endpoint_url=DDB_URL)),
     "unreachable", "DynamoDB"),
    ("query-closed", lambda: _pynamo(QueryError, ConnectionClosedError(endpoint_url=DDB_URL)),
     "unreachable", "DynamoDB"),
    ("put-connect-timeout", lambda: _pynamo(PutError, ConnectTimeoutError(endpoint_url=DDB_URL)),
     "timeout", "DynamoDB"),
    ("update-read-timeout", lambda: _pynamo(UpdateError, ReadTimeoutError(endpoint_url=DDB_URL)),
     "timeout", "DynamoDB"),
    ("put-throttled", lambda: _pynamo(PutError, _client_error("ProvisionedThroughputExceededException")),
     "throttled", "DynamoDB"),
    ("get-internal", lambda: _pynamo(GetError, _client_error("InternalServerError", 500)), "unavailable", "DynamoDB"),
    ("batch-unprocessed", lambda: PutError("Failed to batch write items: max_retry_attempts exceeded"),
     "throttled", "DynamoDB"),
    ("transaction-throttled", lambda: _transaction(None, "ThrottlingError", None), "throttled", "DynamoDB"),
    # raw botocore, as boto3 clients raise it
    ("raw-endpoint", lambda: EndpointConnectionError(endpoint_url=DDB_URL), "unreachable", "AWS"),
    ("raw-connect-timeout", lambda: ConnectTimeoutError(endpoint_url=DDB_URL), "timeout", "AWS"),
    ("raw-read-timeout", lambda: ReadTimeoutError(endpoint_url=DDB_URL), "timeout", "AWS"),
    ("socket-refused", lambda: ConnectionRefusedError(111, "Connection refused"), "unreachable", "AWS"),
    ("socket-timeout", lambda: TimeoutError("timed out"), "timeout", "AWS"),
    *[(f"code-{code}", lambda code=code, status=status: _client_error(code, status), "throttled", "AWS")
      for code, status in [("Throttling", 400), ("ThrottlingException", 400), ("RequestLimitExceeded", 503),
                           ("TooManyRequestsException", 429), ("ProvisionedThroughputExceededException", 400),
                           ("SlowDown", 503), ("SomethingNew", 429)]],
    *[(f"code-{code}", lambda code=code, status=status: _client_error(code, status), "unavailable", "AWS")
      for code, status in [("ServiceUnavailable", 503), ("InternalServerError", 500), ("InternalFailure", 500),
                           ("InternalError", 500), ("BrandNew5xx", 502)]],
    ("code-RequestTimeout", lambda: _client_error("RequestTimeout", 408), "timeout", "AWS"),
    # Powertools idempotency's persistence layer (the apply / rollback Idempotency-Key store)
    ("idempotency-unreachable", lambda: _idempotency("IdempotencyPersistenceLayerError",
                                                     EndpointConnectionError(endpoint_url=DDB_URL)),
     "unreachable", "DynamoDB"),
    ("idempotency-throttled", lambda: _idempotency("IdempotencyPersistenceLayerError",
                                                   _client_error("ThrottlingException")), "throttled", "DynamoDB"),
    ("idempotency-connection", lambda: _idempotency("IdempotencyPersistenceConnectionError", None),
     "unreachable", "DynamoDB"),
    # costopt's own, and what they wrap decides Retry-After
    ("dependency-unavailable", lambda: DependencyUnavailable("billing API down"), "unavailable", "AWS"),
    ("connector-throttled", _connector_throttled, "throttled", "cloudwatch"),
    ("actuator-unreachable", _actuator_unreachable, "unreachable", "lambda_function"),
]

NOT_DEPENDENCY: list[tuple[str, Callable[[], Exception]]] = [
    ("bug", lambda: ValueError("a bug")),
    ("key-error", lambda: KeyError("x")),
    ("access-denied", lambda: _pynamo(GetError, _client_error("AccessDeniedException"))),
    ("no-table", lambda: _pynamo(QueryError, _client_error("ResourceNotFoundException"))),
    ("raw-access-denied", lambda: _client_error("AccessDeniedException", 403)),
    ("unrecognized-client", lambda: _client_error("UnrecognizedClientException", 400)),
    ("no-credentials", lambda: NoCredentialsError()),
    ("idempotency-bug", lambda: _idempotency("IdempotencyPersistenceLayerError", TypeError("not serializable"))),
    ("transaction-conditions", lambda: _transaction("ConditionalCheckFailed", "None", None)),
    ("bug-while-handling", lambda: _context_only()),
]


def _context_only() -> Exception:
    """A bug raised while handling a connection error (implicit context, no ``from``) is still a bug."""
    try:
        try:
            raise EndpointConnectionError(endpoint_url=DDB_URL)
        except EndpointConnectionError:
            raise AttributeError("'NoneType' object has no attribute 'x'")  # noqa: B904
    except AttributeError as exc:
        return exc


@pytest.mark.parametrize(("name", "make", "kind", "dependency"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_classification(name: str, make: Callable[[], Exception], kind: str, dependency: str) -> None:
    failure = dependency_failure(make())
    assert failure is not None and (failure.kind, failure.dependency) == (kind, dependency)
    assert failure.retry_after_s == RETRY_AFTER_S[kind]


@pytest.mark.parametrize(("name", "make"), NOT_DEPENDENCY, ids=[c[0] for c in NOT_DEPENDENCY])
def test_not_a_dependency_failure(name: str, make: Callable[[], Exception]) -> None:
    assert dependency_failure(make()) is None


def test_retry_after_by_kind_is_short_for_throttles_and_longer_for_an_outage() -> None:
    assert 1 <= RETRY_AFTER_S["throttled"] <= 5
    assert RETRY_AFTER_S["throttled"] < RETRY_AFTER_S["timeout"] <= RETRY_AFTER_S["unreachable"]
    assert RETRY_AFTER_S["unreachable"] >= 10
