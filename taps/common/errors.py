"""The taps' own errors: each one line, naming stream, method and path, never a secret."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


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


class SchemaDriftError(TapError):
    """A key property's value broke its declared type: keys and bookmarks depend on it."""
