"""Checks that every field an API sent reached the tap's output, with its value.

A tap may move a value that breaks its declared type to a variant property
(`name__v_<jsontype>`), leave out a property whose value is null (null and absent are the
same to a loader), drop paging metadata, convert a key sent in another form (`"822"` for
the integer key 822), add its parent's key to a child record, and write a time as RFC
3339 in UTC (the same instant: `same_value`).
`normalized` undoes the first two on any record, so that what an API sent and what the tap
emitted can be compared value for value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import re
import typing as t
from collections import defaultdict
from dataclasses import dataclass, field
from unittest import mock

from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR as VALIDATOR

VARIANT = re.compile(r"^(?P<base>.+)__v_(string|integer|number|boolean|object|array)$")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
#: Numbers at or above this are Unix milliseconds.
MILLISECONDS = 10**11


def instant(value: t.Any) -> dt.datetime | None:
    """The instant a time value names, read here apart from the tap: Unix seconds or
    milliseconds (numbers or numeric text), ISO 8601 text (zone-less: UTC); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str) or value == "":
        return None
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        try:
            moment = dt.datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    seconds = number / 1000 if abs(number) >= MILLISECONDS else number
    micro = int(seconds * 1_000_000)
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micro)


def same_value(emitted: t.Any, sent: t.Any) -> bool:
    """The same value and type, or an RFC 3339 UTC time that names the sent instant."""
    if emitted == sent and type(emitted) is type(sent):
        return True
    if not isinstance(emitted, str) or not RFC3339_UTC.match(emitted):
        return False
    moment = instant(sent)
    return moment is not None and moment == instant(emitted)


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
    return same_value(emitted, sent)


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


def sent_records(jsonpath: str, body: t.Any) -> list[t.Any]:
    """The values at a records path (`$.a.b[*]`, `$.a[*].c`), read apart from the tap: a
    container that holds one object holds that record; one that wraps its list in a list
    object under its own name (`{"b": {"type": "b.list", "b": [...]}}`) holds that list."""
    head, star, _ = jsonpath.partition("[*]")
    if star and head == "$":
        body = [body] if isinstance(body, dict) else body
    elif star:
        parent_path, _, name = head.rpartition(".")
        for parent in extract_jsonpath(parent_path, body):
            node = parent.get(name) if isinstance(parent, dict) else None
            if isinstance(node, dict):
                wrapped = node.get(name)
                parent[name] = wrapped if isinstance(wrapped, list) else [node]
    return list(extract_jsonpath(jsonpath, body))


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
        for record in sent_records(stream.records_jsonpath, body):
            if isinstance(record, dict):
                record = {k: v for k, v in record.items() if k not in drop}  # noqa: PLW2901
                stream.key_forms.conform(record)  # "822" arrives as the integer key 822
            seen.records[stream.name].append(record)
        seen.context_keys[stream.name].update(context or {})
        return response

    with mock.patch.object(BaseStream, "_request", spy):
        yield seen


def invalid_records(messages: t.Iterable[dict]) -> list[str]:
    """Every RECORD that does not validate against the latest SCHEMA of its stream, or
    carries a property (at any depth) that SCHEMA does not declare: the schemas are
    open, so validation alone lets an unannounced property through to the target."""
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
            for path in undeclared(validator.schema, message["record"]):
                errors.append(f"{message['stream']}.{path}: not declared in the latest SCHEMA")
    return errors


def undeclared(schema: t.Any, value: t.Any, path: str = "") -> list[str]:
    """The paths of the properties in `value` (with a value: null and absent are the same
    to a loader) that `schema` does not declare, where it lists an object's properties."""
    if value is None or not isinstance(schema, dict):
        return []
    kind = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else None
    if kind is None:
        return []
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if isinstance(b, dict) and declares(b, kind)]
        return undeclared(branches[0], value, path) if branches else []
    if kind == "array":
        where = f"{path}[]"
        return [p for item in value for p in undeclared(schema.get("items"), item, where)]
    props = schema.get("properties")
    if not isinstance(props, dict) or isinstance(schema.get("additionalProperties"), dict):
        return []  # an open object: anything goes inside
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in props:
            if item is not None:
                found.append(where)
        else:
            found += undeclared(props[key], item, where)
    return found


def declares(schema: dict, kind: str) -> bool:
    """Whether `schema` admits values of JSON type `kind` (no type: any)."""
    kinds = schema.get("type")
    return kinds is None or kind == kinds or (isinstance(kinds, list) and kind in kinds)


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
