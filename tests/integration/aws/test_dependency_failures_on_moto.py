"""Dependency failures are 503 problem+json with Retry-After, never 500 (issue 12): the tests that need AWS, on
moto.

The module docstring, the tests that need no AWS and the helpers both share are in
``tests/unit/test_dependency_failures.py``."""


from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import (
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.exceptions import GetError, PutError, QueryError

from costopt import clock
from costopt.dependency import RETRY_AFTER_S, dependency_failure
from costopt.errors import Conflict, DependencyUnavailable
from tests.unit.test_dependency_failures import (  # shared with the tests that need no AWS
    CLASSIFIED,
    DDB_URL,
    NOT_DEPENDENCY,
    _actuator_unreachable,
    _client_error,
    _pynamo,
    call,
)

SPEC = {
    "name": "Checkout", "team": "payments",
    "resources": [{"resource_id": "api", "kind": "lambda_function", "function_name": "checkout-api",
                   "config": {"memory_mb": 1024}}],
    "sla": {"latency_p99_ms": 800},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}
REC_ID = "r01m8jtsb1r8p3h4xpr9pp0b5cq"
ETAG = "5f2c9a1be07d43c8"




def assert_503(reply: tuple[int, dict[str, str], Any], retry_after: int, where: str = "") -> dict[str, Any]:
    status, headers, body = reply
    assert status == 503, f"{where}: {status} {body}"
    assert headers["Content-Type"] == "application/problem+json", where
    assert headers["Retry-After"] == str(retry_after), f"{where}: {headers}"
    assert body["status"] == 503 and body["type"] == "https://costopt.dev/problems/dependency-unavailable", where
    assert body["retry_after_s"] == retry_after, where
    assert all(isinstance(body[k], str) and body[k] for k in ("title", "detail")), where
    return dict(body)


class _FakeHandler(BaseHTTPRequestHandler):
    server: FakeDynamoDB

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.calls.append(str(self.headers.get("x-amz-target", "")).rsplit(".", 1)[-1])
        if self.server.mode == "hang":
            time.sleep(self.server.hang_s)
            return
        status, code = FakeDynamoDB.ANSWERS[self.server.mode]
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "try later"}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-requestid", "fake")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeDynamoDB(ThreadingHTTPServer):
    """Answers every DynamoDB call with one error DynamoDB itself sends, or hangs (no answer)."""

    ANSWERS = {
        "throttling": (400, "ThrottlingException"),
        "provisioned": (400, "ProvisionedThroughputExceededException"),
        "request_limit": (400, "RequestLimitExceeded"),
        "internal": (500, "InternalServerError"),
        "unavailable": (503, "ServiceUnavailable"),
    }
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.mode = "throttling"
        self.hang_s = 2.0
        self.calls: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


