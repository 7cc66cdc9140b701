"""The routes template.yaml declares are exactly the routes the handlers register, with the same
scopes, and every route and schedule has a sample event in events/."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.contract.support import (
    EVENTS,
    EXPECTED_FUNCTIONS,
    effective,
    events_of,
    function_name,
    functions,
    http_routes,
    import_handler,
    load_event,
    template,
)

TPL = template()
FUNCTIONS = {function_name(res): res for res in functions(TPL).values()}
API_FUNCTIONS = sorted(name for name, res in FUNCTIONS.items() if http_routes(res))
JOB_FUNCTIONS = sorted(name for name, res in FUNCTIONS.items() if not http_routes(res))
SCHEDULED_FUNCTIONS = sorted(name for name in JOB_FUNCTIONS
                             if any(e.get("Type") == "ScheduleV2"
                                    for e in FUNCTIONS[name]["Properties"].get("Events", {}).values()))
Route = tuple[str, str]


def template_scopes(auth: dict[str, Any]) -> frozenset[str]:
    """What API Gateway enforces: the route's AuthorizationScopes, nothing for Authorizer NONE."""
    if auth.get("Authorizer") == "NONE":
        return frozenset()
    return frozenset(auth.get("AuthorizationScopes") or [])


def handler_routes(name: str) -> dict[Route, frozenset[str]]:
    """(METHOD, /path/{param}) -> scopes from ``security=``, for every route the handler's resolver holds."""
    module = import_handler(name)
    app = getattr(module, "app", None)
    assert app is not None, f"functions/{name}/app.py has no module-level `app` resolver"
    routes: dict[Route, frozenset[str]] = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        key = (route.method.upper(), route.openapi_path)
        assert key not in routes, f"{name}: {key} registered twice"
        routes[key] = frozenset(scope for requirement in (route.security or []) for scopes in requirement.values()
                                for scope in scopes)
    return routes


def test_template_splits_functions_into_api_and_jobs() -> None:
    assert set(API_FUNCTIONS) | set(JOB_FUNCTIONS) == set(EXPECTED_FUNCTIONS.values())
    assert JOB_FUNCTIONS == ["actuate", "pull_metrics", "recompute"]
    assert SCHEDULED_FUNCTIONS == ["pull_metrics", "recompute"]  # actuate is fed by its queue only


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_handler_registers_exactly_the_template_routes(name: str) -> None:
    declared = set(http_routes(FUNCTIONS[name]))
    registered = set(handler_routes(name))
    assert registered - declared == set(), "routes the handler serves but template.yaml does not declare"
    assert declared - registered == set(), "routes template.yaml declares but the handler does not register"


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_gateway_scopes_equal_handler_scopes(name: str) -> None:
    declared = {route: template_scopes(auth) for route, auth in http_routes(FUNCTIONS[name]).items()}
    registered = handler_routes(name)
    for route in declared.keys() & registered.keys():
        assert declared[route] == registered[route], (route, sorted(declared[route]), sorted(registered[route]))


def test_no_two_functions_claim_one_route() -> None:
    seen: dict[Route, str] = {}
    for name in API_FUNCTIONS:
        for route in http_routes(FUNCTIONS[name]):
            assert route not in seen, f"{route} on {seen.get(route)} and {name}"
            seen[route] = name


@pytest.mark.parametrize("name", JOB_FUNCTIONS)
def test_job_handlers_expose_lambda_handler(name: str) -> None:
    module = import_handler(name)
    assert callable(getattr(module, "lambda_handler", None))
    assert effective(FUNCTIONS[name], "Handler", TPL) == "app.lambda_handler"


# ---------------------------------------------------------------- events/


def _path_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


@pytest.mark.parametrize("name", API_FUNCTIONS)
def test_every_route_has_a_sample_event_shaped_like_api_gateway_sends_it(name: str) -> None:
    routes = http_routes(FUNCTIONS[name])
    covered: set[Route] = set()
    for path in events_of(name):
        event = load_event(path)
        assert event["version"] == "2.0", path.name
        method, route_path = event["routeKey"].split(" ", 1)
        route = (method, route_path)
        assert route in routes, f"{path.name}: {event['routeKey']} is not a route of {name}"
        covered.add(route)
        ctx = event["requestContext"]
        assert ctx["routeKey"] == event["routeKey"] and ctx["http"]["method"] == method
        assert ctx["http"]["path"] == event["rawPath"] and ctx["stage"] == "$default"
        match = _path_regex(route_path).match(event["rawPath"])
        assert match, (path.name, event["rawPath"], route_path)
        assert event.get("pathParameters", {}) == match.groupdict(), path.name
        query = event.get("queryStringParameters")
        assert (event["rawQueryString"] == "") == (not query), path.name
        if "body" in event:
            assert event["isBase64Encoded"] is False
            json.loads(event["body"])
            assert event["headers"]["content-type"] == "application/json"
        assert all(k == k.lower() for k in event["headers"]), "HTTP APIs lowercase header names"
        needed = template_scopes(routes[route])
        if needed:
            jwt = ctx["authorizer"]["jwt"]
            assert needed <= set(jwt["scopes"]) and needed <= set(jwt["claims"]["scope"].split())
            assert jwt["claims"]["sub"] and event["headers"]["authorization"].startswith("Bearer ")
        else:
            assert "authorizer" not in ctx and "authorization" not in event["headers"]
    assert covered == set(routes), f"routes without a sample event: {sorted(set(routes) - covered)}"


def test_job_events() -> None:
    for name in SCHEDULED_FUNCTIONS:
        schedule = load_event(EVENTS / f"{name}-schedule.json")
        assert schedule["detail-type"] == "Scheduled Event" and schedule["detail"] == {"job": name}
        assert schedule["resources"][0].startswith("arn:aws:scheduler:")
    batch = load_event(EVENTS / "recompute-sqs.json")
    assert len(batch["Records"]) >= 2
    for record in batch["Records"]:
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].startswith("arn:aws:sqs:")
        assert json.loads(record["body"])["service_id"]
    assert {p.name for p in EVENTS.glob("pull_metrics-*.json")} == {"pull_metrics-schedule.json"}
    assert {p.name for p in EVENTS.glob("recompute-*.json")} == {"recompute-schedule.json", "recompute-sqs.json"}
    [change] = load_event(EVENTS / "actuate-sqs.json")["Records"]
    assert change["eventSource"] == "aws:sqs" and set(json.loads(change["body"])) == {"service_id", "change_id"}
    assert {p.name for p in EVENTS.glob("actuate-*.json")} == {"actuate-sqs.json"}


def test_every_event_file_belongs_to_a_function() -> None:
    owned = {p for name in FUNCTIONS for p in events_of(name)}
    assert set(EVENTS.glob("*.json")) == owned
