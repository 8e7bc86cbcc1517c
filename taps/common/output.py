"""The lean output path: RECORD messages without per-record flushes.

`BufferedWriter` writes RECORD messages without flushing each one; every other message
(SCHEMA, STATE, ...) flushes, so whatever a STATE message covers is on stdout before it.
Records that fit their schema (see `taps.common.evolution`) are written as they are,
without the SDK's per-record conformance and mapping.
"""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Message

_encode = msgspec.json.Encoder().encode


class BufferedWriter(MsgSpecWriter):
    """msgspec Singer writer that flushes on every message but RECORD."""

    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()

    def write_record(self, record_message: dict) -> None:
        """Write a ready RECORD message dict, leaving it in the stdout buffer."""
        sys.stdout.buffer.write(_encode(record_message) + b"\n")
