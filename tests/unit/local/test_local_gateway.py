"""The local gateway's pieces: route selection, the JWT authorizer, v2 events and responses,
and the whole request path into the real services handler (moto DynamoDB)."""


from __future__ import annotations

import base64
import json

import pytest

from local.auth import (
    InvalidToken,
    authorizer_context,
    bearer_token,
    has_any_scope,
    issue,
    load_or_create_keys,
    verify,
)
from local.events import gateway_event, is_text
from local.gateway import MAX_BODY_BYTES, Gateway, to_http
from local.routes import load_routes, select_route

NOW = 1_800_000_000.0  # the instant tokens are issued and verified at (epoch seconds; 2027-01-15)

TEMPLATE = {
    "Globals": {"Function": {"Handler": "app.lambda_handler", "MemorySize": 256}},
    "Resources": {
        "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {"Auth": {
            "DefaultAuthorizer": "Jwt",
            "Authorizers": {"Jwt": {"JwtConfiguration": {}, "AuthorizationScopes": ["costopt/read"]}}}}},
        "Things": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": "functions/services/", "Events": {
                "Get": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Method": "get",
                                                           "Path": "/v1/things/{id}"}},
                "Special": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Method": "GET",
                                                               "Path": "/v1/things/special",
                                                               "Auth": {"AuthorizationScopes": ["a", "b"]}}},
                "Any": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Method": "ANY",
                                                           "Path": "/v1/things/{id}"}},
                "Files": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Method": "GET",
                                                             "Path": "/v1/files/{proxy+}",
                                                             "Auth": {"Authorizer": "NONE"}}},
                "Tick": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)"}},
            }}},
    },
}


def test_routes_from_a_template_with_auth_defaults_and_overrides():
    routes = {r.route_key: r for r in load_routes(TEMPLATE)}
    assert set(routes) == {"GET /v1/things/{id}", "GET /v1/things/special", "ANY /v1/things/{id}",
                           "GET /v1/files/{proxy+}"}
    assert routes["GET /v1/things/{id}"].scopes == ("costopt/read",)  # the authorizer's default scopes
    assert routes["GET /v1/things/special"].scopes == ("a", "b")
    assert routes["GET /v1/files/{proxy+}"].authorizer is None
    fn = routes["GET /v1/things/{id}"].function
    assert fn.name == "services" and fn.handler_file.name == "app.py" and fn.memory_mb == 256


