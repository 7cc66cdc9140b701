"""The OpenAPI 3 document of the whole API, generated from every router's models.

Served by the ``services`` function at ``GET /v1/openapi.json`` and ``GET /v1/docs``.
The document is built on first request and cached for the life of the container.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.models import (
    OAuth2,
    OAuthFlowClientCredentials,
    OAuthFlows,
)
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

import costopt
from costopt.http import PUBLIC, READ, SCOPE_OPERATE, SCOPE_READ, SCOPE_WRITE, SECURITY_SCHEME

router = APIGatewayHttpRouter()

API_ROUTERS = (
    "costopt.api.services",
    "costopt.api.recommend",
    "costopt.api.simulate",
    "costopt.api.apply",
    "costopt.api.rollback",
    "costopt.api.metrics",
    "costopt.api.discover",
)


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    import importlib

    from costopt.http import make_resolver

    app = make_resolver()
    for name in API_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        app.include_router(module.router)
    schemes = {
        SECURITY_SCHEME: OAuth2(
            description="Bearer JWT checked by the API Gateway JWT authorizer",
            flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
                tokenUrl="https://example.auth.us-east-1.amazoncognito.com/oauth2/token",
                scopes={SCOPE_READ: "read", SCOPE_WRITE: "change services, recommend, simulate",
                        SCOPE_OPERATE: "apply and roll back changes"},
            )),
        )
    }
    doc: dict[str, Any] = json.loads(app.get_openapi_json_schema(
        title="costopt", version=costopt.__version__,
        description="Serverless cost-optimization engine for AWS workloads.",
        security_schemes=schemes,  # type: ignore[arg-type]
    ))
    return doc


@router.get("/v1/openapi.json", security=READ, include_in_schema=False)
def get_openapi() -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=json.dumps(openapi_document()))


# The spec needs a token like every data route, so the page asks for one and sends it.
SWAGGER_HTML = """<!doctype html><html><head><title>costopt API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><form id="f" style="padding:1em">Bearer token: <input id="t" size="80"> <button>Load</button></form>
<div id="ui"></div><script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>
document.getElementById("f").onsubmit = function (e) {
  e.preventDefault();
  var token = document.getElementById("t").value.trim();
  SwaggerUIBundle({url: "openapi.json", dom_id: "#ui", requestInterceptor: function (r) {
    r.headers.Authorization = "Bearer " + token; return r; }});
};
</script></body></html>"""


@router.get("/v1/docs", security=PUBLIC, include_in_schema=False)
def get_docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html", body=SWAGGER_HTML)
