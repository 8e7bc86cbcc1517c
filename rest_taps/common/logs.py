"""What a run logs: at the default level, one line when a stream starts and one when it
ends (records, requests, seconds, schema changes), and a progress line every
`PROGRESS_SECONDS` while a stream runs long.

The SDK's own per-request METRIC lines (request durations and counts, record counts and
sync timers, for each parent of a child stream too) are logged only with the setting
`log_metrics` or at LOGLEVEL=DEBUG. The SDK's other per-stream lines, which the start and
end lines replace (once per parent, for a child stream), and lines that alarm without
cause, are logged at DEBUG (`SDK_LINES`).
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

if t.TYPE_CHECKING:
    from rest_taps.common.evolution import Change

#: Seconds between two progress lines of a stream that runs long.
PROGRESS_SECONDS = 30.0
#: Schema changes an end line names (it counts them all).
NAMED_CHANGES = 5

#: How the SDK's log lines shown only at DEBUG begin.
SDK_LINES = (
    # A stream's start (and a child stream's, once for each parent): the start line says it.
    "Beginning sync of '",
    "Starting incremental sync of '",
    # Said of every stream that is not sorted: its bookmark moves when the stream has
    # ended, and a run stopped before then resumes from the bookmark it started from.
    "Stream is assumed to be unsorted",
    "Skipping parse of env var settings",
    "Added '",  # ... as child stream to ...
    "Skipping deselected stream '",
    # Before the line that ends a failed run, which names the stream and says why.
    "An unhandled error occurred while syncing '",
)


class _DebugOnly(logging.Filter):
    """Lowers the SDK's lines listed in `SDK_LINES` to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG and str(record.msg).startswith(SDK_LINES):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_DEBUG_ONLY = _DebugOnly()


def quiet(*loggers: logging.Logger) -> None:
    """Log the SDK's lines of `SDK_LINES` through these loggers at DEBUG only."""
    for logger in loggers:
        logger.addFilter(_DEBUG_ONLY)


def metrics(metrics_logger: logging.Logger, *, enabled: bool) -> None:
    """METRIC lines only when `enabled` (setting `log_metrics`) or at LOGLEVEL=DEBUG."""
    if not enabled and not metrics_logger.isEnabledFor(logging.DEBUG):
        metrics_logger.setLevel(logging.WARNING)


class StreamRun:
    """One stream's run in numbers, and the lines that tell it."""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name = name
        self.logger = logger
        self.records = 0
        self.requests = 0
        self.changes: list[str] = []
        self.started: float | None = None
        self._next_progress = 0.0
        self._lock = threading.Lock()

    def start(self, how: str) -> None:
        """Log the start line: `how` the stream reads."""
        self.started = time.monotonic()
        self._next_progress = self.started + PROGRESS_SECONDS
        self.logger.info("Stream '%s' started: %s.", self.name, how)

    def request(self) -> None:
        """Count a request; log a progress line when one is due."""
        with self._lock:
            self.requests += 1
            now = time.monotonic()
            due = self.started is not None and now >= self._next_progress
            if due:
                self._next_progress = now + PROGRESS_SECONDS
        if due:
            self.logger.info("Stream '%s' running: %s so far.", self.name, self._numbers(now))

    def schema_changed(self, changes: t.Iterable[Change]) -> None:
        self.changes.extend(change.where() for change in changes)

    def end(self, *, failed: bool = False) -> None:
        """Log the end line (`failed`: the stream stopped before its end)."""
        if self.started is None:
            return
        line = self._numbers(time.monotonic())
        if self.changes:
            named = ", ".join(self.changes[:NAMED_CHANGES])
            more = ", ..." if len(self.changes) > NAMED_CHANGES else ""
            line += f"; schema: {len(self.changes)} properties added ({named}{more})"
        self.logger.info("Stream '%s' %s: %s.", self.name, "stopped" if failed else "done", line)
        self.started = None

    def _numbers(self, now: float) -> str:
        records, requests = _count(self.records, "record"), _count(self.requests, "request")
        return f"{records}, {requests}, {now - (self.started or now):.1f} s"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"
