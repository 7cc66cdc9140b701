"""The HttpApi routes of template.yaml: method + path template, function, authorizer and scopes,
and route selection as API Gateway HTTP APIs do it (most specific match wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from local.functions import FunctionDef, template_functions
from local.template import load_template, resources_of_type

NONE_AUTHORIZER = "NONE"
_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")


@dataclass(frozen=True)
class RouteDef:
    method: str  # GET, POST, ... or ANY
    path: str  # /v1/services/{service_id}, /{proxy+} or $default
    function: FunctionDef
    authorizer: str | None  # None: no authorization
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters when this route matches ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        want = [s for s in self.path.split("/") if s]
        got = [s for s in path.split("/") if s]
        params: dict[str, str] = {}
        for i, seg in enumerate(want):
            m = _PARAM.match(seg)
            if m and m.group(2):  # greedy {proxy+}: the rest of the path (at least one segment)
                if i >= len(got):
                    return None
                params[m.group(1)] = "/".join(got[i:])
                return params
            if i >= len(got):
                return None
            if m:
                params[m.group(1)] = got[i]
            elif seg != got[i]:
                return None
        return params if len(got) == len(want) else None

    def specificity(self) -> tuple[int, ...]:
        """Sort key: literal segments beat parameters, parameters beat greedy, a method beats ANY."""
        if self.path == "$default":
            return (-1,)
        segs = [s for s in self.path.split("/") if s]
        kinds = []
        for seg in segs:
            m = _PARAM.match(seg)
            kinds.append(0 if (m and m.group(2)) else 1 if m else 2)
        greedy = 0 if kinds and kinds[-1] == 0 else 1
        return (greedy, len(segs), *kinds, 0 if self.method == "ANY" else 1)


def _api_auth(template: dict[str, Any], api_ref: Any) -> dict[str, Any]:
    """The Auth block of the HttpApi a route belongs to (explicit resource, else Globals.HttpApi)."""
    apis = resources_of_type("AWS::Serverless::HttpApi", template)
    name = api_ref.get("Ref") if isinstance(api_ref, dict) else None
    if name and name in apis:
        auth = apis[name].get("Properties", {}).get("Auth")
        if auth is not None:
            return dict(auth)
    return dict(template.get("Globals", {}).get("HttpApi", {}).get("Auth") or {})


def load_routes(template: dict[str, Any] | None = None) -> list[RouteDef]:
    """Every HttpApi event of every function of the template, most specific first."""
    template = template or load_template()
    functions = template_functions(template)
    routes = []
    for logical_id, res in resources_of_type("AWS::Serverless::Function", template).items():
        fn = functions.get(logical_id)
        if fn is None:
            continue
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            api_auth = _api_auth(template, props.get("ApiId"))
            route_auth = props.get("Auth") or {}
            authorizer = route_auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
            if authorizer == NONE_AUTHORIZER:
                authorizer = None
            scopes = route_auth.get("AuthorizationScopes")
            if scopes is None and authorizer:
                scopes = (api_auth.get("Authorizers", {}).get(authorizer) or {}).get("AuthorizationScopes")
            routes.append(RouteDef(
                method=str(props.get("Method", "ANY")).upper().replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
                path=str(props.get("Path", "$default")), function=fn, authorizer=authorizer,
                scopes=tuple(scopes or ()),
            ))
    routes.sort(key=lambda r: r.specificity(), reverse=True)
    return routes


def select_route(routes: list[RouteDef], method: str, path: str) -> tuple[RouteDef, dict[str, str]] | None:
    """The route API Gateway would pick for ``method path`` (routes sorted by load_routes)."""
    for route in routes:
        params = route.match(method.upper(), path)
        if params is not None:
            return route, params
    return None
