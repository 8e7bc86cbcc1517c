"""Time fields: every declared time reaches the target as an RFC 3339 date-time in UTC.

APIs send times in several forms: integer Unix seconds, Unix milliseconds, numeric
strings of either, ISO 8601 text with or without a zone (zone-less text is UTC). A
stream's schema declares each time property as `{"type": "string", "format":
"date-time"}`; where the API's own form is another JSON type, the property also says so
in `x-raw-type` (its type as the API sends it).

- `Converter`, compiled once from a schema, rewrites a record's declared time values in
  place as `YYYY-MM-DDTHH:MM:SS[.fff]Z`, the same instant; nested objects and lists
  included. A value that cannot be read as a time is left as it is: schema evolution
  then moves it, unchanged, to its variant property (`<name>__v_<type>`).
- `instant` reads any of those forms (bookmarks too, whichever version wrote them).
- `restore_raw` turns a schema back into the API's own form (setting `time_format:
  raw`): each time property takes its `x-raw-type` and loses its format.
"""

from __future__ import annotations

import datetime as dt
import typing as t

#: Keyword of a time property: its JSON type as the API sends it, where that is not text.
RAW_TYPE = "x-raw-type"
TIME_FORMATS = ("rfc3339", "raw")
#: Numbers at or above this are milliseconds (as seconds it is the year 5138).
MILLISECONDS_FROM = 100_000_000_000
_EPOCH = dt.datetime(1970, 1, 1)
_DAY = 86_400
#: `THH:MM` of each minute of a day, and `:SSZ` of each second of a minute.
_MINUTES = [f"T{m // 60:02d}:{m % 60:02d}" for m in range(1440)]
_SECONDS = [f":{s:02d}Z" for s in range(60)]
#: `YYYY-MM-DD` of days since 1970 met so far.
_days: dict[int, str] = {}


def _day(days: int) -> str:
    if len(_days) > 100_000:
        _days.clear()
    text = _days[days] = (_EPOCH + dt.timedelta(days=days)).date().isoformat()
    return text


def _from_seconds(value: int) -> str:
    """Whole Unix seconds from 1970 on (the common case, kept cheap) as RFC 3339."""
    days, rest = divmod(value, _DAY)
    return f"{_days.get(days) or _day(days)}{_MINUTES[rest // 60]}{_SECONDS[rest % 60]}"


def _text(moment: dt.datetime) -> str:
    """A naive UTC date-time as RFC 3339 text (milliseconds where there are some)."""
    micro = moment.microsecond
    spec = "seconds" if not micro else "milliseconds" if not micro % 1000 else "microseconds"
    return f"{moment.isoformat(timespec=spec)}Z"


def _from_number(value: int | float) -> str:
    if value.__class__ is int and 0 <= value < MILLISECONDS_FROM:
        return _from_seconds(value)
    if abs(value) >= MILLISECONDS_FROM:
        return _text(_EPOCH + dt.timedelta(milliseconds=value))
    return _text(_EPOCH + dt.timedelta(seconds=value))


def to_rfc3339(value: t.Any) -> str | None:
    """`value` (Unix seconds or milliseconds, a numeric string, ISO 8601 text) as RFC 3339
    in UTC, the same instant; None when it is not a time."""
    cls = value.__class__
    try:
        if cls is int or cls is float:
            return _from_number(value)
        if cls is not str:
            return None
        if value[-1:] == "Z" and len(value) == 20 and value[10] == "T":  # RFC 3339 already
            dt.datetime.fromisoformat(value)
            return value
        number = _number(value)
        if number is not None:
            return _from_number(number)
        moment = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return _text(moment)


def rfc3339(moment: dt.datetime) -> str:
    """An aware date-time as RFC 3339 text in UTC."""
    return _text(moment.astimezone(dt.UTC).replace(tzinfo=None))


def _number(text: str) -> int | float | None:
    """A numeric string's number (`"1469170109"`, `"1.5e9"`), else None."""
    if not text or not (text[0].isdigit() or text[0] == "-"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text) if text[-1].isdigit() else None
    except ValueError:
        return None


def instant(value: t.Any) -> dt.datetime | None:
    """The instant `value` names (any form `to_rfc3339` reads), aware in UTC; None when
    it is not a time."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = to_rfc3339(value)
    return None if text is None else dt.datetime.fromisoformat(text)


def is_time(schema: t.Mapping[str, t.Any]) -> bool:
    """Whether a property's schema declares a date-time."""
    return schema.get("format") == "date-time"