def costopt_models() -> list[Any]:
    from pynamodb.models import Model

    import costopt.store.alerts
    import costopt.store.changes
    import costopt.store.observations
    import costopt.store.price_cache
    import costopt.store.recommendations
    import costopt.store.services
    import costopt.store.simulations  # noqa: F401 - every model class registered

    out, todo = [], list(Model.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("costopt.") and hasattr(getattr(cls, "Meta", None), "table_name"):
            out.append(cls)
    return out


@pytest.fixture
def point_dynamodb(monkeypatch: pytest.MonkeyPatch, tables: Any) -> Iterator[Callable[[str], None]]:
    """``point_dynamodb(url)``: every costopt model and the idempotency store talk to ``url`` (no retries,
    a 0.3 s read timeout) for the rest of the test; back to moto afterwards."""
    from costopt.config import settings
    from costopt.jobs.apply import _idempotent

    def point(url: str) -> None:
        monkeypatch.setattr(settings, "dynamodb_max_retries", 0)
        monkeypatch.setattr(settings, "dynamodb_read_timeout_s", 0.3)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        for model in costopt_models():
            monkeypatch.setattr(model.Meta, "host", url, raising=False)
            monkeypatch.setattr(model.Meta, "max_retry_attempts", 0)
            monkeypatch.setattr(model.Meta, "read_timeout_seconds", 0.3)
            monkeypatch.setattr(model, "_connection", None)
        _idempotent.cache_clear()  # its boto3 client is made on first use, from the environment

    yield point
    _idempotent.cache_clear()


@pytest.fixture
def fake_dynamodb() -> Iterator[FakeDynamoDB]:
    server = FakeDynamoDB()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# what each request reaches first: GetItem, Query or PutItem of a model, or the idempotency store
REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("services", "GET", "/v1/services/checkout", {}),
    ("services", "PUT", "/v1/services/checkout", {"body": SPEC}),
    ("services", "DELETE", "/v1/services/checkout", {}),
    ("recommend", "GET", "/v1/recommendations/checkout", {"query": {"status": "ACTIVE"}}),
    ("recommend", "POST", f"/v1/recommendations/checkout/{REC_ID}/dismiss", {"body": {"etag": ETAG}}),
    ("simulate", "GET", "/v1/simulate/sim-01m8jyxbn85n8z3mx8dyb306t1", {}),
    ("metrics", "GET", "/v1/metrics/services", {}),
    ("apply", "POST", "/v1/config/apply", {"body": {"service_id": "checkout", "recommendation_id": REC_ID,
                                                    "etag": ETAG, "reason": "review"},
                                           "headers": {"Idempotency-Key": "k-1"}}),
    ("apply", "GET", "/v1/config/history/checkout", {}),
]
MODES = [("refused", "unreachable"), ("hang", "timeout"), ("throttling", "throttled"),
         ("provisioned", "throttled"), ("request_limit", "throttled"), ("internal", "unavailable"),
         ("unavailable", "unavailable")]


@pytest.mark.parametrize(("mode", "kind"), MODES, ids=[m for m, _ in MODES])
def test_dynamodb_failing_on_the_wire(point_dynamodb: Callable[[str], None], fake_dynamodb: FakeDynamoDB,
                                      lambda_context: Any, mode: str, kind: str) -> None:
    if mode == "refused":
        point_dynamodb(closed_port_url())
    else:
        fake_dynamodb.mode = mode
        point_dynamodb(fake_dynamodb.url)
    for function, method, path, kw in REQUESTS:
        before = len(fake_dynamodb.calls)
        reply = call(function, method, path, lambda_context, **kw)
        body = assert_503(reply, RETRY_AFTER_S[kind], f"{mode}: {method} {path}")
        assert "database" in body["detail"] and "try later" not in body["detail"]
        assert "127.0.0.1" not in json.dumps(body)  # nothing of the cause reaches the client
        if mode != "refused":
            assert len(fake_dynamodb.calls) == before + 1, "one attempt (no retries configured), on the wire"
    if mode != "refused":
        assert "PutItem" in fake_dynamodb.calls  # the idempotency store's save_inprogress went there too





