@pytest.mark.parametrize(("method", "path", "route_key", "params"), [
    ("GET", "/v1/things/special", "GET /v1/things/special", {}),  # a literal beats a parameter
    ("GET", "/v1/things/42", "GET /v1/things/{id}", {"id": "42"}),  # a method beats ANY
    ("DELETE", "/v1/things/42", "ANY /v1/things/{id}", {"id": "42"}),
    ("GET", "/v1/files/a/b/c.txt", "GET /v1/files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ("GET", "/v1/things/42/extra", None, None),
    ("GET", "/v1/things", None, None),
    ("GET", "/v1/files", None, None),  # a greedy parameter needs at least one segment
])
def test_route_selection_like_api_gateway(method, path, route_key, params):
    found = select_route(load_routes(TEMPLATE), method, path)
    if route_key is None:
        assert found is None
    else:
        assert found is not None and found[0].route_key == route_key and found[1] == params


def test_the_real_template_declares_every_services_route():
    keys = {r.route_key: r for r in load_routes()}
    assert keys["PUT /v1/services/{service_id}"].scopes == ("costopt/write",)
    assert keys["GET /v1/services/{service_id}"].authorizer is not None
    assert keys["GET /v1/docs"].authorizer is None


def test_tokens_verify_and_become_the_authorizer_context(tmp_path):
    keys = load_or_create_keys(tmp_path)
    assert load_or_create_keys(tmp_path).public_pem == keys.public_pem  # generated once
    assert (tmp_path / "private.pem").stat().st_mode & 0o077 == 0
    token = issue(keys, scopes=["costopt/read", "costopt/write"], subject="alice", now=NOW)
    claims = verify(keys, bearer_token(f"Bearer {token}"), now=NOW)
    assert claims["sub"] == "alice" and claims["iss"] == "https://costopt.local" and claims["aud"] == "costopt"
    ctx = authorizer_context(claims)
    assert ctx["jwt"]["scopes"] == ["costopt/read", "costopt/write"]
    assert ctx["jwt"]["claims"]["exp"] == str(claims["exp"])  # API Gateway passes claims as strings
    assert has_any_scope(claims, ["costopt/operate", "costopt/write"])
    assert not has_any_scope(claims, ["costopt/operate"])
    assert has_any_scope(claims, [])


def test_tokens_that_the_authorizer_rejects(tmp_path):
    keys = load_or_create_keys(tmp_path / "a")
    other = load_or_create_keys(tmp_path / "b")
    bad = [issue(keys, now=NOW - 100, ttl_s=50), issue(keys, now=NOW, not_before=NOW + 300),
           issue(keys, now=NOW, issuer="x"), issue(keys, now=NOW, audience="y"), issue(other, now=NOW), "a.b.c"]
    for token in bad:
        with pytest.raises(InvalidToken):
            verify(keys, token, now=NOW)
    for header in [None, "", "Bearer", "Basic abc", "Bearer    "]:
        with pytest.raises(InvalidToken):
            bearer_token(header)
    # a token whose aud is something else but whose client_id is an accepted audience passes (as in AWS)
    assert verify(keys, issue(keys, now=NOW, audience="aws-cognito", subject="costopt"),
                  now=NOW)["client_id"] == "costopt"


def test_gateway_event_is_an_http_api_v2_event():
    event = gateway_event(
        "post", "/v1/things/7", "a=1&a=2&b=",
        [("Content-Type", "application/json"), ("X-Many", "1"), ("x-many", "2"), ("Cookie", "s=1; t=2")],
        b'{"k": "v"}', route_key="POST /v1/things/{id}", path_parameters={"id": "7"},
        authorizer={"jwt": {"claims": {"sub": "a"}, "scopes": []}},
    )
    assert event["version"] == "2.0" and event["routeKey"] == "POST /v1/things/{id}"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"] == {"content-type": "application/json", "x-many": "1,2"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["pathParameters"] == {"id": "7"} and event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False and event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "a"

    binary = gateway_event("PUT", "/x", "", [("content-type", "application/octet-stream")], b"\x00\xff",
                           route_key="PUT /x")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"
    assert "authorizer" not in binary["requestContext"] and "queryStringParameters" not in binary
    assert is_text("application/problem+json; charset=utf-8") and is_text("text/csv")
    assert not is_text("image/png")


def test_handler_results_become_http_responses():
    status, headers, body = to_http({"statusCode": 201, "headers": {"ETag": '"1"'}, "cookies": ["a=1", "b=2"],
                                     "body": "{}"})
    assert status == 201 and ("ETag", '"1"') in headers and headers.count(("set-cookie", "a=1")) == 1
    assert ("set-cookie", "b=2") in headers and body == b"{}"
    status, _, body = to_http({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\x01").decode()})
    assert body == b"\x01"
    status, headers, body = to_http({"hello": "world"})  # no statusCode: API Gateway assumes 200 JSON
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert to_http({"statusCode": 204})[2] == b""


def test_tokens_are_checked_at_the_instant_given(tmp_path):
    """exp and nbf are judged at ``now`` (the gateway's clock), not at the wall clock: a token issued
    at NOW verifies at NOW (years away from today) and stops verifying when its ttl is over."""
    keys = load_or_create_keys(tmp_path)
    token = issue(keys, now=NOW, ttl_s=3600, not_before=NOW + 60)
    with pytest.raises(InvalidToken, match="not valid yet"):
        verify(keys, token, now=NOW + 59)
    assert verify(keys, token, now=NOW + 60)["exp"] == int(NOW) + 3600
    assert verify(keys, token, now=NOW + 3599)["sub"] == "developer"
    with pytest.raises(InvalidToken, match="expired"):
        verify(keys, token, now=NOW + 3600)


def _concrete(path: str) -> str:
    """A request path for a route path: every {param} and {param+} filled in."""
    return "/".join("x" if seg.startswith("{") else seg for seg in path.split("/"))


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "MKCOL", "FOO"])
def test_a_method_no_route_declares_is_404_on_every_route(tmp_path, method):
    keys = load_or_create_keys(tmp_path)
    gateway = Gateway.from_template(keys, log=False, clock=lambda: NOW)
    auth = [("Authorization", f"Bearer {issue(keys, now=NOW)}")]
    for route in load_routes():
        assert gateway.handle(method, _concrete(route.path), auth, None) == (
            404, [("content-type", "application/json")], b'{"message": "Not Found"}'), route.route_key


def test_a_body_over_lambdas_6_mb_is_413(tmp_path):
    keys = load_or_create_keys(tmp_path)
    gateway = Gateway.from_template(keys, log=False, clock=lambda: NOW)
    auth = [("Authorization", f"Bearer {issue(keys, now=NOW)}"), ("content-type", "application/json")]
    assert MAX_BODY_BYTES == 6 * 1024 * 1024
    status, _, body = gateway.handle("PUT", "/v1/services/big", auth, b"x" * (MAX_BODY_BYTES + 1))
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
    # under the limit, but base64 (a binary body) makes the event bigger than Lambda takes
    binary = [("Authorization", auth[0][1]), ("content-type", "application/octet-stream")]
    status, _, body = gateway.handle("PUT", "/v1/services/big", binary, b"\x00" * (5 * 1024 * 1024))
    assert (status, json.loads(body)) == (413, {"message": "Request Entity Too Large"})
