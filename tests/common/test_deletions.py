"""Deleted states, deletion times and account keys (the taps' commands are tested against
their sandboxes in tests/test_shapes.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from rest_taps.common.deletions import DELETED_AT, PRESENT, Deletions, is_deletion
from rest_taps.common.records import account_key
from rest_taps.common.redaction import Redactor

SEEN = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
#: `SEEN` as `_sdc_deleted_at` holds it: RFC 3339 in UTC, like every time the taps write.
SEEN_TEXT = "2025-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("when", "record", "deleted"),
    [
        ({"deleted": True}, {"deleted": True}, True),
        ({"deleted": True}, {"deleted": False}, False),
        ({"deleted": True}, {"deleted": 1}, True),  # flags written as 0/1
        ({"deleted": True}, {"deleted": 2}, False),
        ({"active_flag": False}, {"active_flag": 0}, True),
        ({"active_flag": False}, {"active_flag": None}, False),
        ({"active_flag": False}, {}, False),  # a field the record lacks never matches
        ({"delete_time": PRESENT}, {"delete_time": "2024-01-01 00:00:00"}, True),
        ({"delete_time": PRESENT}, {"delete_time": None}, False),
        ({"name": None}, {"name": None}, True),
        ({"name": None}, {}, False),
        ({"name": None}, {"name": "api"}, False),
    ],
)
def test_deleted_states(when: dict, record: dict, deleted: bool) -> None:
    marked = Deletions(when=when).mark(dict(record), SEEN)
    assert is_deletion(marked) is deleted
    assert (DELETED_AT in marked) is deleted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00Z"),  # naive: UTC
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01 10:00:00.250", "2024-05-01T10:00:00.250Z"),
        (1_714_557_600, "2024-05-01T10:00:00Z"),  # Unix seconds
        (1_714_557_600_000, "2024-05-01T10:00:00Z"),  # Unix milliseconds
        ("1714557600", "2024-05-01T10:00:00Z"),  # numeric text
        ("", SEEN_TEXT),  # unreadable or absent: the time it was seen
        ("soon", SEEN_TEXT),
        (True, SEEN_TEXT),
        (None, SEEN_TEXT),
    ],
)
def test_deletion_time_is_the_records_own_else_the_time_seen(value: object, expected: str) -> None:
    deletions = Deletions(when={"gone": True}, time_fields=("missing", "at"))
    assert deletions.deleted_at({"at": value}, SEEN) == expected


def test_the_time_seen_is_written_in_utc_with_its_fraction() -> None:
    deletions = Deletions(empty_record=True)
    seen = dt.datetime(2025, 1, 2, 5, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert deletions.deleted_at({}, seen) == "2025-01-02T03:04:05.123456Z"


def test_an_item_without_its_record_keeps_only_its_key() -> None:
    deletions = Deletions(empty_record=True, time_fields=("update_time",))
    element = {"item": "deal", "id": 2, "data": None}
    assert deletions.tombstone(element, ("id",), SEEN) == {"id": 2, DELETED_AT: SEEN_TEXT}
    timed = {**element, "update_time": "2024-05-01 10:00:00"}
    assert deletions.tombstone(timed, ("id",), SEEN)[DELETED_AT] == "2024-05-01T10:00:00Z"


def test_account_key_is_stable_per_origin_and_credential_and_shows_no_secret() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    key = account_key("https://api.example.com", (secret,))
    assert key == account_key("https://API.example.com/some/path/", (secret,))
    assert key != account_key("https://api.example.com", ("another-secret",))
    assert key != account_key("https://eu.api.example.com", (secret,))
    assert key != account_key("https://api.example.com", ("user", secret))
    assert len(key) == 32
    assert secret not in key
    # the log redaction, which masks the secret, leaves the key as it is
    redactor = Redactor()
    redactor.add([secret])
    assert redactor.redact(f"uid {key}; token {secret}") == f"uid {key}; token ***"
