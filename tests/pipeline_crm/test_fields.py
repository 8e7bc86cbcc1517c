"""Account-defined fields: the field_type mapping, and the tap's hook against the sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator

import jsonschema
import pytest

from rest_taps.common.sandbox import SandboxServer
from rest_taps.pipeline_crm import fields
from rest_taps.pipeline_crm.sandbox import UNDEFINED_FIELDS, PipelineCrmAPI, field_key
from rest_taps.pipeline_crm.tap import TapPipelineCrm
from tests.support import config_for

KEY = "0123456789abcdef0123456789abcdef01234567"


def definition(field_type: str, **extra: object) -> dict:
    return {"key": KEY, "name": "Budget", "field_type": field_type, "edit_flag": True, **extra}


def types(schema: dict) -> set[str]:
    return set(schema["type"])


@pytest.mark.parametrize(
    ("field_type", "expected"),
    [
        ("varchar", {"string", "null"}),
        ("varchar_auto", {"string", "null"}),
        ("text", {"string", "null"}),
        ("phone", {"string", "null"}),
        ("time", {"string", "null"}),
        ("set", {"string", "null"}),
        ("double", {"number", "null"}),
        ("enum", {"integer", "string", "null"}),
        ("user", {"integer", "object", "null"}),
        ("org", {"integer", "object", "null"}),
        ("people", {"integer", "object", "null"}),
    ],
)
def test_single_value_types(field_type: str, expected: set[str]) -> None:
    properties = fields.field_properties(definition(field_type))
    assert list(properties) == [KEY]
    assert types(properties[KEY]) == expected
    assert properties[KEY]["description"] == "Budget"


def test_dates_are_dates() -> None:
    (schema,) = fields.field_properties(definition("date")).values()
    assert schema["format"] == "date"


def test_monetary_adds_its_currency() -> None:
    properties = fields.field_properties(definition("monetary"))
    assert types(properties[KEY]) == {"number", "null"}
    assert types(properties[f"{KEY}_currency"]) == {"string", "null"}
    assert properties[f"{KEY}_currency"]["description"] == "Budget (currency)"


@pytest.mark.parametrize("field_type", ["daterange", "timerange"])
def test_ranges_add_their_end(field_type: str) -> None:
    properties = fields.field_properties(definition(field_type))
    assert list(properties) == [KEY, f"{KEY}_until"]
    assert properties[f"{KEY}_until"]["type"] == properties[KEY]["type"]
    assert properties[f"{KEY}_until"].get("format") == properties[KEY].get("format")


def test_address_adds_its_parts() -> None:
    properties = fields.field_properties(definition("address"))
    assert list(properties) == [KEY] + [f"{KEY}_{part}" for part in fields.ADDRESS_PARTS]
    assert all(types(schema) == {"string", "null"} for schema in properties.values())
    assert f"{KEY}_formatted_address" in properties
    assert f"{KEY}_postal_code" in properties


def test_referenced_objects_are_described() -> None:
    (user,) = fields.field_properties(definition("user")).values()
    assert {"id", "name", "email", "value"} <= set(user["properties"])
    (people,) = fields.field_properties(definition("people")).values()
    assert people["properties"]["email"]["items"]["properties"]["primary"]["type"] == [
        "boolean",
        "null",
    ]


def test_subfields_given_by_the_api_are_added() -> None:
    field = definition("monetary", subfields=[{"key": f"{KEY}_extra", "field_type": "double"}])
    properties = fields.field_properties(field)
    assert types(properties[f"{KEY}_extra"]) == {"number", "null"}


@pytest.mark.parametrize(
    "field",
    [
        {"key": KEY, "name": "x", "field_type": "no_such_type", "edit_flag": True},
        {"key": KEY, "name": "x", "field_type": {"text": "varchar"}},  # drifted value
        {"key": 42, "name": "x", "field_type": "varchar"},
        {"name": "x"},
    ],
)
def test_unknown_or_broken_definitions_add_nothing(field: dict) -> None:
    assert fields.field_properties(field) == {}


def test_only_the_accounts_own_fields_count() -> None:
    built_in = {"key": "title", "name": "Title", "field_type": "varchar", "edit_flag": False}
    editable = {"key": "label_x", "name": "Label", "field_type": "enum", "edit_flag": True}
    hex_key = {"key": KEY, "name": "Budget", "field_type": "double"}
    found = fields.custom_properties([built_in, editable, hex_key, "not a definition"])
    assert set(found) == {"label_x", KEY}


def test_every_property_is_a_valid_schema_with_a_type() -> None:
    for field_type in fields.VALUE_SCHEMAS:
        for name, schema in fields.field_properties(definition(field_type)).items():
            jsonschema.Draft7Validator.check_schema(schema)
            assert schema["type"], name
            assert "null" in schema["type"], name


# -- the hook against the sandbox -------------------------------------------------------


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(PipelineCrmAPI(records=120)) as srv:
        yield srv


def test_hook_types_the_custom_fields_of_the_sandbox(server: SandboxServer) -> None:
    api = server.api
    declared = config_for(server, schema_evolution="off")  # discovery reads nothing
    tap = TapPipelineCrm(config=declared)
    found = tap.custom_properties(tap.streams)
    assert set(found) == set(fields.FIELD_STREAMS.values())
    # every definition was read, including the second page of deal fields
    assert [r.query["start"] for r in server.requests_to("/v1/dealFields")] == ["0", "50"]
    hex_key = re.compile(r"^[0-9a-f]{40}")
    for definitions, stream in fields.FIELD_STREAMS.items():
        properties = found[stream]
        defined = [f for f in api.tables[definitions] if f["edit_flag"]]
        assert defined, definitions
        for field in defined:
            assert properties[field["key"]]["description"] == field["name"]
        declared = tap.streams[stream].schema["properties"]
        assert not set(properties) & set(declared), "custom keys never clash with declared ones"
        # every custom value the records carry fits its typed property
        validator = jsonschema.Draft7Validator(
            {"type": "object", "properties": properties},
            format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
        )
        carried: set[str] = set()
        for record in api.tables[stream]:
            validator.validate(record)
            carried |= {key for key, value in record.items() if hex_key.match(key)}
        undefined = set()
        if stream in UNDEFINED_FIELDS:
            undefined.add(field_key(f"{stream}:undefined", UNDEFINED_FIELDS[stream][0]))
        # all of them are defined, except the values kept for fields without a definition
        assert carried - set(properties) == undefined, stream


def test_hook_sees_drifted_definitions_without_failing() -> None:
    with SandboxServer(PipelineCrmAPI(records=30, drift=True)) as srv:
        tap = TapPipelineCrm(config=config_for(srv))
        found = tap.custom_properties(tap.streams)
    for properties in found.values():
        for schema in properties.values():
            jsonschema.Draft7Validator.check_schema(schema)


def test_hook_reads_nothing_for_streams_not_given() -> None:
    tap = TapPipelineCrm(config={"sandbox": True})
    streams = {name: s for name, s in tap.streams.items() if name not in {"deal_fields", "deals"}}
    found = tap.custom_properties(streams)
    assert "deals" not in found
    assert set(found) == {"persons", "organizations", "products"}
