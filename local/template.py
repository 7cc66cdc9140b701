"""Read template.yaml (CloudFormation short-form tags included) — the one source of truth
for tables, routes and environment that the local stack and the tests derive from."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@lru_cache(maxsize=1)
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.load(fh, Loader=_CfnLoader)


def resources_of_type(kind: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def table_env(template: dict[str, Any] | None = None, prefix: str = "costopt-") -> dict[str, str]:
    """Env var name -> local table name, for every ``VAR: !Ref SomeTable`` in Globals."""
    template = template or load_template()
    tables = resources_of_type("AWS::DynamoDB::Table", template)
    variables = (template.get("Globals", {}).get("Function", {}).get("Environment", {})
                 .get("Variables", {}))
    env = {}
    for var, value in variables.items():
        if isinstance(value, dict) and value.get("Ref") in tables:
            env[var] = prefix + kebab(value["Ref"]).removesuffix("-table")
    return env


def table_definitions(template: dict[str, Any] | None = None,
                      prefix: str = "costopt-") -> list[dict[str, Any]]:
    """CreateTable arguments (plus ``TimeToLive``) for every table in the template."""
    template = template or load_template()
    out = []
    for logical_id, res in resources_of_type("AWS::DynamoDB::Table", template).items():
        props = res["Properties"]
        args: dict[str, Any] = {
            "TableName": prefix + kebab(logical_id).removesuffix("-table"),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("LocalSecondaryIndexes"):
            args["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
        ttl = props.get("TimeToLiveSpecification")
        out.append({"create": args, "ttl": ttl})
    return out
