"""Keep secrets out of every log line, message and traceback.

The SDK prints request URLs (which carry a query-string token for some APIs) in its
backoff messages, give-up lines and tracebacks. Rather than chase each call site, the
redactor is installed as the log-record factory: every record is rendered and scrubbed
when it is created, so no handler, formatter or log level can print a secret. Exception
texts raised by the taps themselves are scrubbed with the same `redact`.
"""

from __future__ import annotations

import logging
import threading
import traceback
import typing as t
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


class Redactor:
    """Replaces registered secrets (and their URL-encoded forms) with ***."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, values: t.Iterable[str]) -> None:
        """Register secret values."""
        forms = set(self._secrets)
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                forms.update({value, quote(value, safe=""), quote_plus(value)})
        with self._lock:
            self._secrets = tuple(sorted(forms, key=len, reverse=True))

    def __contains__(self, value: str) -> bool:
        """Whether `value` is one of the strings masked."""
        return value in self._secrets

    def redact(self, text: str) -> str:
        """`text` with every registered secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrub_record(self, record: logging.LogRecord) -> None:
        """Render the record's message and traceback now, with secrets masked."""
        if not self._secrets:
            return
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            )
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


REDACTOR = Redactor()
_installed = False


def install(secrets: t.Iterable[str]) -> Redactor:
    """Register `secrets` and make sure every log record passes the redactor."""
    global _installed  # noqa: PLW0603
    REDACTOR.add(secrets)
    if not _installed:
        previous = logging.getLogRecordFactory()

        def factory(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            REDACTOR.scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
    return REDACTOR


def redact(text: str) -> str:
    """Mask every secret registered so far in `text`."""
    return REDACTOR.redact(text)