def api_schema(schema: t.Mapping[str, t.Any]) -> dict:
    """A time property's schema as the API sends it (the schema itself if it says no
    other form)."""
    if RAW_TYPE not in schema:
        return dict(schema)
    raw = {k: v for k, v in schema.items() if k not in {RAW_TYPE, "format"}}
    raw["type"] = schema[RAW_TYPE]
    return raw


def restore_raw(schema: dict) -> None:
    """Give every time property of `schema` (nested ones included) its API's own form,
    in place."""
    for key, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and RAW_TYPE in prop:
            schema["properties"][key] = api_schema(prop)
        elif isinstance(prop, dict):
            restore_raw(prop)
    for branch in schema.get("anyOf") or ():
        if isinstance(branch, dict):
            restore_raw(branch)
    if isinstance(schema.get("items"), dict):
        restore_raw(schema["items"])


class Converter:
    """Generates a function that rewrites the declared time values of a record in place.

    Only the parts of the schema that lead to a date-time property are walked: one
    `get` per top-level time property, and a loop only over lists whose items hold one.
    `function` is None when the schema declares no time at all.
    """

    def __init__(self, schema: t.Mapping[str, t.Any]) -> None:
        self.env: dict[str, t.Any] = {
            "convert": to_rfc3339,
            "LIMIT": MILLISECONDS_FROM,
            "DAY": _DAY,
            "days": _days,
            "day": _day,
            "MINUTES": _MINUTES,
            "SECONDS": _SECONDS,
        }
        self.lines: list[str] = []
        self.names = 0
        name = self._object(schema)
        self.function: t.Callable[[dict], None] | None = None
        if name is not None:
            exec("\n".join(self.lines), self.env)
            self.function = self.env[name]

    def _name(self) -> str:
        self.names += 1
        return f"_f{self.names}"

    def _object(self, schema: t.Mapping[str, t.Any]) -> str | None:
        """The function that converts an object of `schema`, if it holds a time."""
        body: list[str] = []
        for key, prop in _properties(schema).items():
            if is_time(prop):
                body += [
                    f"    v = r.get({key!r})",
                    "    if v.__class__ is int and 0 <= v < LIMIT:",  # `_from_seconds`, inline
                    "        d, s = divmod(v, DAY)",
                    "        m, s = divmod(s, 60)",
                    f"        r[{key!r}] = "
                    "f'{days.get(d) or day(d)}{MINUTES[m]}{SECONDS[s]}'",
                    "    elif v is not None:",
                    "        w = convert(v)",
                    "        if w is not None:",
                    f"            r[{key!r}] = w",
                ]
                continue
            inner = self._object(prop)
            if inner is not None:
                body += [
                    f"    v = r.get({key!r})",
                    "    if v.__class__ is dict:",
                    f"        {inner}(v)",
                ]
            items = self._items(prop)
            if items is not None:
                body += [
                    f"    v = r.get({key!r})",
                    "    if v.__class__ is list:",
                    f"        {items}(v)",
                ]
        if not body:
            return None
        name = self._name()
        self.lines += [f"def {name}(r):", *body]
        return name

    def _items(self, schema: t.Mapping[str, t.Any]) -> str | None:
        """The function that converts the items of a list of `schema`, if they hold a time."""
        items = [s.get("items") for s in _branches(schema)]
        item_schemas = [s for s in items if isinstance(s, dict)]
        if not item_schemas:
            return None
        name = self._name()
        body = [f"def {name}(items):"]
        if any(is_time(s) for b in item_schemas for s in _branches(b)):
            body += [
                "    for i, v in enumerate(items):",
                "        w = convert(v) if v is not None else None",
                "        if w is not None:",
                "            items[i] = w",
            ]
        else:
            inner = self._object({"anyOf": item_schemas})
            if inner is None:
                return None
            body += [
                "    for v in items:",
                "        if v.__class__ is dict:",
                f"            {inner}(v)",
            ]
        self.lines += body
        return name


def _branches(schema: t.Mapping[str, t.Any]) -> list[t.Mapping[str, t.Any]]:
    branches = [b for b in schema.get("anyOf") or () if isinstance(b, dict)]
    return [schema, *branches]


def _properties(schema: t.Mapping[str, t.Any]) -> dict[str, t.Mapping[str, t.Any]]:
    """The properties of an object of `schema` (of every `anyOf` branch, the first
    declaration of a name winning)."""
    props: dict[str, t.Mapping[str, t.Any]] = {}
    for branch in _branches(schema):
        for key, prop in (branch.get("properties") or {}).items():
            if isinstance(prop, dict):
                props.setdefault(key, prop)
    return props
