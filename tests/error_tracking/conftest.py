"""The SDK's attribute tests assume one JSON type per property; unions are checked here.

`get_tap_test_class` tests a property declared `["string", "integer", "null"]` as an
integer, and one declared `["string", "object", "null"]` as an object, so a value of the
other declared type fails. For this tap's union properties those cases are skipped; the
sandbox tests validate every record against its whole declared type instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "taps" / "error_tracking" / "schemas"


def union_properties() -> set[str]:
    """`stream.property` of every top-level property with more than one non-null type."""
    found = set()
    for path in SCHEMAS.glob("*.json"):
        for name, node in json.loads(path.read_text())["properties"].items():
            if len(set(node["type"]) - {"null"}) > 1:
                found.add(f"{path.stem}.{name}")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unions = union_properties()
    here = Path(__file__).parent
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is None
            or here not in Path(item.path).parents
            or "test_tap_stream_attribute_is_" not in item.name
        ):
            continue
        if any(str(value) in unions for value in callspec.id.split("-")):
            reason = "union type: the SDK's attribute test checks one type of the union"
            item.add_marker(pytest.mark.skip(reason=reason))
