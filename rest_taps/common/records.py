"""Response bodies and the records inside them.

`json_body` decodes a response once (msgspec, cached on the response) for the stream and
its paginator alike. `RecordsPath` cuts the records out of a body at a simple JSONPath
(`$.result.items[*]`, `$.result[*].item`, `$.data.*.data`): it is a few dict look-ups
instead of a JSONPath engine, and it tells a missing container (an error) from a `null`
one (an empty page). A container that holds one object holds one record; one that wraps
its list in a list object under its own name holds that list.
"""

from __future__ import annotations

import functools
import hashlib
import typing as t
from urllib.parse import urlsplit

import msgspec
import requests

_BODY_ATTR = "_rest_taps_body"
#: Rounds of the key derivation behind `account_key`: a guess at a credential costs as
#: much, so even a short one cannot be recovered from the key by trying guesses.
_KEY_ROUNDS = 100_000
_decoder = msgspec.json.Decoder()


class BadResponseError(Exception):
    """A 2xx body that is not JSON or lacks the records' container."""


def json_body(response: requests.Response) -> t.Any:
    """The decoded JSON body of `response`, decoded only once."""
    body = response.__dict__.get(_BODY_ATTR, _BODY_ATTR)
    if body is _BODY_ATTR:
        try:
            body = _decoder.decode(response.content)
        except msgspec.DecodeError as exc:
            snippet = response.content[:60].decode("utf-8", "replace")
            msg = f"the response body is not JSON ({exc}; body starts {snippet!r})"
            raise BadResponseError(msg) from None
        except RecursionError:
            msg = "the response body is JSON nested too deeply to read"
            raise BadResponseError(msg) from None
        response.__dict__[_BODY_ATTR] = body
    return body


class RecordsPath:
    """A records selector: a container path, one wildcard, then an optional inner path."""

    def __init__(self, jsonpath: str) -> None:
        self.jsonpath = jsonpath
        tokens = [tok for tok in jsonpath.removeprefix("$").replace("[*]", ".*").split(".") if tok]
        if tokens.count("*") != 1:
            msg = f"records path {jsonpath!r} needs exactly one wildcard"
            raise ValueError(msg)
        star = tokens.index("*")
        self.container: tuple[str, ...] = tuple(tokens[:star])
        self.inner: tuple[str, ...] = tuple(tokens[star + 1 :])

    def objects(self, body: t.Any, empty: t.Callable[[t.Any], dict] | None = None) -> list[dict]:
        """The records in `body`, which must all be JSON objects. With `empty`, an
        element whose inner record is `null` (a deleted item, in some APIs) becomes
        `empty(element)` instead."""
        elements = self.elements(body)
        records = [self._inner(element) for element in elements] if self.inner else elements
        for record in records:  # the usual case, checked at the least cost
            if not isinstance(record, dict):
                break
        else:
            return records
        for n, record in enumerate(records):
            if isinstance(record, dict):
                continue
            if record is None and self.inner and empty is not None:
                records[n] = empty(elements[n])
                continue
            kind = type(record).__name__
            msg = f"a record at {self.jsonpath} is not an object (a {kind}: {record!r:.60})"
            raise BadResponseError(msg)
        return records

    def extract(self, body: t.Any) -> list[t.Any]:
        """The values at the records path, whatever they are."""
        return [self._inner(element) for element in self.elements(body)]

    def elements(self, body: t.Any) -> list[t.Any]:
        """The container's elements: a list as it is; `null` as no element; an object
        as one element, unless it wraps the list under the container's own name (a
        list object: `{"parts": {"type": "part.list", "parts": [...]}}`)."""
        node = body
        for key in self.container:
            if not isinstance(node, dict) or key not in node:
                msg = f"the response has no records container at {self.jsonpath}"
                raise BadResponseError(msg)
            node = node[key]
            if node is None:
                return []
        if isinstance(node, dict):
            wrapped = node.get(self.container[-1]) if self.container else None
            return wrapped if isinstance(wrapped, list) else [node]
        if not isinstance(node, list):
            kind = type(node).__name__
            msg = f"the records container at {self.jsonpath} is not a list or an object (a {kind})"
            raise BadResponseError(msg)
        return node

    def _inner(self, element: t.Any) -> t.Any:
        for key in self.inner:
            if not isinstance(element, dict) or key not in element:
                msg = f"a record has no {'.'.join(self.inner)} at {self.jsonpath}"
                raise BadResponseError(msg)
            element = element[key]
            if element is None:
                return None
        return element

    def __repr__(self) -> str:
        return f"RecordsPath({self.jsonpath!r})"


@functools.cache
def account_key(api_url: str, secrets: tuple[str, ...]) -> str:
    """A stable id of the account behind `api_url`'s origin and these credentials: the
    same on every run, different for another account or API host. It is derived
    one-way (PBKDF2-HMAC-SHA256, the origin as salt) and shows nothing of the secrets."""
    parts = urlsplit(api_url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    secret = "\0".join(secrets).encode()
    derived = hashlib.pbkdf2_hmac("sha256", secret, origin.encode(), _KEY_ROUNDS)
    return derived.hex()[:32]
