"""The JSONPath of a `rest_api` config: record selectors and paths into a body.

A config names places in a response with JSONPath: `data_selector` (where the records
are), a paginator's `cursor_path`, `next_url_path`, `total_path`, `has_more_path`. The
paths configs use are simple: `$`, dotted keys, `*` / `[*]` over a list or an object's
values, `[n]`, `['key']`. This module reads those (a few dict look-ups, no JSONPath
engine) and says clearly when a path is of another kind.

A `Selector` cuts a page's records out of a body the way the config means it: every value
the path matches, where a single match that is a list is the page's list, a single object
is one record, and `null` is an empty page. The path's leading keys (up to its first
wildcard) must be in the body: a body without them is a bad response, not an empty page.
Without a `data_selector` the records are found as they are in a body whose list of
records is not named: the body itself if it is a list, else its list under a key such as
`data`, `items` or `results` (else its first list, at most three levels deep), else the
body as one record.
"""

from __future__ import annotations

import re
import threading
import typing as t

from rest_taps.common.records import BadResponseError

_TOKEN = re.compile(
    r"""\.?\[\*\]|\.\*|\[(-?\d+)\]|\[['"]([^'"]*)['"]\]|\.?([^.\[\]*]+)""",
)
WILDCARD = "*"
#: Keys that usually hold a page's records, and keys that never do.
RECORD_KEYS = frozenset(
    (
        "data",
        "items",
        "results",
        "entries",
        "records",
        "rows",
        "entities",
        "payload",
        "content",
        "objects",
        "values",
    )
)
_MAX_DEPTH = 3


class PathError(ValueError):
    """A JSONPath this tap does not read."""


def parse(path: str) -> tuple[str | int, ...]:
    """The steps of `path`: keys, list indexes and `*`."""
    text = path.strip()
    if ".." in text or "?" in text or "(" in text:
        msg = f"JSONPath {path!r} uses filters or recursive descent, which are not supported"
        raise PathError(msg)
    text = text.removeprefix("$")
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            msg = f"JSONPath {path!r} cannot be read at {text[position:]!r}"
            raise PathError(msg)
        index, quoted, key = match.groups()
        if index is not None:
            steps.append(int(index))
        elif quoted is not None:
            steps.append(quoted)
        elif key is not None:
            steps.append(key)
        else:
            steps.append(WILDCARD)
        position = match.end()
    return tuple(steps)


def find(steps: t.Sequence[str | int], node: t.Any) -> list[t.Any]:
    """Every value at `steps` in `node` (missing steps match nothing)."""
    found = [node]
    for step in steps:
        following: list[t.Any] = []
        for value in found:
            if step == WILDCARD:
                if isinstance(value, list):
                    following.extend(value)
                elif isinstance(value, dict):
                    following.extend(value.values())
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    following.append(value[step])
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        found = following
    return found


def first(steps: t.Sequence[str | int], node: t.Any) -> t.Any:
    """The first value at `steps` in `node`, or None."""
    found = find(steps, node)
    return found[0] if found else None


def records_jsonpath(data_selector: str | None) -> str:
    """A selector as the records path of the base (one wildcard over the list of
    records): `data` as `$.data[*]`, `result.*.item` as `$.result[*].item`, none as
    `$[*]`."""
    if data_selector is None:
        return "$[*]"
    steps = parse(data_selector)
    text = "$" + "".join(
        "[*]" if step == WILDCARD else f"[{step}]" if isinstance(step, int) else f".{step}"
        for step in steps
    )
    return text if WILDCARD in steps else f"{text}[*]"


class Selector:
    """The records of a page at a `data_selector` (or found, without one)."""

    def __init__(self, data_selector: str | None) -> None:
        self.jsonpath = data_selector or "(records found in the body)"
        self._steps: tuple[str | int, ...] | None = (
            parse(data_selector) if data_selector is not None else None
        )
        self._lock = threading.Lock()

    def extract(self, body: t.Any) -> list[t.Any]:
        """The records of `body`."""
        if body is None:  # an ignored response, or a body that is `null`
            return []
        steps = self._steps
        if steps is None:
            steps = self._detect(body)
        prefix = 0
        node = body
        while prefix < len(steps) and isinstance(steps[prefix], str) and steps[prefix] != WILDCARD:
            key = steps[prefix]
            if not isinstance(node, dict) or key not in node:
                msg = f"the response has no records container at {self.jsonpath}"
                raise BadResponseError(msg)
            node = node[key]
            prefix += 1
            if node is None:
                return []
        found = find(steps[prefix:], node)
        data: t.Any = found[0] if len(found) == 1 else found
        if data is None:
            return []
        return data if isinstance(data, list) else [data]

    def elements(self, body: t.Any) -> list[t.Any]:
        """The records of `body` (what a page's paging compares with the last page's)."""
        return self.extract(body)

    def objects(self, body: t.Any, empty: t.Callable[[t.Any], dict] | None = None) -> list[dict]:
        """The records of `body`, which must be JSON objects (a config declares no
        deleted items, so `empty`, for the elements of a deleted item, is not used)."""
        records = self.extract(body)
        for record in records:
            if not isinstance(record, dict):
                kind = type(record).__name__
                msg = f"a record at {self.jsonpath} is not an object (a {kind}: {record!r:.60})"
                raise BadResponseError(msg)
        return records

    def _detect(self, body: t.Any) -> tuple[str | int, ...]:
        """Find where the records are, once (later pages are read at the same place)."""
        with self._lock:
            if self._steps is None:
                self._steps = detect(body)
                self.jsonpath = "$" + "".join(f".{step}" for step in self._steps)
            return self._steps

    def __repr__(self) -> str:
        return f"Selector({self.jsonpath!r})"


def detect(body: t.Any) -> tuple[str, ...]:
    """Where a body's records are when the config does not say."""
    if not isinstance(body, dict):
        return ()
    lists: list[tuple[str, ...]] = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        if len(path) >= _MAX_DEPTH:
            return
        for key, value in node.items():
            if isinstance(value, list):
                lists.append((*path, key))
            elif isinstance(value, dict):
                walk(value, (*path, key))

    walk(body, ())
    named = [path for path in lists if path[-1].lower() in RECORD_KEYS]
    if named:
        return min(named, key=len)
    return min(lists, key=len) if lists else ()