@pytest.mark.parametrize(("name", "make", "kind", "dependency"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_every_classification_through_a_handler(tables: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch,
                                                name: str, make: Callable[[], Exception], kind: str,
                                                dependency: str) -> None:
    from costopt.store.services import ServiceRepository

    def failing(self: Any, service_id: str) -> Any:
        raise make()

    monkeypatch.setattr(ServiceRepository, "get", failing)
    body = assert_503(call("services", "GET", "/v1/services/checkout", lambda_context), RETRY_AFTER_S[kind], name)
    assert "Traceback" not in json.dumps(body) and DDB_URL not in json.dumps(body)


@pytest.mark.parametrize(("name", "make"), NOT_DEPENDENCY, ids=[c[0] for c in NOT_DEPENDENCY])
def test_bugs_and_misconfigurations_stay_500(tables: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch,
                                            name: str, make: Callable[[], Exception]) -> None:
    from costopt.store.services import ServiceRepository

    def failing(self: Any, service_id: str) -> Any:
        raise make()

    monkeypatch.setattr(ServiceRepository, "get", failing)
    status, headers, body = call("services", "GET", "/v1/services/checkout", lambda_context)
    assert status == 500 and body["type"] == "https://costopt.dev/problems/internal", (name, body)
    assert "Retry-After" not in headers


def test_a_503_costopt_error_keeps_its_fields_and_gets_retry_after(tables: Any, lambda_context: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """ActuatorError / ConnectorError bodies keep their extension members; a 409 gets no Retry-After."""
    from costopt.store.services import ServiceRepository

    def actuator_failed(self: Any, service_id: str) -> Any:
        exc = _actuator_unreachable()
        exc.extra.update(change_id="c1", change_status="FAILED")  # type: ignore[attr-defined]
        raise exc

    monkeypatch.setattr(ServiceRepository, "get", actuator_failed)
    body = assert_503(call("services", "GET", "/v1/services/checkout", lambda_context), RETRY_AFTER_S["unreachable"])
    assert body["actuator"] == "lambda_function" and body["change_id"] == "c1" and body["change_status"] == "FAILED"
    assert body["title"] == "Dependency unavailable"

    def cooldown(self: Any, service_id: str) -> Any:
        raise Conflict("cooldown", extra={"retry_after_s": 600})

    monkeypatch.setattr(ServiceRepository, "get", cooldown)
    status, headers, body = call("services", "GET", "/v1/services/checkout", lambda_context)
    assert status == 409 and body["retry_after_s"] == 600 and "Retry-After" not in headers


def test_a_dynamodb_failure_is_never_a_404_or_409(tables: Any, lambda_context: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The stores catch DoesNotExist and ConditionalCheckFailed only: a conditional write that failed,
    then a re-read (to say why) that fails on DynamoDB, is a 503, not "exists already" or "does not exist"."""
    from costopt.store.services import ServiceItem

    assert call("services", "PUT", "/v1/services/checkout", lambda_context, body=SPEC)[0] == 201
    assert call("services", "PUT", "/v1/services/checkout", lambda_context, body=SPEC)[0] == 409  # control

    def down(cls: Any, *a: Any, **kw: Any) -> Any:
        raise _pynamo(GetError, EndpointConnectionError(endpoint_url=DDB_URL))

    monkeypatch.setattr(ServiceItem, "get", classmethod(down))
    # the conditional put fails (it exists), then the re-read for current_version fails
    assert_503(call("services", "PUT", "/v1/services/checkout", lambda_context, body=SPEC),
               RETRY_AFTER_S["unreachable"], "PUT duplicate")
    # the conditional delete fails (stale version), then the re-read for 404-or-409 fails
    assert_503(call("services", "DELETE", "/v1/services/checkout", lambda_context, query={"version": "7"}),
               RETRY_AFTER_S["unreachable"], "DELETE stale")


NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


def _register(*ids: str) -> None:
    from costopt.domain.service import ServicePut
    from costopt.store.services import ServiceRepository

    spec = {**SPEC, "telemetry": {"source": "synthetic", "synthetic": {"history_days": 1, "base_rps": 5}}}
    for sid in ids:
        ServiceRepository().put(sid, ServicePut.model_validate(spec), now=NOW - timedelta(hours=2))


def test_pull_metrics_fails_the_run_after_pulling_the_others(tables: Any, lambda_context: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.jobs import pull_metrics
    from costopt.store.observations import ObservationRepository
    from functions.pull_metrics.app import lambda_handler

    _register("checkout", "orders", "search")
    real_fold = ObservationRepository.fold

    def fold(self: Any, service_id: str, *a: Any, **kw: Any) -> Any:
        if service_id == "orders":
            raise _pynamo(PutError, ReadTimeoutError(endpoint_url=DDB_URL))
        return real_fold(self, service_id, *a, **kw)

    monkeypatch.setattr(ObservationRepository, "fold", fold)
    with clock.pinned(NOW + timedelta(minutes=1)):
        report = pull_metrics.run(NOW, deadline_s=300)
    outcomes = {s.service_id: s.telemetry.outcome for s in report.services}
    assert outcomes == {"checkout": "ok", "orders": "failed", "search": "ok"}  # the others were pulled
    assert report.dependency_failed == ["orders"]
    failed = next(s for s in report.services if s.service_id == "orders")
    assert failed.telemetry.error == "DynamoDB timeout (logged)"

    event = {"time": (NOW + timedelta(hours=1)).isoformat().replace("+00:00", "Z"), "detail-type": "Scheduled Event"}
    with clock.pinned(NOW + timedelta(hours=1)), pytest.raises(DependencyUnavailable) as err:
        lambda_handler(event, lambda_context)  # a failed invocation: the schedule's retry runs it again
    assert err.value.extra["services"] == ["orders"]


def test_pull_metrics_bug_in_one_service_is_reported_not_retried(tables: Any, lambda_context: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.store.observations import ObservationRepository
    from functions.pull_metrics.app import lambda_handler

    _register("checkout")

    def fold(self: Any, service_id: str, *a: Any, **kw: Any) -> Any:
        raise ValueError("a bug")

    monkeypatch.setattr(ObservationRepository, "fold", fold)
    with clock.pinned(NOW):
        out = lambda_handler({"time": NOW.isoformat().replace("+00:00", "Z")}, lambda_context)
    assert out["services"] == 1 and out["dependency_failed"] == []


def test_pull_metrics_with_dynamodb_down_fails(point_dynamodb: Callable[[str], None], lambda_context: Any) -> None:
    from functions.pull_metrics.app import lambda_handler

    point_dynamodb(closed_port_url())
    with pytest.raises(QueryError, match="Could not connect") as err:  # listing the services already fails
        lambda_handler({"time": NOW.isoformat().replace("+00:00", "Z")}, lambda_context)
    assert dependency_failure(err.value) is not None


def test_recompute_reports_the_record_failed_on_a_dependency_failure(tables: Any, lambda_context: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from costopt.jobs.recompute import message_body, process_batch
    from costopt.store.recommendations import RecommendationRepository
    from local.fanout import sqs_record

    _register("checkout", "orders")
    real = RecommendationRepository.replace_active

    def replace_active(self: Any, service_id: str, *a: Any, **kw: Any) -> Any:
        if service_id == "orders":
            raise _pynamo(QueryError, _client_error("ProvisionedThroughputExceededException"))
        return real(self, service_id, *a, **kw)

    monkeypatch.setattr(RecommendationRepository, "replace_active", replace_active)
    event = {"Records": [sqs_record(message_body(sid, "run", NOW), f"m{i}")
                         for i, sid in enumerate(["checkout", "orders"])]}
    assert process_batch(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_recompute_with_dynamodb_down_fails_the_whole_batch(point_dynamodb: Callable[[str], None],
                                                            lambda_context: Any) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from costopt.jobs.recompute import message_body, process_batch
    from local.fanout import sqs_record

    point_dynamodb(closed_port_url())
    event = {"Records": [sqs_record(message_body(sid, "run", NOW), f"m{i}")
                         for i, sid in enumerate(["checkout", "orders"])]}
    with pytest.raises(BatchProcessingError):  # every record failed: SQS redelivers the batch
        process_batch(event, lambda_context)


def test_a_simulation_batch_fails_as_a_whole_on_a_dependency_failure(tables: Any, lambda_context: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-scenario problems are about what a scenario asks; DynamoDB failing is the request's 503."""
    from costopt.store.services import ServiceRepository

    real_get = ServiceRepository.get

    def get(self: Any, service_id: str) -> Any:
        if service_id == "orders":
            raise _pynamo(GetError, EndpointConnectionError(endpoint_url=DDB_URL))
        return real_get(self, service_id)

    monkeypatch.setattr(ServiceRepository, "get", get)
    scenarios = {"scenarios": [{"service_id": "unknown", "traffic_multiplier": 2},
                               {"service_id": "orders", "traffic_multiplier": 2}]}
    assert_503(call("simulate", "POST", "/v1/simulate/batch", lambda_context, body=scenarios),
               RETRY_AFTER_S["unreachable"])
    # without the failure the same batch answers per scenario (404 for the unknown service)
    monkeypatch.setattr(ServiceRepository, "get", real_get)
    status, _, body = call("simulate", "POST", "/v1/simulate/batch", lambda_context, body=scenarios)
    assert status == 200 and [e["status"] for e in body["results"]] == [404, 404]
