"""The lean output path: RECORD messages without per-record flushes or needless work.

Measured on tap-error-tracking `items` (100k records), the SDK spends most of a record's
time conforming it to the schema and flushing stdout. For records decoded from JSON the
SDK's conformance can only change two things: drop properties the schema does not know,
and turn non-boolean values of boolean-only properties into booleans. `Conformer` checks
exactly that, recursively; a record that passes is already what the SDK would emit and
is written as is, any other record goes through the SDK's own conformance unchanged.
`BufferedWriter` writes RECORD messages without flushing each one; every other message
(SCHEMA, STATE, ...) flushes, so whatever a STATE message covers is on stdout before it.
"""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers._typing import _is_exclusive_boolean_type
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message

_encode = msgspec.json.Encoder().encode


def _types(schema: dict) -> set[str]:
    kind = schema.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


class Conformer:
    """Tells whether the SDK's type conformance would leave a record unchanged."""

    def __init__(self, schema: dict) -> None:
        properties: dict[str, dict] = schema.get("properties", {})
        self.keys = frozenset(properties)
        self.closed = not schema.get("additionalProperties")
        self.booleans = tuple(k for k, s in properties.items() if _is_exclusive_boolean_type(s))
        self.objects = tuple(
            (k, Conformer(s))
            for k, s in properties.items()
            if "object" in _types(s) and "properties" in s
        )
        self.arrays = tuple(
            (k, Conformer(s["items"]), _is_exclusive_boolean_type(s["items"]))
            for k, s in properties.items()
            if "array" in _types(s) and isinstance(s.get("items"), dict)
        )

    def accepts(self, record: dict) -> bool:
        """True when the record has no unknown property and no value to convert."""
        if self.closed and not self.keys.issuperset(record):
            return False
        for key in self.booleans:
            value = record.get(key)
            if value is not None and value.__class__ is not bool:
                return False
        for key, conformer in self.objects:
            value = record.get(key)
            if isinstance(value, dict) and not conformer.accepts(value):
                return False
        for key, conformer, boolean_items in self.arrays:
            value = record.get(key)
            if not isinstance(value, list):
                continue
            for item in value:
                if isinstance(item, dict):
                    if not conformer.accepts(item):
                        return False
                elif boolean_items and item is not None and item.__class__ is not bool:
                    return False
        return True


class BufferedWriter(MsgSpecWriter):
    """msgspec Singer writer that flushes on every message but RECORD."""

    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()

    def write_record(self, record_message: dict) -> None:
        """Write a ready RECORD message dict, leaving it in the stdout buffer."""
        sys.stdout.buffer.write(_encode(record_message) + b"\n")
