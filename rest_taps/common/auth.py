"""Where a credential goes on the request: query, header, bearer or basic.

Each tap declares one `AuthPlacement`; it builds the SDK authenticator from the resolved
credentials and says which strings are secret (including derived forms such as the
base64 of a Basic pair), so the redactor can keep them out of every log line.
"""

from __future__ import annotations

import base64
import typing as t
from dataclasses import dataclass

from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    APIKeyAuthenticator,
    BasicAuthenticator,
    BearerTokenAuthenticator,
)

Placement = t.Literal["query", "header", "bearer", "basic"]


@dataclass(frozen=True)
class AuthPlacement:
    """A credential placement and the settings it reads."""

    placement: Placement
    settings: tuple[str, ...]
    name: str = ""  # query parameter or header name, for "query" and "header"

    @classmethod
    def query(cls, param: str, setting: str | None = None) -> AuthPlacement:
        """`?<param>=<setting>` on every request."""
        return cls("query", (setting or param,), param)

    @classmethod
    def header(cls, header: str, setting: str | None = None) -> AuthPlacement:
        """`<header>: <setting>` on every request."""
        return cls("header", (setting or header,), header)

    @classmethod
    def bearer(cls, setting: str) -> AuthPlacement:
        """`Authorization: Bearer <setting>`."""
        return cls("bearer", (setting,))

    @classmethod
    def basic(cls, username_setting: str, password_setting: str) -> AuthPlacement:
        """HTTP Basic with two settings."""
        return cls("basic", (username_setting, password_setting))

    def authenticator(self, credentials: t.Mapping[str, str]) -> APIAuthenticatorBase:
        """The SDK authenticator for these credentials."""
        values = [credentials[s] for s in self.settings]
        if self.placement == "query":
            return APIKeyAuthenticator(key=self.name, value=values[0], location="params")
        if self.placement == "header":
            return APIKeyAuthenticator(key=self.name, value=values[0], location="header")
        if self.placement == "bearer":
            return BearerTokenAuthenticator(token=values[0])
        return BasicAuthenticator(username=values[0], password=values[1])

    def secrets(self, credentials: t.Mapping[str, str]) -> list[str]:
        """Every string that must never be printed."""
        values = [str(credentials[s]) for s in self.settings if credentials.get(s)]
        if self.placement == "basic" and len(values) == 2:
            values.append(base64.b64encode(":".join(values).encode()).decode())
        return values
