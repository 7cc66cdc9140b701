"""Lambda provisioned concurrency in moto: Put/Get/List/DeleteProvisionedConcurrencyConfig(s).

moto 5.2.5 answers these "Not yet implemented" (404); costopt's inventory lists them and its Lambda actuator
sets them. Kept per (account, region, function name, qualifier); a config is READY at once with the
allocated executions equal to the requested ones (AWS takes minutes to allocate). Local-only.
"""

from __future__ import annotations

import json
from typing import Any

PATTERN = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
_configs: dict[tuple[str, str, str, str], dict[str, Any]] = {}


def _key(resp: Any) -> tuple[str, str, str]:
    from urllib.parse import unquote

    name = unquote(resp.path.rstrip("/").split("/")[-2])
    name = name.split(":")[6] if name.startswith("arn:") else name
    return resp.current_account, resp.region, name


def _function_arn(resp: Any, name: str, qualifier: str) -> str:
    return f"arn:aws:lambda:{resp.region}:{resp.current_account}:function:{name}:{qualifier}"


def _put(self: Any) -> str:
    account, region, name = _key(self)
    qualifier = self._get_param("Qualifier") or self.querystring.get("Qualifier", [""])[0]
    body = json.loads(self.body or "{}")
    n = int(body["ProvisionedConcurrentExecutions"])
    config = {"RequestedProvisionedConcurrentExecutions": n, "AvailableProvisionedConcurrentExecutions": n,
              "AllocatedProvisionedConcurrentExecutions": n, "Status": "READY",
              "LastModified": "2026-01-01T00:00:00.000+0000"}
    _configs[(account, region, name, qualifier)] = config
    return json.dumps(config)


def _get(self: Any) -> str:
    from moto.awslambda.exceptions import UnknownFunctionException  # type: ignore[attr-defined]

    account, region, name = _key(self)
    qualifier = self.querystring.get("Qualifier", [""])[0]
    found = _configs.get((account, region, name, qualifier))
    if found is None:
        raise UnknownFunctionException(f"No Provisioned Concurrency Config found for {name}:{qualifier}")
    return json.dumps(found)


def _list(self: Any) -> str:
    account, region, name = _key(self)
    items = [{"FunctionArn": _function_arn(self, name, q), **c}
             for (a, r, n, q), c in sorted(_configs.items()) if (a, r, n) == (account, region, name)]
    return json.dumps({"ProvisionedConcurrencyConfigs": items})


def _delete(self: Any) -> tuple[int, dict[str, str], str]:
    account, region, name = _key(self)
    _configs.pop((account, region, name, self.querystring.get("Qualifier", [""])[0]), None)
    return 204, {}, ""


def install() -> None:
    """Route the provisioned-concurrency URLs to the methods above (idempotent)."""
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    if PATTERN in urls.url_paths:
        return
    LambdaResponse.put_provisioned_concurrency_config = _put  # type: ignore[attr-defined]
    LambdaResponse.get_provisioned_concurrency_config = _get  # type: ignore[attr-defined]
    LambdaResponse.list_provisioned_concurrency_configs = _list  # type: ignore[attr-defined]
    LambdaResponse.delete_provisioned_concurrency_config = _delete  # type: ignore[attr-defined]
    urls.url_paths[PATTERN] = LambdaResponse.dispatch
