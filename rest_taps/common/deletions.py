"""Deleted items as data: `_sdc_deleted_at`, the Singer convention loaders understand.

APIs report a deletion in one of two ways, and a stream declares which (`Deletions`):

- **An element without its record**: `{"item": "deal", "id": 2, "data": null}` where the
  records path expects `data`. The item is gone; the element still names it. It becomes a
  record of the item's key properties (read from the element) and `_sdc_deleted_at`.
- **A record in a deleted state**: a flag (`"deleted": true`, `"active_flag": false`), a
  deletion time (`"delete_time": "…"`), a value the API blanks on deletion. The record is
  written whole, with `_sdc_deleted_at` added.

`_sdc_deleted_at` is the deletion's own time where the element or record carries one (the
first of the declared time fields that holds a time, in any form `times.instant` reads),
else the time the deletion was seen; either way RFC 3339 in UTC, as every time is written
(`time_format: raw` too: the property is the Singer convention's, not the API's). A loader
then marks the row deleted (or removes it) instead of keeping a stale row.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass, field

from rest_taps.common import times

#: The property a deletion sets, and its schema (declared on every stream with deletions).
DELETED_AT = "_sdc_deleted_at"
DELETED_AT_SCHEMA: dict[str, t.Any] = {"type": ["string", "null"], "format": "date-time"}


class _Present:
    """A `when` value that matches any value but null."""

    def __repr__(self) -> str:
        return "PRESENT"


#: In `Deletions.when`: the field holds a value (a deletion time, say).
PRESENT: t.Any = _Present()


@dataclass(frozen=True)
class Deletions:
    """How one stream's API reports deleted items."""

    #: An element of the records path whose record is `null` is a deleted item, keyed by
    #: the element's fields of the stream's key properties.
    empty_record: bool = False
    #: Field → the value that marks a record deleted (`PRESENT`: any non-null value).
    #: A record is deleted when any of them matches; a field it lacks never matches.
    when: t.Mapping[str, t.Any] = field(default_factory=dict)
    #: Fields of the element or record that may hold the deletion time, in order.
    time_fields: tuple[str, ...] = ()

    def is_deleted(self, record: dict) -> bool:
        """Whether `record` is in one of the deleted states."""
        for name, marker in self.when.items():
            if name not in record:
                continue
            value = record[name]
            if value is not None if marker is PRESENT else _same(value, marker):
                return True
        return False

    def mark(self, record: dict, seen: dt.datetime) -> dict:
        """`record`, with `_sdc_deleted_at` if it is in a deleted state."""
        if self.when and self.is_deleted(record):
            record[DELETED_AT] = self.deleted_at(record, seen)
        return record

    def tombstone(self, element: t.Any, keys: t.Sequence[str], seen: dt.datetime) -> dict:
        """The record of an item deleted whose element carries no record: its key
        properties (those the element has) and `_sdc_deleted_at`."""
        source = element if isinstance(element, dict) else {}
        record = {key: source[key] for key in keys if key in source}
        record[DELETED_AT] = self.deleted_at(source, seen)
        return record

    def deleted_at(self, source: dict, seen: dt.datetime) -> str:
        """The deletion time in `source` (first time field with a readable value), else
        `seen`, as RFC 3339 in UTC (`YYYY-MM-DDTHH:MM:SS[.fff]Z`)."""
        for name in self.time_fields:
            moment = times.instant(source.get(name))
            if moment is not None:
                return times.rfc3339(moment)
        return times.rfc3339(seen)


def is_deletion(record: dict) -> bool:
    """Whether `record` reports a deleted item."""
    return record.get(DELETED_AT) is not None


def _same(value: t.Any, marker: t.Any) -> bool:
    """Equal, with 0/1 for false/true (some APIs write flags as integers)."""
    if isinstance(marker, bool) and isinstance(value, int | bool):
        return bool(value) is marker and value in (0, 1)
    return value == marker
