"""The lean output path: RECORD messages without per-record flushes.

`BufferedWriter` writes RECORD messages without flushing each one; every other message
(SCHEMA, STATE, ...) flushes, so whatever a STATE message covers is on stdout before it.
It is the one writer of a tap's output: streams syncing at the same time write through its
lock, one whole line at a time.
Records that fit their schema (see `rest_taps.common.evolution`) are written as they are,
without the SDK's per-record conformance and mapping. `StateLines` writes STATE messages.
When the reader closes stdout (`tap | head`, a target that exited), the run ends at once
and quietly (`reader_gone`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.contrib.msgspec import encoder as sdk_encoder
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState
    from singer_sdk.singerlib import Message

_encode = msgspec.json.Encoder().encode


class BufferedWriter(MsgSpecWriter):
    """msgspec Singer writer that flushes on every message but RECORD."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        #: Held while a message is written (reentrant: a STATE is composed under it).
        self.lock = threading.RLock()
        self.closed = False

    def write_message(self, message: Message) -> None:
        with self.lock:  # the SDK formats into one shared buffer
            self._put(self.format_message(message), flush=not isinstance(message, RecordMessage))

    def write_record(self, record_message: dict) -> None:
        """Write a ready RECORD message dict, leaving it in the stdout buffer."""
        line = _encode(record_message) + b"\n"
        with self.lock:
            if not self.closed:
                try:
                    sys.stdout.buffer.write(line)
                except BrokenPipeError:
                    reader_gone()

    def write_line(self, line: bytes) -> None:
        """Write a ready line (a message and its newline) and flush."""
        with self.lock:
            self._put(line, flush=True)

    def _put(self, data: bytes, *, flush: bool) -> None:
        if self.closed:
            return
        try:
            sys.stdout.buffer.write(data)
            if flush:
                sys.stdout.flush()
        except BrokenPipeError:
            reader_gone()

    def close(self, last: Message) -> None:
        """Write `last` (a failed run's final STATE) and nothing after it: streams still
        winding down on other threads write no more."""
        with self.lock:
            self.write_message(last)
            self.closed = True


class StateLines:
    """The tap's STATE writer: a STATE message when the state changed since the last one
    written, as the SDK's own writer does, telling by the encoded line.

    The SDK's writer copies the whole state twice a message (`dataclasses.asdict` to
    format it, `copy.deepcopy` to remember it); a parent-child sync writes a STATE after
    each parent's children, and those copies took 40% of its CPU. Here the state is
    encoded once, in C, and the line is what is remembered.
    """

    def __init__(self, writer: BufferedWriter) -> None:
        self._writer = writer
        self._last: bytes | None = None

    def write_state(self, state: TapState) -> None:
        line = sdk_encoder.encode({"type": "STATE", "value": state}) + b"\n"
        with self._writer.lock:
            if line != self._last:
                self._writer.write_line(line)
                self._last = line


def reader_gone() -> t.NoReturn:
    """stdout's reader closed it: nothing more can be delivered. End the process at once
    (from whichever thread found out) and quietly, with the status a program ended by
    SIGPIPE has in a shell (141), no error line and no traceback."""
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(128 + getattr(signal, "SIGPIPE", 13))
