"""Times arrive as RFC 3339 date-times in UTC, the same instant the API sent.

Every tap declares its time properties as `date-time` and writes them as
`YYYY-MM-DDTHH:MM:SS[.fff]Z` whatever the API's form (Unix seconds, milliseconds, numeric
text, zone-less text in UTC); a value that is not a time keeps its value under its variant
property. Bookmarks are read in any form a run wrote (an earlier version's epoch numbers
and `YYYY-MM-DD HH:MM:SS` text too), and the API still gets its own form in its query
parameters and bodies. `time_format: raw` keeps the API's form.
"""

from __future__ import annotations

import datetime as dt

import pytest
from singer_sdk.exceptions import ConfigValidationError

from rest_taps.common import times
from rest_taps.common.sandbox import SandboxServer
from tests.fidelity import instant
from tests.support import api_class, config_for, serial_config, sync, tap_class, unix

EPOCH_ITEMS = (
    "first_occurrence_timestamp",
    "last_occurrence_timestamp",
    "last_activated_timestamp",
)


@pytest.mark.parametrize(
    ("sent", "emitted"),
    [
        (1_700_000_000, "2023-11-14T22:13:20Z"),  # Unix seconds
        (1_448_516_471_573, "2015-11-26T05:41:11.573Z"),  # milliseconds
        ("1469170109", "2016-07-22T06:48:29Z"),  # numeric text
        (1_500_000_000.5, "2017-07-14T02:40:00.500Z"),
        (0, "1970-01-01T00:00:00Z"),
        ("2023-02-22 08:52:06", "2023-02-22T08:52:06Z"),  # zone-less text is UTC
        ("2023-02-22 08:52:06.047", "2023-02-22T08:52:06.047Z"),
        ("2023-02-22T10:52:06+02:00", "2023-02-22T08:52:06Z"),
        ("2021-07-06T15:04:22.255Z", "2021-07-06T15:04:22.255Z"),
    ],
)
def test_every_form_becomes_the_same_instant_in_rfc3339(sent: object, emitted: str) -> None:
    assert times.to_rfc3339(sent) == emitted
    assert instant(emitted) == instant(sent)
    assert times.to_rfc3339(emitted) == emitted, "converting twice changes nothing"


@pytest.mark.parametrize("sent", ["", "soon", "12:30", True, [1], {"a": 1}, 10**20])
def test_what_is_not_a_time_is_left_alone(sent: object) -> None:
    assert times.to_rfc3339(sent) is None


def test_every_tap_declares_its_times() -> None:
    """The columns a loader makes TIMESTAMP: the API's epoch and text times."""
    for package, stream, key in [
        ("error_tracking", "items", "last_occurrence_timestamp"),
        ("pipeline_crm", "deals", "update_time"),
        ("customer_messaging", "conversations", "updated_at"),
        ("crm_helpdesk", "contacts", "created_time"),
        ("web_experiments", "campaigns", "createdOn"),
    ]:
        schema = tap_class(package)(config={"sandbox": True}).streams[stream].schema
        prop = schema["properties"][key]
        assert prop["format"] == "date-time", (package, stream)
        assert "string" in prop["type"], (package, stream)


def test_records_carry_rfc3339_and_a_value_that_is_not_a_time_its_variant() -> None:
    api = api_class("error_tracking")(records=40)
    items = api.tables["items"]
    items[0]["last_activated_timestamp"] = "not yet"
    items[1]["last_activated_timestamp"] = str(items[1]["first_occurrence_timestamp"])
    api.changed()
    with SandboxServer(api) as server:
        result = sync(tap_class("error_tracking"), config_for(server), streams=["items"])
    schema = result.schemas["items"]["schema"]["properties"]
    assert all(schema[key]["format"] == "date-time" for key in EPOCH_ITEMS)
    by_id = {record["id"]: record for record in result.records("items")}
    assert len(by_id) == len(items)
    for item in items[1:]:
        record = by_id[item["id"]]
        for key in EPOCH_ITEMS:
            assert record[key].endswith("Z"), key
            assert instant(record[key]) == instant(item[key]), key
    odd = by_id[items[0]["id"]]
    assert "last_activated_timestamp" not in odd
    assert odd["last_activated_timestamp__v_string"] == "not yet"
    assert schema["last_activated_timestamp__v_string"]["type"] == ["string", "null"]


