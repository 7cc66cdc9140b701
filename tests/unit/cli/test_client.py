"""The CLI's HTTP client (costopt_cli.client): problems become errors with exit codes, bounded retries."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from costopt_cli.client import EXIT_API, EXIT_UNAVAILABLE, ApiError, Client, CliError, retry_after_s

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, sleeps: list[float] | None = None, max_retries: int = 3,
           max_wait_s: float = 30.0) -> Client:
    record = sleeps if sleeps is not None else []
    return Client("http://api.test", "tok", transport=httpx.MockTransport(handler), sleep=record.append,
                  max_retries=max_retries, max_wait_s=max_wait_s)


def problem(status: int, **extra: object) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/problem+json"},
                          content=json.dumps({"type": "about:blank", "status": status, **extra}))


def test_requests_carry_the_bearer_token_and_json():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True})

    reply = client(handler).post("/v1/simulate", {"service_id": "s"})
    assert (reply.status, reply.body) == (201, {"ok": True})
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == {"service_id": "s"}
    assert seen[0].headers["user-agent"].startswith("costopt-cli/")


def test_a_4xx_problem_is_exit_1_with_title_detail_and_field_errors():
    errors = [{"loc": ["body", "sla", "max_cpu_utilization_pct"], "msg": "Input should be a valid number"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return problem(422, title="Invalid request", detail="the request does not match the schema", errors=errors,
                       current_version=2)

    with pytest.raises(ApiError) as caught:
        client(handler).get("/v1/services/x")
    assert caught.value.exit_code == EXIT_API and caught.value.status == 422
    assert caught.value.message == "422 Invalid request: the request does not match the schema"
    assert caught.value.lines == ["  sla.max_cpu_utilization_pct: Input should be a valid number",
                                  "  current_version: 2"]


def test_a_rejected_token_says_so():
    with pytest.raises(ApiError) as caught:
        client(lambda r: httpx.Response(401, json={"message": "Unauthorized"})).get("/v1/metrics/services")
    assert caught.value.message == "401 Unauthorized" and caught.value.exit_code == EXIT_API
    assert any("rejected the token" in line for line in caught.value.lines)


def test_a_5xx_is_exit_3():
    with pytest.raises(ApiError) as caught:
        client(lambda r: httpx.Response(500, text="boom")).get("/v1/x")
    assert caught.value.exit_code == EXIT_UNAVAILABLE and caught.value.problem == {"detail": "boom"}


def test_a_503_get_is_retried_after_its_retry_after_then_answers():
    answers = [problem(503, title="Dependency unavailable"), problem(503, title="Dependency unavailable"),
               httpx.Response(200, json={"items": []})]
    answers[0].headers["retry-after"] = "2"
    answers[1].headers["retry-after"] = "5"
    sleeps: list[float] = []
    assert client(lambda r: answers.pop(0), sleeps).get("/v1/x") == {"items": []}
    assert sleeps == [2.0, 5.0]


def test_retries_are_bounded_in_number_and_wait():
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        response = problem(429, title="Too many requests")
        response.headers["retry-after"] = "120"
        return response

    sleeps: list[float] = []
    with pytest.raises(ApiError) as caught:
        client(handler, sleeps, max_retries=2, max_wait_s=10).get("/v1/x")
    assert len(calls) == 3 and sleeps == [10.0, 10.0]
    assert caught.value.exit_code == EXIT_API and "  retry after 120 s" in caught.value.lines


def test_an_unsafe_post_is_not_retried_but_one_with_an_idempotency_key_is():
    keyed: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "idempotency-key" not in request.headers:
            return problem(503, title="Dependency unavailable")
        keyed.append(request.headers["idempotency-key"])
        return problem(503, title="Dependency unavailable") if len(keyed) == 1 else httpx.Response(
            200, json={"status": "SUCCEEDED"})

    sleeps: list[float] = []
    with pytest.raises(ApiError) as caught:
        client(handler, sleeps).post("/v1/services/s", {})
    assert caught.value.exit_code == EXIT_UNAVAILABLE and sleeps == []
    reply = client(handler, sleeps).post("/v1/config/apply", {}, headers={"Idempotency-Key": "k1"})
    assert reply.body == {"status": "SUCCEEDED"}
    assert keyed == ["k1", "k1"] and sleeps == [1.0]  # the same key again; no Retry-After: one second


def test_an_unreachable_api_is_exit_3():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(CliError) as caught:
        client(handler).get("/v1/x")
    assert caught.value.exit_code == EXIT_UNAVAILABLE and "cannot reach http://api.test" in caught.value.message


def test_pages_follow_next_token():
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("next_token")
        assert request.url.params["limit"] == "2"
        return httpx.Response(200, json={"items": [1, 2], "next_token": "p2"} if token is None else
                              {"items": [3], "next_token": None})

    assert list(client(handler).pages("/v1/things", limit=2)) == [1, 2, 3]


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0", 0.0), (None, 1.0),
                                                 ("Wed, 21 Oct 2026 07:28:00 GMT", 1.0), ("-3", 0.0)])
def test_retry_after_values(header, seconds):
    assert retry_after_s(header) == seconds
