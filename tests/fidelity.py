"""Checks that every field an API sent reached the tap's output, with its value.

A tap may move a value that breaks its declared type to a variant property
(`name__v_<jsontype>`), leave out a property whose value is null (null and absent are the
same to a loader), drop paging metadata, and add its parent's key to a child record.
`normalized` undoes the first two on any record, so that what an API sent and what the tap
emitted can be compared value for value.
"""

from __future__ import annotations

import contextlib
import json
import re
import typing as t
from collections import defaultdict
from dataclasses import dataclass, field
from unittest import mock

from singer_sdk.helpers.jsonpath import extract_jsonpath
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


def canonical(record: dict) -> str:
    """A comparable text of a normalized record."""
    return json.dumps(normalized(record), sort_keys=True)


def carries(emitted: t.Any, sent: t.Any) -> bool:
    """Whether `emitted` holds every field of `sent` with its value (both normalized)."""
    if isinstance(sent, dict):
        return isinstance(emitted, dict) and all(
            key in emitted and carries(emitted[key], value) for key, value in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(emitted, list)
            and len(emitted) == len(sent)
            and all(map(carries, emitted, sent))
        )
    return emitted == sent and type(emitted) is type(sent)


def missing_records(
    sent: t.Iterable[t.Any], emitted: t.Iterable[dict], leave_out: t.Collection[str] = ()
) -> list[str]:
    """The records the API sent that no emitted record carries whole (as texts), the
    `leave_out` fields aside."""
    by_id: dict[str, list[dict]] = defaultdict(list)
    for record in map(normalized, emitted):
        by_id[json.dumps(record.get("id"))].append(record)
    missing = []
    for record in map(normalized, sent):
        record = {k: v for k, v in record.items() if k not in leave_out}  # noqa: PLW2901
        candidates = by_id.get(json.dumps(record.get("id")), [])
        if not any(carries(candidate, record) for candidate in candidates):
            missing.append(json.dumps(record, sort_keys=True)[:400])
    return missing


@dataclass
class Seen:
    """What the API sent, per stream: the records of every response (decoded here, apart
    from the tap, at the stream's records path, less the paging metadata some APIs
    put into records), and the keys of the contexts (parents) they were read for."""

    records: dict[str, list[t.Any]] = field(default_factory=lambda: defaultdict(list))
    context_keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@contextlib.contextmanager
def responses_seen() -> t.Iterator[Seen]:
    """Watch every response the taps' streams get while the block runs."""
    from rest_taps.common.streams import BaseStream

    seen = Seen()
    send = BaseStream._request

    def spy(stream: BaseStream, request: t.Any, context: t.Any) -> t.Any:
        response = send(stream, request, context)
        body = json.loads(response.content)
        drop = stream.paginator.metadata_fields
        for record in records_at(stream.records_jsonpath, body):
            if isinstance(record, dict):
                record = {k: v for k, v in record.items() if k not in drop}  # noqa: PLW2901
            seen.records[stream.name].append(record)
        seen.context_keys[stream.name].update(context or {})
        return response

    with mock.patch.object(BaseStream, "_request", spy):
        yield seen


def records_at(jsonpath: str, body: t.Any) -> list[t.Any]:
    """The records at a records path; a container holding one object holds one record."""
    container = jsonpath.removesuffix("[*]")
    if container != jsonpath:
        found = list(extract_jsonpath(container, body))
        if len(found) == 1 and isinstance(found[0], dict):
            return found
    return list(extract_jsonpath(jsonpath, body))


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


def misplaced(
    record: dict,
    row: dict,
    kinds: dict[str, str],
    same: t.Callable[[t.Any, t.Any, str], bool],
) -> list[str]:
    """The fields of a sent record whose value is in neither its column nor a variant's
    column of a loaded `row` (columns → values, `kinds` columns → warehouse types);
    `same(sent, stored, kind)` compares a value as that warehouse stores it."""
    wrong = []
    for key, value in normalized(record).items():
        column = key.lower()
        candidates = [column, *(c for c in kinds if c.startswith(f"{column}__v_"))]
        if not any(c in row and same(value, row[c], kinds[c]) for c in candidates):
            stored = {c: (row.get(c), kinds.get(c)) for c in candidates}
            wrong.append(f"{key}={json.dumps(value, default=str)[:80]} stored {stored}"[:300])
    return wrong


def repeated_schemas(messages: t.Iterable[dict]) -> list[str]:
    """Streams that announced the same SCHEMA twice in a row (a child stream syncs once per
    parent; a target may flush its batch on every SCHEMA)."""
    last: dict[str, dict] = {}
    repeated = []
    for message in messages:
        if message["type"] == "SCHEMA":
            if message == last.get(message["stream"]):
                repeated.append(message["stream"])
            last[message["stream"]] = message
    return repeated
