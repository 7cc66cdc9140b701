"""Nothing a client can send gets a 500 (DESIGN §7, issue 2).

Every HttpApi route of template.yaml whose handler exists is driven through its real
``lambda_handler`` with HttpApi v2 events, the way API Gateway would build them from raw HTTP
(``local.events.gateway_event``), against the moto tables with one registered service that has a
resource of every kind and an ACTIVE recommendation, so requests get past "404 unknown service".

- ``test_schema_fuzz``: schemathesis generates positive and negative requests from the OpenAPI
  document the routers produce (``costopt.api.openapi.openapi_document``), half of them pinned to
  the registered service; deterministic (``derandomize=True``) and bounded. ``test_schema_coverage``
  sends schemathesis' boundary cases. ``COSTOPT_FUZZ_EXAMPLES=500 COSTOPT_FUZZ_COVERAGE_CASES=0``
  makes a deep run.
- the other tests are hand-written adversarial requests per route: bodies that are missing, not
  JSON, arrays, 1 MB strings, nested 100 000 deep, NaN/Infinity, numbers as strings, unknown fields,
  wrong Content-Type, base64-encoded (valid and broken), path parameters with ``..``/``%2F``/emoji,
  bad ``limit``/``next_token``, and no token (401) / wrong scope (403).

Every response must be < 500 (501/503 only where a capability or dependency is down), and every
4xx/5xx must be ``application/problem+json`` with type/title/status/detail, ``status`` equal to the
HTTP status, and no stack trace or secret in it.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from costopt import clock
from costopt.api.openapi import openapi_document
from costopt.config import settings as costopt_settings
from local.events import ALL_SCOPES, gateway_event
from local.routes import RouteDef, load_routes, select_route

DEMO = "fuzz-demo"
BASE_URL = "http://fuzz.local"
ALLOWED_5XX = {501, 503}
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# per route and generation mode; the whole file stays under two minutes. COSTOPT_FUZZ_EXAMPLES=500 for a deep run
MAX_EXAMPLES = int(os.environ.get("COSTOPT_FUZZ_EXAMPLES", "30"))
ONE_MB = 1024 * 1024

ROUTES: list[RouteDef] = [r for r in load_routes() if r.function.exists]


def _route_id(route: RouteDef) -> str:
    return route.route_key


# --------------------------------------------------------------------------- sending requests


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    request: str  # what was sent, for failure messages

    @property
    def content_type(self) -> str:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get("content-type", "").split(";", 1)[0].strip()

    def json(self) -> Any:
        return json.loads(self.text)


def _handler(route: RouteDef) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    module = importlib.import_module(f"functions.{route.function.name}.app")
    return module.lambda_handler  # type: ignore[no-any-return]


def _authorizer(scopes: list[str]) -> dict[str, Any]:
    claims = {"sub": "fuzzer", "iss": "https://costopt.local", "aud": "costopt", "scope": " ".join(scopes)}
    return {"jwt": {"claims": claims, "scopes": list(scopes)}}


def send(context: Any, method: str, target: str, *, body: bytes | str | None = None,
         headers: dict[str, str] | None = None, scopes: list[str] | None = None, authorized: bool = True,
         base64_body: bool = False) -> Reply | None:
    """One HTTP request through the route's real handler, as API Gateway would deliver it.

    None when API Gateway itself would answer (no route matches, e.g. an empty path segment)."""
    url = urlsplit(target)
    path = url.path or "/"
    found = select_route(ROUTES, method, path)
    if found is None:
        return None
    route, params = found
    hdrs = {"content-type": "application/json", "user-agent": "costopt-fuzz"}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    raw = body.encode() if isinstance(body, str) else body
    event = gateway_event(method, path, url.query, list(hdrs.items()), raw, route_key=route.route_key,
                          path_parameters=params,
                          authorizer=_authorizer(ALL_SCOPES if scopes is None else scopes) if authorized else None)
    if base64_body and raw:
        event["body"] = base64.b64encode(raw).decode()
        event["isBase64Encoded"] = True
    result = _handler(route)(event, context)
    text = result.get("body") or ""
    if result.get("isBase64Encoded"):
        text = base64.b64decode(text).decode("utf-8", "replace")
    shown = (raw or b"")[:200].decode("utf-8", "replace")
    return Reply(int(result["statusCode"]), dict(result.get("headers") or {}), text,
                 request=f"{method} {target[:300]} headers={hdrs} body[:200]={shown!r}")


def check(reply: Reply | None) -> Reply | None:
    """The contract for every response to anything a client can send."""
    if reply is None:
        return None
    where = f"{reply.request} -> {reply.status} {reply.text[:500]}"
    assert reply.status < 500 or reply.status in ALLOWED_5XX, f"server error: {where}"
    if reply.status >= 400:
        assert reply.content_type == "application/problem+json", f"not problem+json: {where}"
        body = reply.json()
        assert isinstance(body, dict) and body.keys() >= PROBLEM_KEYS, f"problem keys missing: {where}"
        assert body["status"] == reply.status, f"status in body differs: {where}"
        assert all(isinstance(body[k], str) for k in ("type", "title", "detail")), where
        for leak in ("Traceback", 'File "', costopt_settings.pagination_secret):
            assert leak not in reply.text, f"leaks {leak!r}: {where}"
    return reply


# --------------------------------------------------------------------------- the registered service


def _resources() -> list[dict[str, Any]]:
    from tests.support.aws_fixtures import lambda_function

    name = lambda_function("fuzz-demo-api", memory_mb=1024)
    return [
        {"resource_id": "api", "kind": "lambda_function", "function_name": name, "config": {"memory_mb": 1024}},
        {"resource_id": "web", "kind": "ecs_service", "cluster": "demo", "service_name": "web",
         "config": {"cpu_units": 1024, "memory_mb": 2048, "desired_count": 4}},
        {"resource_id": "batch", "kind": "ec2_instance", "instance_id": "i-0123456789abcdef0",
         "config": {"instance_type": "m5.xlarge"}},
        {"resource_id": "data", "kind": "ebs_volume", "volume_id": "vol-0123456789abcdef0",
         "config": {"volume_type": "gp2", "size_gb": 200}},
        {"resource_id": "orders", "kind": "dynamodb_table", "table_name": "orders",
         "config": {"billing_mode": "PROVISIONED", "rcu": 50, "wcu": 20}},
        {"resource_id": "worker", "kind": "generic", "workload": "jobs/worker",
         "config": {"replicas": 3, "cpu_cores": 2, "memory_gb": 4}},
    ]


SPEC: dict[str, Any] = {
    "name": "Fuzz demo", "team": "platform", "region": "us-east-1",
    "sla": {"latency_p99_ms": 300, "availability_pct": 99.9, "max_error_rate_pct": 1.0},
    "budget": {"monthly_usd": 2500},
    "telemetry": {"source": "synthetic"}, "billing": {"source": "synthetic"},
}


@dataclass
class Demo:
    spec: dict[str, Any]
    recommendation_id: str
    etag: str


@pytest.fixture
def demo(tables: Any, lambda_context: Any) -> Iterator[Demo]:
    """The demo service registered through PUT (201), with one ACTIVE Lambda recommendation."""
    from tests.support.aws_fixtures import recommendation

    spec = {**SPEC, "resources": _resources()}
    reply = check(send(lambda_context, "PUT", f"/v1/services/{DEMO}", body=json.dumps(spec)))
    assert reply is not None and reply.status == 201, reply
    rec = recommendation(DEMO, "api", "lambda_function", "lambda_memory", {"memory_mb": 1024}, {"memory_mb": 512},
                         cost_now=22.0, cost_proposed=12.0)
    yield Demo(spec=spec, recommendation_id=rec.recommendation_id, etag=rec.etag)


# --------------------------------------------------------------------------- schema-driven fuzzing


SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = sorted((path, method.upper()) for path, item in openapi_document()["paths"].items()
                    for method in item if select_route(ROUTES, method.upper(), path) is not None)


def _case_request(case: Any) -> tuple[str, str, dict[str, str], bytes | None]:
    """Method, target, headers and body of a generated case, encoded as requests would send them."""
    kw = case.as_transport_kwargs(base_url=BASE_URL)
    prepared = requests.Request(method=kw["method"], url=kw["url"], headers=kw.get("headers"),
                                params=kw.get("params"), json=kw.get("json"), data=kw.get("data")).prepare()
    url = urlsplit(prepared.url or "")
    target = url.path + (f"?{url.query}" if url.query else "")
    headers = {k: v for k, v in prepared.headers.items() if k.lower() not in {"content-length", "connection"}}
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return prepared.method or kw["method"], target, headers, body


def _has_inputs(path: str, method: str) -> bool:
    operation = openapi_document()["paths"][path][method.lower()]
    return bool(operation.get("parameters") or operation.get("requestBody"))


# negative cases need something to break: an operation without parameters or body gets positive ones only
FUZZ_CASES = [(path, method, mode) for path, method in OPERATIONS
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode is GenerationMode.POSITIVE or _has_inputs(path, method)]


@pytest.mark.parametrize(("path", "method", "mode"), FUZZ_CASES,
                         ids=[f"{m} {p} {mode.value}" for p, m, mode in FUZZ_CASES])
def test_schema_fuzz(demo: Demo, lambda_context: Any, path: str, method: str, mode: GenerationMode) -> None:
    operation = SCHEMA[path][method]
    strategies = [operation.as_strategy(generation_mode=mode)]
    if "{service_id}" in path:
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters={"service_id": DEMO}))

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies), pin=st.booleans())
    def run(case: Any, pin: bool) -> None:
        if pin and isinstance(case.body, dict):  # reach past "unknown service" for body-addressed routes
            if "service_id" in case.body:
                case.body["service_id"] = DEMO
            if "recommendation_id" in case.body:
                case.body["recommendation_id"] = demo.recommendation_id
        method_, target, headers, body = _case_request(case)
        check(send(lambda_context, method_, target, body=body, headers=headers))

    run()


HISTORY_ROUTES = [("/v1/simulate", "POST"), ("/v1/simulate/batch", "POST"), ("/v1/recommend", "POST"),
                  ("/v1/metrics/query", "POST")]


@pytest.fixture
def demo_with_history(tables: Any, lambda_context: Any) -> str:
    """The demo service with three days of synthetic telemetry folded in, so simulate and recommend compute."""
    from datetime import timedelta

    from costopt.domain.service import ServicePut
    from costopt.store.observations import ObservationRepository
    from costopt.store.services import ServiceRepository
    from local.synthetic import generate

    spec = {**SPEC, "resources": _resources(), "telemetry": {
        "source": "synthetic", "period_s": 900,
        "synthetic": {"base_rps": 10, "history_days": 3, "spike_probability": 0.0}}}
    now = clock.now()
    service, _ = ServiceRepository().put(DEMO, ServicePut.model_validate(spec), now=now)
    end = now.replace(minute=0, second=0, microsecond=0)
    ObservationRepository().fold(DEMO, generate(service, end - timedelta(days=3), end), now=now)
    return DEMO


def _pin_service(body: Any, service_id: str) -> None:
    if isinstance(body, dict):
        if "service_id" in body:
            body["service_id"] = service_id
        for scenario in body.get("scenarios") or []:
            _pin_service(scenario, service_id)


@pytest.mark.parametrize(("path", "method"), [op for op in HISTORY_ROUTES if op in OPERATIONS],
                         ids=[f"{m} {p}" for p, m in HISTORY_ROUTES if (p, m) in OPERATIONS])
def test_schema_fuzz_with_history(demo_with_history: str, lambda_context: Any, path: str, method: str) -> None:
    """Valid requests on a service with telemetry: the engines run on fuzzed parameters
    (traffic multipliers, growth, horizons, sample counts, strategies) and still answer < 500."""
    from datetime import timedelta

    operation = SCHEMA[path][method]
    statuses: list[int] = []
    until = clock.now().replace(minute=0, second=0, microsecond=0)
    since = until - timedelta(days=2)

    @settings(max_examples=max(5, MAX_EXAMPLES // 4), derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), recent=st.booleans())
    def run(case: Any, recent: bool) -> None:
        _pin_service(case.body, demo_with_history)
        if recent and isinstance(case.body, dict) and {"start", "end"} <= case.body.keys():
            case.body.update(start=since.isoformat(), end=until.isoformat())  # a range with data in it
        method_, target, headers, body = _case_request(case)
        reply = check(send(lambda_context, method_, target, body=body, headers=headers))
        assert reply is not None
        statuses.append(reply.status)

    run()
    assert any(200 <= s < 300 for s in statuses), statuses  # some requests got all the way through


COVERAGE_CASES = int(os.environ.get("COSTOPT_FUZZ_COVERAGE_CASES", "60"))  # per operation; 0 = all of them


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_schema_coverage(demo: Demo, lambda_context: Any, path: str, method: str) -> None:
    """schemathesis' coverage phase: boundary and just-out-of-bounds values of every constraint
    (lengths, patterns, ranges, enums, required/missing, wrong types), an evenly spaced subset of them."""
    operation = SCHEMA[path][method]
    cases = list(SCHEMA.iter_coverage_cases(operation,
                                            generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                            generation_config=SCHEMA.config.generation_for(operation=operation)))
    assert cases
    step = max(1, len(cases) // COVERAGE_CASES) if COVERAGE_CASES else 1
    for case in cases[::step]:
        method_, target, headers, body = _case_request(case)
        check(send(lambda_context, method_, target, body=body, headers=headers))


# --------------------------------------------------------------------------- hand-written adversarial cases


def _concrete_path(route: RouteDef, demo: Demo, **override: str) -> str:
    values = {"service_id": DEMO, "recommendation_id": demo.recommendation_id, "simulation_id": "sim123"}
    values.update(override)
    out = route.path
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out


def _valid_body(route: RouteDef, demo: Demo) -> dict[str, Any] | None:
    """A well-formed body for the routes that take one (None: the route takes none)."""
    scenario = {"service_id": DEMO, "changes": [{"resource_id": "web", "config": {"desired_count": 3}}],
                "recommendation_ids": [demo.recommendation_id], "template": {"id": "traffic-spike", "params": {}},
                "traffic_multiplier": 1.5, "horizon_days": 7, "samples": 100, "seed": 1}
    bodies: dict[str, dict[str, Any]] = {
        "PUT /v1/services/{service_id}": {**demo.spec, "version": 1},
        "POST /v1/recommend": {"service_id": DEMO, "lookback_days": 14},
        "POST /v1/recommendations/{service_id}/{recommendation_id}/dismiss": {"etag": demo.etag, "reason": "no"},
        "POST /v1/simulate": scenario,
        "POST /v1/simulate/batch": {"scenarios": [scenario]},
        "POST /v1/config/apply": {"service_id": DEMO, "recommendation_id": demo.recommendation_id,
                                  "etag": demo.etag, "dry_run": True},
        "POST /v1/config/rollback/{service_id}/{recommendation_id}": {"reason": "fuzz"},
        "POST /v1/metrics/query": {"service_id": DEMO, "resource_id": "api", "metric": "cpu_utilization_pct",
                                   "stat": "max", "period": "hour", "start": "2026-11-01T00:00:00Z",
                                   "end": "2026-11-02T00:00:00Z"},
    }
    if route.method in ("GET", "DELETE"):
        return None
    return copy.deepcopy(bodies.get(route.route_key, {}))


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*at, i))
    else:
        yield at, value


def _replaced(doc: Any, at: tuple[Any, ...], new: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for key in at[:-1]:
        node = node[key]
    node[at[-1]] = new
    return out


def _body_variants(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, raw JSON text) for every leaf of a valid body replaced by something hostile."""
    nasty_numbers = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e308", "-9223372036854775809",
                     "18446744073709551616", "0.1e-400"]
    for at, value in _leaves(body):
        label = "/".join(map(str, at))
        if isinstance(value, bool):
            yield f"{label}=string", json.dumps(_replaced(body, at, "true"))
        elif isinstance(value, (int, float)):
            yield f"{label}=string", json.dumps(_replaced(body, at, str(value)))
            for raw in nasty_numbers:  # spliced in as raw JSON tokens, as a client could send them
                marker = "__FUZZ_NUMBER__"
                yield f"{label}={raw}", json.dumps(_replaced(body, at, marker)).replace(f'"{marker}"', raw)
        elif isinstance(value, str):
            for label2, new in (("1MB", "x" * ONE_MB), ("emoji", "\U0001f4a5\u202e\u0000\ud7ff"), ("empty", ""),
                                ("dots", "../../etc/passwd"), ("number", 12)):
                yield f"{label}={label2}", json.dumps(_replaced(body, at, new))
        yield f"{label}=null", json.dumps(_replaced(body, at, None))
        yield f"{label}=object", json.dumps(_replaced(body, at, {"$gt": ""}))
        yield f"{label}=array", json.dumps(_replaced(body, at, [value]))
    yield from _time_range_variants(body)
    yield "unknown-field", json.dumps({**body, "__proto__": {"admin": True}})
    yield "unknown-1MB-field", json.dumps({**body, "pad": "x" * ONE_MB})
    yield "duplicate-keys", json.dumps(body)[:-1] + ', "' + next(iter(body), "k") + '": null}' if body else "{}"


