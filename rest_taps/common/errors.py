"""The taps' own errors: each one line, naming stream, method and path, never a secret."""

from __future__ import annotations

import logging
import sys
import threading
import time
import typing as t

from singer_sdk.exceptions import FatalAPIError

from rest_taps.common.redaction import redact

if t.TYPE_CHECKING:
    import types


def one_line(exc: BaseException, limit: int = 500) -> str:
    """`Type: message` of an exception on one line, secrets masked."""
    text = " ".join(str(exc).split())
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:limit]


def _print_one_line(
    kind: type[BaseException], exc: BaseException, tb: types.TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    print(f"ERROR: the run stopped on an unexpected error: {one_line(exc)}", file=sys.stderr)


def install_excepthook() -> None:
    """Whatever escapes (here or in a thread) is printed as one masked line, never as a
    traceback, which the log's redaction would not see."""
    sys.excepthook = _print_one_line
    threading.excepthook = lambda args: _print_one_line(
        args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
    )


class TapError(FatalAPIError):
    """A failure that ends the run with one clear line (and a non-zero exit)."""


class CredentialRejectedError(TapError):
    """401/403: the credential was rejected. Never retried."""


class RequestFailedError(TapError):
    """A request that failed for good: a non-retriable status or retries exhausted."""


class BadResponseBodyError(TapError):
    """A 2xx body that is not JSON or lacks the records' container."""


class ParentNotFoundError(TapError):
    """A child resource answered 404: its parent was deleted. The parent is skipped."""


class RunHaltedError(TapError):
    """Another stream failed: the run is ending and this request is not sent."""


class SchemaDriftError(TapError):
    """A key property's value broke its declared type: keys and bookmarks depend on it."""


class WaitTooLongError(TapError):
    """The API asked the tap to wait longer than `max_wait_seconds`."""


class PaginationError(TapError):
    """The API's paging does not move on (a loop), or stops making sense."""


def last_word(logger: logging.Logger, *lines: str) -> None:
    """Log `lines` as errors that stay the last lines of the log: first silence every
    logger (threads still winding down say no more), let the lines being written end,
    then write them."""
    logging.disable(logging.CRITICAL)
    time.sleep(0.02)  # a thread past its level check finishes its line
    for handler in logging.getLogger().handlers + logger.handlers:
        handler.acquire()
        handler.release()
    for line in lines:
        logger.handle(logger.makeRecord(logger.name, logging.ERROR, "", 0, line, (), None))
