"""Key values in another form than declared, converted when nothing is lost.

APIs send a key in another JSON type now and then: an integer id as a numeric string
(`"822"`), a bookmark of epoch seconds where a date-time is declared. A primary key or
replication key is never moved to a variant property (keys and bookmarks depend on it),
so such a value is converted to the declared type when the conversion loses nothing and
reads back as the same text: `"822"` → 822 for an integer key, 822 → `"822"` for a
string key, epoch seconds (or milliseconds) → an RFC 3339 UTC time for a date-time key and
back for an epoch bookmark. Each stream warns once per property. A value that cannot be
converted (`"abc"` for an integer) is left as it is: the stream then stops with a line
naming the property.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from rest_taps.common import times

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


def _to_integer(value: t.Any) -> int:
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(value)


def _to_epoch(value: t.Any) -> int:
    """An ISO 8601 time (whole seconds) as epoch seconds; else as `_to_integer`."""
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        moment = dt.datetime.fromisoformat(value)
        if moment.microsecond:
            raise ValueError(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return int(moment.timestamp())
    return _to_integer(value)


def _to_number(value: t.Any) -> int | float:
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    raise ValueError(value)


def _to_string(value: t.Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(value)


def _to_datetime(value: t.Any) -> str:
    """Epoch seconds or milliseconds as RFC 3339 in UTC, as every time is written."""
    text = times.to_rfc3339(value) if value.__class__ in (int, float) else None
    if text is None:
        raise ValueError(value)
    return text


_CLASSES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
}


class Conversion(t.NamedTuple):
    """How one key property's values are checked and, if needed, converted."""

    name: str
    classes: frozenset[type]
    convert: t.Callable[[t.Any], t.Any]
    declared: str


def conversion(name: str, schema: dict, *, bookmark: bool = False) -> Conversion | None:
    """The conversion to the type `schema` declares for key property `name`, if any
    (none for a union of several types: every value of those is declared)."""
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
    if len(kinds) != 1 or kinds[0] not in _CLASSES:
        return None
    kind = kinds[0]
    if kind == "string":
        timely = schema.get("format") == "date-time"
        convert = _to_datetime if timely else _to_string
        declared = "a date-time" if timely else "string"
    elif kind == "integer":
        convert, declared = (_to_epoch if bookmark else _to_integer), "integer"
    elif kind == "number":
        convert, declared = _to_number, "number"
    else:
        return None
    classes = frozenset(_CLASSES[kind]) - ({bool} if kind != "boolean" else set())
    return Conversion(name, classes, convert, declared)


class KeyForms:
    """Converts a stream's key values sent in another form than declared."""

    def __init__(self, stream: str, conversions: t.Iterable[Conversion]) -> None:
        self.stream = stream
        self.conversions = tuple(conversions)
        self._warned: set[str] = set()

    def conform(self, record: dict, warn: t.Callable[[str], None] | None = None) -> None:
        """Convert, in place, each key value of `record` in another form than declared;
        `warn` hears once per property what was converted."""
        for name, classes, convert, declared in self.conversions:
            value = record.get(name)
            if value is None or value.__class__ in classes:
                continue
            try:
                record[name] = convert(value)
            except (ValueError, TypeError, OverflowError, OSError):
                continue  # the stream stops on it, with a line naming the property
            if warn is not None and name not in self._warned:
                self._warned.add(name)
                warn(
                    f"Stream '{self.stream}': key property '{name}' arrived as "
                    f"{type(value).__name__} ({value!r:.40}); it is converted to {declared} "
                    f"({record[name]!r:.40}), as is every such value of this run."
                )