EXTREME_TIMES = [("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z"),  # no UTC time before year 1
                 ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59-14:00"),  # nor after year 9999
                 ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"), ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
                 ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"), ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
                 ("1970-01-01T00:00:00Z", "2026-11-01T00:00:00Z"), ("2026-02-29T00:00:00Z", "2026-03-01T00:00:00Z"),
                 ("2026-11-01T00:00:00", "2026-11-01T12:00:00+05:45"), ("0", "1"), ("-1", "1e3"),
                 ("2026-11-01T24:00:00Z", "2026-11-02T00:00:00Z"), ("now", "tomorrow")]


def _time_range_variants(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Both ends of a time range at once (one end alone mostly fails the range check first)."""
    for start_key, end_key in (("start", "end"), ("from", "to"), ("since", "until")):
        if start_key in body and end_key in body:
            for start, end in EXTREME_TIMES:
                yield f"{start_key}={start},{end_key}={end}", json.dumps({**body, start_key: start, end_key: end})


RAW_BODIES: list[tuple[str, str | None]] = [
    ("missing", None),
    ("empty", ""),
    ("whitespace", "   \n"),
    ("not-json", "{not json"),
    ("truncated", '{"service_id": "'),
    ("array", "[1, 2]"),
    ("array-of-objects", '[{"service_id": "fuzz-demo"}]'),
    ("string", '"fuzz-demo"'),
    ("number", "42"),
    ("null", "null"),
    ("true", "true"),
    ("nan", "NaN"),
    ("infinity", "-Infinity"),
    ("1MB-string", json.dumps("x" * ONE_MB)),
    ("nested-arrays", "[" * 100_000 + "]" * 100_000),
    ("nested-objects", '{"a":' * 50_000 + "1" + "}" * 50_000),
    ("unclosed-nesting", "[" * 100_000),
    ("control-chars", '{"service_id": "a\u0000b"}'),
    ("lone-surrogate", '{"service_id": "\\ud800"}'),
    ("bom", "\ufeff{}"),
]

WRONG_CONTENT_TYPES = ["text/plain", "application/xml", "multipart/form-data; boundary=xyz",
                       "multipart/form-data", "application/x-www-form-urlencoded", "application/octet-stream",
                       "application/json; charset=latin-1", "image/png", "*/*", ""]


def _body_routes() -> list[RouteDef]:
    return [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_no_token_401_and_wrong_scope_403(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    path = _concrete_path(route, demo)
    body = _valid_body(route, demo)
    raw = json.dumps(body) if body is not None else None
    if not route.scopes:  # a public route (the Swagger page) answers without a token
        reply = check(send(lambda_context, route.method, path, authorized=False))
        assert reply is not None and reply.status < 400
        return
    reply = check(send(lambda_context, route.method, path, body=raw, authorized=False))
    assert reply is not None and reply.status == 401
    others = [s for s in ALL_SCOPES if s not in route.scopes]
    for scopes in ([], others, ["costopt/admin"], [s.upper() for s in route.scopes]):
        reply = check(send(lambda_context, route.method, path, body=raw, scopes=scopes))
        assert reply is not None and reply.status == 403, (scopes, reply)


# the POST routes whose body is optional (rollback's reason) or that take none (a pull of the service's history)
OPTIONAL_BODY = ("POST /v1/config/rollback", "POST /v1/services/{service_id}/pull")


@pytest.mark.parametrize("route", _body_routes(), ids=_route_id)
def test_hostile_bodies(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    path = _concrete_path(route, demo)
    for label, raw in RAW_BODIES:
        reply = check(send(lambda_context, route.method, path, body=raw))
        assert reply is not None, label
        if label not in ("missing", "empty", "null") or route.route_key.startswith(OPTIONAL_BODY):
            continue
        # a route that needs a body says so with a 4xx
        assert 400 <= reply.status < 500, (label, reply)


@pytest.mark.parametrize("route", _body_routes(), ids=_route_id)
def test_hostile_fields(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    body = _valid_body(route, demo)
    assert body is not None
    path = _concrete_path(route, demo)
    for label, raw in _body_variants(body):
        reply = check(send(lambda_context, route.method, path, body=raw))
        assert reply is not None, label
        if "NaN" in label or "Infinity" in label:  # never stored or computed with
            assert 400 <= reply.status < 500, (label, reply)


@pytest.mark.parametrize("route", _body_routes(), ids=_route_id)
def test_content_type_and_base64(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    body = _valid_body(route, demo)
    path = _concrete_path(route, demo)
    raw = json.dumps(body)
    for ctype in WRONG_CONTENT_TYPES:
        reply = check(send(lambda_context, route.method, path, body=raw, headers={"content-type": ctype}))
        assert reply is not None, ctype
    for label, content in (("non-utf8", b"\xff\xfe\x00{}"), ("binary", bytes(range(256))),
                           ("latin-1", '{"reason": "caf\xe9"}'.encode("latin-1"))):
        reply = check(send(lambda_context, route.method, path, body=content, base64_body=True))
        assert reply is not None and 400 <= reply.status < 500, (label, reply)
    # base64 that is not base64, as API Gateway would never send but a proxy might
    found = select_route(ROUTES, route.method, path)
    assert found is not None
    event = gateway_event(route.method, path, "", [("content-type", "application/json")], raw.encode(),
                          route_key=route.route_key, path_parameters=found[1], authorizer=_authorizer(ALL_SCOPES))
    for broken in ("%%%%", "e30", "e30===", "!" * 1000):
        event["body"], event["isBase64Encoded"] = broken, True
        result = _handler(route)(dict(event), lambda_context)
        check(Reply(int(result["statusCode"]), dict(result.get("headers") or {}), result.get("body") or "",
                    request=f"{route.route_key} base64 body {broken[:20]!r}"))


def test_base64_body_means_the_same_as_plain(demo: Demo, lambda_context: Any) -> None:
    """API Gateway base64-encodes bodies it does not consider text; the handler decodes them."""
    body = json.dumps({"service_id": DEMO, "lookback_days": 14})
    plain = check(send(lambda_context, "POST", "/v1/recommend", body=body))
    encoded = check(send(lambda_context, "POST", "/v1/recommend", body=body, base64_body=True))
    assert plain is not None and encoded is not None
    assert plain.status == encoded.status == 200
    assert plain.json()["service_id"] == encoded.json()["service_id"] == DEMO


PATH_VALUES = ["..", "%2E%2E", "..%2F..%2Fetc", "a%2Fb", "%2F", "%00", "%F0%9F%92%A5", quote("\U0001f4a5".encode()),
               "x" * 10_000, "UPPER", "-leading", "a b", "%20", "%C0%AF", "%ZZ", "null", "0", "' OR 1=1 --",
               "<script>", "${jndi:ldap://x}"]


@pytest.mark.parametrize("route", [r for r in ROUTES if "{" in r.path], ids=_route_id)
def test_hostile_path_parameters(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    body = _valid_body(route, demo)
    raw = json.dumps(body) if body is not None else None
    names = [seg[1:-1] for seg in route.path.split("/") if seg.startswith("{")]
    for name in names:
        for value in PATH_VALUES:
            path = _concrete_path(route, demo, **{name: value})
            reply = check(send(lambda_context, route.method, path, body=raw))
            if reply is not None and value in ("..", "%2F", "a%2Fb", "x" * 10_000, "%00"):
                assert 400 <= reply.status < 500, (name, value[:20], reply)


LIST_QUERIES: list[dict[str, str]] = [
    {"limit": "0"}, {"limit": "101"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1e3"}, {"limit": ""},
    {"limit": "1.5"}, {"limit": "99999999999999999999999"}, {"limit": "NaN"}, {"limit": "\U0001f4a5"},
    {"next_token": "abc"}, {"next_token": "a.b"}, {"next_token": "."}, {"next_token": ""},
    {"next_token": "e30.AAAAAAAAAAAAAAAA"},  # base64 of {} with a wrong signature
    {"next_token": "W10.AAAA"}, {"next_token": "%%%"}, {"next_token": "\U0001f4a5.\U0001f4a5"},
    {"next_token": "x" * 5000}, {"next_token": "eyJ.eyJ"}, {"status": "NOPE"}, {"status": ""},
    {"version": "0"}, {"version": "abc"}, {"version": "-5"},
    {"unknown": "1"}, {"limit": "10", "next_token": "a.b.c"},
]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method in ("GET", "DELETE")], ids=_route_id)
def test_hostile_query_strings(demo: Demo, lambda_context: Any, route: RouteDef) -> None:
    from urllib.parse import urlencode

    path = _concrete_path(route, demo)
    doc_params = _query_params(route)
    for query in LIST_QUERIES:
        reply = check(send(lambda_context, route.method, f"{path}?{urlencode(query)}"))
        assert reply is not None
        key, value = next(iter(query.items()))
        if key in doc_params and key in ("limit", "next_token") and value not in ("", "10"):
            assert 400 <= reply.status < 500, (query, reply)
    # repeated parameters arrive joined by ',' (API Gateway's v2 rule)
    check(send(lambda_context, route.method, f"{path}?limit=5&limit=7&next_token=a&next_token=b"))


def _query_params(route: RouteDef) -> set[str]:
    operation = openapi_document()["paths"].get(route.path, {}).get(route.method.lower(), {})
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


def test_next_token_of_another_list_or_forged_is_a_400(demo: Demo, lambda_context: Any) -> None:
    """Tokens signed with the key (which a deploy may leave at its public default) but holding
    keys DynamoDB rejects, and real tokens of one list replayed on another, are 400s."""
    from costopt.store.paging import PageToken
    from tests.support.aws_fixtures import register

    for n in range(3):  # a second page everywhere: more services, recommendations
        register(f"fuzz-extra-{n}", [{"resource_id": "w", "kind": "generic", "workload": "a/b",
                                      "config": {"replicas": 1, "cpu_cores": 1, "memory_gb": 1}}])
    forged = [PageToken.encode({"service_id": {"S": DEMO}}), PageToken.encode({"nope": 1}),
              PageToken.encode({"service_id": DEMO, "recommendation_id": "x"}),
              PageToken.encode({"service_id": {"N": "NaN"}, "recommendation_id": {"S": ""}}),
              PageToken.encode({"a": {"S": "1"}, "b": {"S": "2"}, "c": {"S": "3"}, "d": {"S": "4"}, "e": {"S": "5"}})]
    listing = [r for r in ROUTES if r.method == "GET" and "next_token" in _query_params(r)]
    issued = []
    for route in listing:
        reply = check(send(lambda_context, "GET", f"{_concrete_path(route, demo)}?limit=1"))
        assert reply is not None and reply.status == 200, reply
        if reply.json().get("next_token"):
            issued.append((route, reply.json()["next_token"]))
    assert issued, "no list gave a second page"
    for route in listing:
        path = _concrete_path(route, demo)
        tokens = [t for t in forged if t] + [tok for other, tok in issued if other is not route]
        tokens += [tok for other, tok in issued if other is route and "{service_id}" in route.path]
        for token in tokens:
            target = f"{path}?next_token={quote(token)}"
            if token in [tok for other, tok in issued if other is route]:  # same list, other service
                target = f"{_concrete_path(route, demo, service_id='fuzz-extra-0')}?next_token={quote(token)}"
            reply = check(send(lambda_context, "GET", target))
            assert reply is not None and reply.status == 400, (route.route_key, reply)
        for other, token in issued:  # and the token still works where it was issued
            if other is route:
                reply = check(send(lambda_context, "GET", f"{path}?limit=1&next_token={quote(token)}"))
                assert reply is not None and reply.status == 200, reply


def test_headers_hostile(demo: Demo, lambda_context: Any) -> None:
    """Idempotency-Key and other headers clients control."""
    body = json.dumps({"service_id": DEMO, "recommendation_id": demo.recommendation_id, "etag": demo.etag,
                       "dry_run": True})
    for key in ("", " ", "x" * 256, "\u0000", "\U0001f4a5", "a\tb", "x" * 100_000):
        reply = check(send(lambda_context, "POST", "/v1/config/apply", body=body, headers={"Idempotency-Key": key}))
        assert reply is not None
    reply = check(send(lambda_context, "POST", f"/v1/config/rollback/{DEMO}/{demo.recommendation_id}",
                       headers={"Idempotency-Key": "\u0000"}))
    assert reply is not None and 400 <= reply.status < 500
    # one key, two different bodies: the second is refused, not replayed and not a 500
    first = check(send(lambda_context, "POST", "/v1/config/apply", body=body, headers={"Idempotency-Key": "k-1"}))
    other = json.dumps({**json.loads(body), "reason": "another request"})
    second = check(send(lambda_context, "POST", "/v1/config/apply", body=other, headers={"Idempotency-Key": "k-1"}))
    assert first is not None and first.status == 200, first
    assert second is not None and second.status == 422, second


def test_unknown_method_and_path(demo: Demo, lambda_context: Any) -> None:
    """A route key the handler does not serve (a misrouted event) is a 404/405 problem, not a 500."""
    for route in ROUTES:
        handler = _handler(route)
        for method, path in (("PATCH", route.path), ("GET", "/v1/nope"), ("POST", "/"), ("GET", "")):
            event = gateway_event(method, path or "/", "", [], None, route_key=f"{method} {path}",
                                  authorizer=_authorizer(ALL_SCOPES))
            result = handler(event, lambda_context)
            check(Reply(int(result["statusCode"]), dict(result.get("headers") or {}), result.get("body") or "",
                        request=f"{route.function.name}: {method} {path}"))


@pytest.mark.parametrize(("code", "status"), [("ValidationException", 400),
                                              ("ProvisionedThroughputExceededException", 503),
                                              ("ThrottlingException", 503), ("InternalServerError", 503),
                                              ("AccessDeniedException", 500)])
def test_dynamodb_errors_map_to_problems(demo: Demo, lambda_context: Any, monkeypatch: pytest.MonkeyPatch,
                                         code: str, status: int) -> None:
    """A read DynamoDB rejects as invalid is the client's 400; throttled or down is a 503; a
    misconfiguration (no permission) stays a 500 that says nothing of the cause."""
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import GetError

    from costopt.store.services import ServiceRepository

    message = "secret-ish detail arn:aws:dynamodb:us-east-1:123456789012:table/costopt-services"

    def failing_get(self: Any, service_id: str) -> Any:
        cause = ClientError({"Error": {"Code": code, "Message": message}}, "GetItem")
        raise GetError(f"Failed to get item: {cause}", cause)

    monkeypatch.setattr(ServiceRepository, "get", failing_get)
    reply = send(lambda_context, "GET", f"/v1/services/{DEMO}")
    assert reply is not None and reply.status == status, reply
    body = reply.json()
    assert reply.content_type == "application/problem+json" and body["status"] == status
    assert message not in reply.text and "arn:aws" not in reply.text
    if status < 500 or status in ALLOWED_5XX:
        check(reply)
