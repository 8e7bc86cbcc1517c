"""Checks that every field an API sent reached the tap's output, with its value.

A tap may move a value that breaks its declared type to a variant property
(`name__v_<jsontype>`), leave out a property whose value is null (null and absent are the
same to a loader), drop paging metadata, and add its parent's key to a child record.
`normalized` undoes the first two on any record, so that what an API sent and what the tap
emitted can be compared value for value.
"""

from __future__ import annotations

import json
import re
import typing as t

from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR as VALIDATOR

VARIANT = re.compile(r"^(?P<base>.+)__v_(string|integer|number|boolean|object|array)$")


def normalized(value: t.Any) -> t.Any:
    """`value` with variant properties back under their base name and nulls left out."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            match = VARIANT.match(key)
            out[match["base"] if match else key] = normalized(item)
        return out
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def canonical(record: dict, leave_out: t.Collection[str] = ()) -> str:
    """A comparable text of a normalized record, without the `leave_out` keys."""
    kept = {k: v for k, v in normalized(record).items() if k not in leave_out}
    return json.dumps(kept, sort_keys=True)


def missing_fields(
    sent: t.Iterable[dict], emitted: t.Iterable[dict], leave_out: t.Collection[str]
) -> list[str]:
    """The records the API sent that no emitted record carries whole (as texts)."""
    arrived = {canonical(record, leave_out) for record in emitted}
    return sorted({canonical(record, leave_out) for record in sent} - arrived)


def invalid_records(messages: t.Iterable[dict]) -> list[str]:
    """Every RECORD that does not validate against the latest SCHEMA of its stream."""
    latest: dict[str, t.Any] = {}
    errors = []
    for message in messages:
        if message["type"] == "SCHEMA":
            schema = message["schema"]
            latest[message["stream"]] = VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER)
        elif message["type"] == "RECORD":
            validator = latest.get(message["stream"])
            if validator is None:
                errors.append(f"{message['stream']}: a RECORD before any SCHEMA")
                continue
            for error in validator.iter_errors(message["record"]):
                path = ".".join(map(str, error.absolute_path))
                errors.append(f"{message['stream']}.{path}: {error.message[:120]}")
    return errors
