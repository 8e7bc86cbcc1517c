"""Account-defined (custom) fields: JSON schemas from the API's field definitions.

Deals, persons, organizations and products carry, besides their documented fields, the
fields an account adds itself. Their values sit at the top level of each record under
40-hex-character keys; the definitions are the records of `deal_fields`,
`person_fields`, `organization_fields` and `product_fields`, each with a `field_type`
that fixes the value's JSON type, and with some types extra sibling keys:

- `monetary`: the amount, plus `<key>_currency` (a currency code);
- `daterange` / `timerange`: the start, plus `<key>_until` (the end);
- `address`: the formatted address, plus `<key>_subpremise`, `<key>_street_number`, …,
  `<key>_formatted_address` (its geocoded parts);
- `set`: the chosen option ids as one comma-separated string (`"12,14"`);
- `enum`: one option id;
- `user`, `org`, `people`: an id, or (in list endpoints) the object it stands for.

Types the API writes in more than one way are unions, so every value is kept as sent.
"""

from __future__ import annotations

import re
import typing as t

#: Field-definition stream → the stream whose records carry those fields.
FIELD_STREAMS = {
    "deal_fields": "deals",
    "person_fields": "persons",
    "organization_fields": "organizations",
    "product_fields": "products",
}

#: Keys of account-defined fields: 40 hexadecimal characters.
CUSTOM_KEY = re.compile(r"[0-9a-f]{40}")

#: Suffixes of the parts the API adds next to an address field.
ADDRESS_PARTS = (
    "subpremise",
    "street_number",
    "route",
    "sublocality",
    "locality",
    "admin_area_level_1",
    "admin_area_level_2",
    "country",
    "postal_code",
    "formatted_address",
)


def _nullable(*types: str, **extra: t.Any) -> dict:
    return {"type": [*types, "null"], **extra}


_CONTACTS = _nullable(
    "array",
    items=_nullable(
        "object",
        properties={
            "label": _nullable("string"),
            "value": _nullable("string"),
            "primary": _nullable("boolean"),
        },
    ),
)

#: The objects `user`, `org` and `people` values stand for in list endpoints.
REFERENCED = {
    "user": {
        "id": _nullable("integer"),
        "name": _nullable("string"),
        "email": _nullable("string"),
        "has_pic": _nullable("integer", "boolean"),
        "pic_hash": _nullable("string"),
        "active_flag": _nullable("boolean"),
        "value": _nullable("integer"),
    },
    "org": {
        "name": _nullable("string"),
        "people_count": _nullable("integer"),
        "owner_id": _nullable("integer"),
        "address": _nullable("string"),
        "active_flag": _nullable("boolean"),
        "cc_email": _nullable("string"),
        "value": _nullable("integer"),
    },
    "people": {
        "name": _nullable("string"),
        "email": _CONTACTS,
        "phone": _CONTACTS,
        "owner_id": _nullable("integer"),
        "active_flag": _nullable("boolean"),
        "value": _nullable("integer"),
    },
}

#: field_type → JSON schema of the field's main value.
VALUE_SCHEMAS: dict[str, dict] = {
    "varchar": _nullable("string"),
    "varchar_auto": _nullable("string"),
    "varchar_options": _nullable("string"),
    "text": _nullable("string"),
    "phone": _nullable("string"),
    "address": _nullable("string"),
    "time": _nullable("string"),
    "timerange": _nullable("string"),
    "date": _nullable("string", format="date"),
    "daterange": _nullable("string", format="date"),
    "set": _nullable("string"),
    # numbers (a numeric string, which some accounts send, goes to its variant column)
    "double": _nullable("number"),
    "monetary": _nullable("number"),
    "int": _nullable("integer"),
    # one option id: an integer for most entities, a string in some
    "enum": _nullable("integer", "string"),
    "visible_to": _nullable("string", "integer"),
    "status": _nullable("string"),
    **{
        kind: _nullable("integer", "object", properties=props) for kind, props in REFERENCED.items()
    },
}


def field_properties(field: t.Mapping[str, t.Any]) -> dict[str, dict]:
    """The properties one field definition adds to its records ({} if unknown)."""
    key, kind, name = field.get("key"), field.get("field_type"), field.get("name")
    if not isinstance(key, str) or not isinstance(kind, str) or kind not in VALUE_SCHEMAS:
        return {}
    label = name if isinstance(name, str) else key

    def prop(schema: dict, description: str) -> dict:
        return {**schema, "description": description}

    properties = {key: prop(VALUE_SCHEMAS[kind], label)}
    if kind == "monetary":
        properties[f"{key}_currency"] = prop(_nullable("string"), f"{label} (currency)")
    elif kind in {"daterange", "timerange"}:
        properties[f"{key}_until"] = prop(VALUE_SCHEMAS[kind], f"{label} (end)")
    elif kind == "address":
        for part in ADDRESS_PARTS:
            properties[f"{key}_{part}"] = prop(
                _nullable("string"), f"{label} ({part.replace('_', ' ')})"
            )
    for sub in field.get("subfields") or ():
        if isinstance(sub, dict) and isinstance(sub.get("key"), str):
            schema = VALUE_SCHEMAS.get(sub.get("field_type"), _nullable("string"))
            properties.setdefault(sub["key"], prop(schema, str(sub.get("name") or sub["key"])))
    return properties


def is_custom(field: t.Mapping[str, t.Any]) -> bool:
    """Whether the account added this field (a 40-hex key, or editable)."""
    key = field.get("key")
    return (isinstance(key, str) and CUSTOM_KEY.fullmatch(key) is not None) or (
        field.get("edit_flag") is True
    )


def custom_properties(fields: t.Iterable[t.Mapping[str, t.Any]]) -> dict[str, dict]:
    """{property: JSON schema} of the custom fields among `fields` (definitions)."""
    properties: dict[str, dict] = {}
    for field in fields:
        if isinstance(field, dict) and is_custom(field):
            properties.update(field_properties(field))
    return properties
