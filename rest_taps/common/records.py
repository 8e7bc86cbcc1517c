"""Response bodies and the records inside them.

`json_body` decodes a response once (msgspec, cached on the response) for the stream and
its paginator alike. `RecordsPath` cuts the records out of a body at a simple JSONPath
(`$.result.items[*]`, `$.result[*].item`, `$.data.*.data`): it is a few dict look-ups
instead of a JSONPath engine, and it tells a missing container (an error) from a `null`
one (an empty page).
"""

from __future__ import annotations

import typing as t

import msgspec
import requests

_BODY_ATTR = "_rest_taps_body"
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

    def objects(self, body: t.Any) -> list[dict]:
        """The records in `body`, which must all be JSON objects."""
        records = self.extract(body)
        for record in records:
            if not isinstance(record, dict):
                kind = type(record).__name__
                msg = f"a record at {self.jsonpath} is not an object (a {kind}: {record!r:.60})"
                raise BadResponseError(msg)
        return records

    def extract(self, body: t.Any) -> list[t.Any]:
        node = body
        for key in self.container:
            if not isinstance(node, dict) or key not in node:
                msg = f"the response has no records container at {self.jsonpath}"
                raise BadResponseError(msg)
            node = node[key]
            if node is None:
                return []
        if not isinstance(node, list):
            msg = f"the records container at {self.jsonpath} is not a list"
            raise BadResponseError(msg)
        if not self.inner:
            return node
        records = []
        for element in node:
            for key in self.inner:
                if not isinstance(element, dict) or key not in element:
                    msg = f"a record has no {'.'.join(self.inner)} at {self.jsonpath}"
                    raise BadResponseError(msg)
                element = element[key]  # noqa: PLW2901
            records.append(element)
        return records

    def __repr__(self) -> str:
        return f"RecordsPath({self.jsonpath!r})"
