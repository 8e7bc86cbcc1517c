"""Streams that fail alone.

A stream that fails for good (an error left after its retries, a 4xx, a record it cannot
read) stops alone: the other streams finish and write their state, and the run then exits
non-zero with one line per failed stream. What the failed stream wrote before it failed is
kept, and its bookmark covers only those records (a stream that reads unsorted records
keeps the bookmark of its last complete run).

Some failures concern every stream, and still stop the whole run at once: a rejected
credential, an API asking to wait longer than `max_wait_seconds`. The setting
`stream_failures: stop` makes every failure stop the whole run.
"""

from __future__ import annotations

import logging
import threading
import typing as t

from rest_taps.common.errors import (
    CredentialRejectedError,
    RunHaltedError,
    TapError,
    WaitTooLongError,
    one_line,
)
from rest_taps.common.redaction import redact

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

#: Failures that concern every stream: the run stops.
RUN_WIDE = (CredentialRejectedError, WaitTooLongError, RunHaltedError)


class StreamFailures:
    """The streams of one run that failed, each with the line that says why."""

    def __init__(self, logger: logging.Logger, *, stop_all: bool) -> None:
        self.stop_all = stop_all
        self.lines: dict[str, str] = {}
        self._logger = logger
        self._lock = threading.Lock()

    def failed(self, stream: str) -> bool:
        """Whether `stream` failed earlier in this run."""
        return stream in self.lines

    def isolate(self, stream: Stream, exc: Exception) -> bool:
        """Record that `stream` failed with `exc`, if that stops it alone (True), rather
        than the whole run (False: the caller lets it end the run)."""
        if self.stop_all or isinstance(exc, RUN_WIDE):
            return False
        if isinstance(exc, TapError):
            line = redact(" ".join(str(exc).split()))
        else:
            self._logger.debug("The unexpected error:", exc_info=exc)
            line = f"Stream '{stream.name}': an unexpected error: {one_line(exc)}"
        with self._lock:
            if stream.name in self.lines:
                return True
            self.lines[stream.name] = line
        self._logger.error("%s The stream stops here; the other streams go on.", line)
        return True

    def summary(self) -> list[str]:
        """The run's last lines: how many streams failed, then one line for each."""
        count = len(self.lines)
        head = (
            f"{count} stream{'s' if count > 1 else ''} failed; the other streams finished "
            "and their state was written:"
        )
        return [head, *(self.lines[name] for name in sorted(self.lines))]