def test_an_epoch_bookmark_of_an_earlier_run_is_read_as_that_instant() -> None:
    """A state an earlier version wrote (Unix seconds) starts the run where it left off;
    the new state holds RFC 3339."""
    api = api_class("error_tracking")(records=60)
    stamps = sorted(o["timestamp"] for o in api.tables["occurrences"])
    middle = stamps[len(stamps) // 2]
    state = {
        "bookmarks": {
            "occurrences": {"replication_key": "timestamp", "replication_key_value": middle}
        }
    }
    with SandboxServer(api) as server:
        result = sync(tap_class("error_tracking"), serial_config(server), state, ["occurrences"])
    emitted = sorted(unix(r["timestamp"]) for r in result.records("occurrences"))
    assert emitted == [s for s in stamps if s >= middle]
    bookmark = result.state["bookmarks"]["occurrences"]["replication_key_value"]
    assert bookmark == dt.datetime.fromtimestamp(stamps[-1], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "bookmark",
    ["2024-03-01 12:00:00", "2024-03-01T12:00:00Z", "2024-03-01T14:00:00+02:00"],
    ids=["api-text", "rfc3339", "offset"],
)
def test_the_api_gets_its_own_form_whatever_form_the_bookmark_has(bookmark: str) -> None:
    """The pipeline CRM's `since_timestamp` is `YYYY-MM-DD HH:MM:SS` in UTC; the records
    before it are not sent again."""
    api = api_class("pipeline_crm")(records=60)
    state = {
        "bookmarks": {
            "deals": {"replication_key": "update_time", "replication_key_value": bookmark}
        }
    }
    with SandboxServer(api) as server:
        result = sync(tap_class("pipeline_crm"), serial_config(server), state, ["deals"])
        sent = {r.query["since_timestamp"] for r in server.requests_to("/v1/recents")}
    assert sent == {"2024-03-01 12:00:00"}
    expected = sorted(
        d["update_time"] for d in api.tables["deals"] if d["update_time"] >= "2024-03-01 12:00:00"
    )
    assert (
        sorted(r["update_time"].replace("T", " ")[:-1] for r in result.records("deals")) == expected
    )
    if expected:
        assert (
            result.state["bookmarks"]["deals"]["replication_key_value"]
            == expected[-1].replace(" ", "T") + "Z"
        )


@pytest.mark.parametrize("form", ["unix", "rfc3339"])
def test_a_bookmark_goes_to_the_api_as_unix_seconds(form: str) -> None:
    """A sorted stream's bookmark, as an earlier version wrote it (Unix seconds) or as
    this one does: the API gets Unix seconds, the new state holds RFC 3339."""
    api = api_class("customer_messaging")(records=40)
    stamps = sorted(r["created_at"] for r in api.tables["activity_logs"])
    middle = stamps[len(stamps) // 2]
    text = dt.datetime.fromtimestamp(middle, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    value = middle if form == "unix" else text
    state = {
        "bookmarks": {
            "activity_logs": {"replication_key": "created_at", "replication_key_value": value}
        }
    }
    with SandboxServer(api) as server:
        result = sync(
            tap_class("customer_messaging"), serial_config(server), state, ["activity_logs"]
        )
        sent = {r.query["created_at_after"] for r in server.requests_to("/v1/admins/activity_logs")}
    assert sent == {str(middle)}
    emitted = [unix(r["created_at"]) for r in result.records("activity_logs")]
    assert emitted == [s for s in stamps if s >= middle]
    last = dt.datetime.fromtimestamp(stamps[-1], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.state["bookmarks"]["activity_logs"]["replication_key_value"] == last


def test_time_format_raw_keeps_the_api_form_and_reads_any_bookmark() -> None:
    api = api_class("error_tracking")(records=40)
    stamps = sorted(i["last_occurrence_timestamp"] for i in api.tables["items"])
    rfc3339 = dt.datetime.fromtimestamp(stamps[-5], dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = {
        "bookmarks": {
            "items": {
                "replication_key": "last_occurrence_timestamp",
                "replication_key_value": rfc3339,
            }
        }
    }
    with SandboxServer(api) as server:
        config = config_for(server, time_format="raw")
        result = sync(tap_class("error_tracking"), config, state, ["items"])
    prop = result.schemas["items"]["schema"]["properties"]["last_occurrence_timestamp"]
    assert prop["type"] == ["integer"]
    assert "format" not in prop
    emitted = sorted(r["last_occurrence_timestamp"] for r in result.records("items"))
    assert emitted == stamps[-5:]
    assert result.state["bookmarks"]["items"]["replication_key_value"] == stamps[-1]


def test_time_format_is_validated() -> None:
    with pytest.raises(ConfigValidationError, match="Setting 'time_format' must be one of"):
        tap_class("error_tracking")(config={"sandbox": True, "time_format": "epoch"})
