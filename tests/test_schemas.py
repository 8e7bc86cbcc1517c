"""Rules every declared schema keeps, so that a loader can make a column of each
top-level property and never meets a value its column cannot hold."""

from __future__ import annotations

import typing as t
from functools import cache

import pytest
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR as VALIDATOR

from tests.support import available_taps, tap_class

#: Unions a loader can keep in one column with every value as sent: text (ids given as
#: numbers or strings), numbers, JSON (objects, lists, numbers are all JSON text).
SAFE_UNIONS = (
    {"integer", "string"},
    {"integer", "number"},
    {"object", "array", "integer", "number"},
)


@cache
def schemas(package: str, evolution: str) -> dict[str, dict]:
    """Stream → schema: declared (`off`: nothing read from the API), or discovered from
    the sandbox (`auto`: custom fields and sampled pages added)."""
    tap = tap_class(package)(config={"sandbox": True, "schema_evolution": evolution})
    return {name: stream.schema for name, stream in tap.streams.items()}


def streams() -> list[t.Any]:
    return [
        pytest.param(
            package, stream_type.name, evolution, id=f"{package}.{stream_type.name}-{name}"
        )
        for package in available_taps()
        for stream_type in tap_class(package).stream_types
        for name, evolution in (("declared", "off"), ("discovered", "auto"))
    ]


def walk(schema: dict, path: str = "") -> t.Iterator[tuple[str, dict]]:
    for name, node in schema.get("properties", {}).items():
        yield f"{path}{name}", node
        yield from walk(node, f"{path}{name}.")
        if isinstance(node.get("items"), dict):
            yield f"{path}{name}[]", node["items"]
            yield from walk(node["items"], f"{path}{name}[].")


def kinds(node: dict) -> set[str]:
    value = node.get("type", [])
    return ({value} if isinstance(value, str) else set(value)) - {"null"}


@pytest.mark.parametrize(("package", "stream", "evolution"), streams())
def test_schema_rules(package: str, stream: str, evolution: str) -> None:
    schema = schemas(package, evolution)[stream]
    VALIDATOR.check_schema(schema)
    assert schema.get("additionalProperties") is not False, "the top level stays open"
    for path, node in walk(schema):
        assert "type" in node or "anyOf" in node, f"{path} has no type"
    for name, node in schema["properties"].items():
        union = kinds(node)
        if len(union) > 1:
            assert any(union <= safe for safe in SAFE_UNIONS), f"{name}: {sorted(union)}"
