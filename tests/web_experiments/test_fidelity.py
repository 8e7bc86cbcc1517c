"""Data fidelity of tap-web-experiments: declared schemas, the sandbox's vendor-shaped
records (read over raw HTTP, as any client would), fields beyond the schemas, `replace`
and drift mode.

The tap's schema evolution is not exercised here: only what the sandbox serves, and
record counts of the tap (which hold whether or not undeclared fields are kept).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from collections.abc import Iterator

import jsonschema
import pytest
import requests

from rest_taps.common import times
from rest_taps.common.sandbox import SandboxServer
from rest_taps.web_experiments.sandbox import API
from rest_taps.web_experiments.streams import STREAMS
from rest_taps.web_experiments.tap import TapWebExperiments
from tests.support import ROOT, config_for, sync

SCHEMAS = ROOT / "rest_taps" / "web_experiments" / "schemas"
PATHS = {stream.name: stream.path for stream in STREAMS}
#: Stream → its primary key fields and replication key (fields that never drift).
KEYS = {
    name: (*stream.primary_keys, *filter(None, [stream.replication_key]))
    for name, stream in TapWebExperiments(config={"sandbox": True}).streams.items()
}
#: Epoch seconds of the sandbox's times lie in this range (milliseconds would not).
SECONDS = (dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp(), 2_000_000_000)


def schema_of(stream: str) -> dict:
    """The declared schema in the API's own form (times as the API sends them)."""
    node = json.loads((SCHEMAS / f"{stream}.json").read_text())
    times.restore_raw(node)
    return node


#: The streams of the account's own settings: one object each, served without a uid.
ACCOUNT_SETTINGS = ("smartcode", "thresholds", "integrations")


def fetch_all(server: SandboxServer, path: str) -> list[dict]:
    """Every record of a collection, page by page, over HTTP."""
    records: list[dict] = []
    while True:
        response = requests.get(
            server.url + path,
            params={"limit": 50, "offset": len(records)},
            headers=server.api.credentials,
            timeout=10,
        )
        response.raise_for_status()
        page = response.json()["_data"]
        if isinstance(page, dict):  # an account settings resource: one object
            return [page]
        records += page
        if len(page) < 50:
            return records


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, list[dict]]]:
    """Stream → the records the default sandbox serves."""
    with SandboxServer(API()) as server:
        yield {stream: fetch_all(server, path) for stream, path in PATHS.items()}


def walk(schema: dict, path: str = "") -> Iterator[tuple[str, dict]]:
    """(path, schema) of every property, nested objects and array items included."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}{name}", prop
        yield from walk(prop, f"{path}{name}.")
        items = prop.get("items")
        if isinstance(items, dict):
            yield f"{path}{name}[]", items
            yield from walk(items, f"{path}{name}[].")


def undeclared(record: t.Any, schema: dict, path: str = "") -> set[str]:
    """Paths of the values in `record` that `schema` does not declare."""
    found: set[str] = set()
    if isinstance(record, list):
        items = schema.get("items", {})
        for item in record:
            found |= undeclared(item, items, f"{path}[]")
    elif isinstance(record, dict) and "properties" in schema:
        for name, value in record.items():
            if name in schema["properties"]:
                found |= undeclared(value, schema["properties"][name], f"{path}.{name}")
            else:
                found.add(f"{path}.{name}".lstrip("."))
    return found


# -- declared schemas --------------------------------------------------------------------


@pytest.mark.parametrize("stream", sorted(PATHS))
def test_schema_is_valid_typed_and_open(stream: str) -> None:
    schema = schema_of(stream)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema.get("additionalProperties", True) is not False
    for path, prop in walk(schema):
        assert prop.get("type"), f"{stream}.{path} has no type"
        assert prop.get("additionalProperties", True) is not False, f"{stream}.{path}"
        assert prop.get("format") in (None, "date-time", "date"), f"{stream}.{path}"
        if "array" in prop["type"]:
            assert isinstance(prop.get("items"), dict), f"{stream}.{path} has no items"
            assert prop["items"].get("type"), f"{stream}.{path}[] has no type"


@pytest.mark.parametrize("stream", sorted(PATHS))
def test_keys_and_replication_key_are_required_and_never_null(stream: str) -> None:
    schema = schema_of(stream)
    for key in KEYS[stream]:
        assert "null" not in schema["properties"][key]["type"], f"{stream}.{key}"
        assert key in schema["required"], f"{stream}.{key}"
    required = set(schema["required"])
    for name, prop in schema["properties"].items():
        if name not in required:
            assert "null" in prop["type"], f"{stream}.{name} should be nullable"


# -- what the sandbox serves -------------------------------------------------------------


def test_every_served_record_fits_its_declared_schema(served: dict[str, list[dict]]) -> None:
    for stream, records in served.items():
        validator = jsonschema.Draft7Validator(schema_of(stream))
        assert records, stream
        for record in records:
            if stream in ACCOUNT_SETTINGS:  # served without the uid the tap adds
                record = {"uid": "made-by-the-tap", **record}  # noqa: PLW2901
            validator.validate(record)


def test_served_records_have_the_real_shapes(served: dict[str, list[dict]]) -> None:
    labels = {label["id"]: label["name"] for label in served["labels"]}
    users = {user["id"] for user in served["users"]}
    campaigns = served["campaigns"]
    for campaign in campaigns:
        assert set(campaign["createdBy"]) == {"id", "name", "imageUrl"}
        assert campaign["createdBy"]["id"] in users
        assert all(labels[label["id"]] == label["name"] for label in campaign["labels"])
        for collection in ("goals", "variations"):
            items = campaign[collection]["partialCollection"]
            assert campaign[collection]["totalCount"] == len(items)
        goals = campaign["goals"]["partialCollection"]
        assert campaign["primaryGoal"] == (goals[0]["id"] if goals else None)
        assert campaign["urls"] == [{"type": "url", "value": campaign["primaryUrl"]}]
    tests = [c for c in campaigns if c["stats"] is not None]
    assert tests
    assert any(c["variations"]["totalCount"] == 3 for c in tests), "multivariate tests"
    assert any(len(c["labels"]) == 2 for c in campaigns)
    # Rates of the statistics settings are numeric strings, as the real API sends them.
    for campaign in tests:
        for rate in ("expectedConversionRate", "expectedImprovementRate", "thresholdOfCaring"):
            value = campaign["stats"][rate]
            assert isinstance(value, str)
            float(value)
    # Activity feed ids are 24 hex digits; its entries embed a user and a campaign.
    for feed in served["accounts_feeds"]:
        assert re.fullmatch(r"[0-9a-f]{24}", feed["id"])
        assert feed["who"]["id"] in users
    # The account settings resources are one object each, without the uid that keys them
    # (the tap makes it).
    for stream in ACCOUNT_SETTINGS:
        (record,) = served[stream]
        assert "uid" not in record
    assert served["smartcode"][0]["async"].startswith("<script")


def test_every_time_is_integer_epoch_seconds(served: dict[str, list[dict]]) -> None:
    times = {
        "accounts": ["createdOn"],
        "accounts_feeds": ["when"],
        "users": ["createdOn", "lastLogin"],
        "campaigns": ["createdOn"],
        "custom_widgets": ["createdAt", "updatedAt"],
    }
    for stream, fields in times.items():
        for record in served[stream]:
            for field in fields:
                value = record[field]
                if value is not None:
                    assert isinstance(value, int), f"{stream}.{field}"
                    assert SECONDS[0] <= value < SECONDS[1], f"{stream}.{field}: {value}"


def test_some_served_fields_are_beyond_the_declared_schemas(
    served: dict[str, list[dict]],
) -> None:
    """Only schema evolution keeps these: the tap must not rely on declared fields alone."""
    extra = {
        stream: set().union(*(undeclared(r, schema_of(stream)) for r in records))
        for stream, records in served.items()
    }
    assert extra["campaigns"] == {"variations.partialCollection[].editorData"}
    assert extra["integrations"] == {
        "analytics",
        "analyticsNext",
        "tagManager",
        "sessionReplay",
        "isAnalyticsPremium",
    }
    assert not any(extra[s] for s in extra.keys() - {"campaigns", "integrations"})


def test_the_sandbox_is_deterministic() -> None:
    assert API(records=60).tables == API(records=60).tables
    assert API(records=60, seed=1).tables != API(records=60).tables


# -- replace --------------------------------------------------------------------------------


def odd_records(copies: int) -> list[dict]:
    """Records nobody here wrote: missing keys and times, other types, unknown fields."""
    return [
        record
        for _ in range(copies)
        for record in (
            {"id": 1, "uid": "a", "createdOn": 1_700_000_000, "extra": {"nested": [1, "two"]}},
            {"name": "no key, no time"},
            {"id": "x-2", "uid": 3, "createdOn": "2024-01-01T00:00:00Z"},
            {"id": None, "uid": None, "createdOn": None},
            {},
        )
    ]


@pytest.mark.parametrize("stream", sorted(PATHS))
def test_replace_serves_any_records_and_pages_over_them(stream: str) -> None:
    api = API(records=10)
    records = odd_records(24)  # 120 records: pages of 50, 50 and 20
    api.replace(stream, records)
    assert api.expected_counts()[stream] == 120
    records[0]["extra"] = "changed after replace"
    assert api.tables[stream][0]["extra"] == {"nested": [1, "two"]}, "replace keeps copies"
    with SandboxServer(api) as server:
        got = fetch_all(server, PATHS[stream])
        assert [int(r.query["offset"]) for r in server.requests] == [0, 50, 100]
    assert sorted(map(repr, got)) == sorted(map(repr, odd_records(24)))


def test_new_campaigns_after_replace_get_fresh_ids() -> None:
    api = API(records=10)
    api.replace("campaigns", [{"id": 41, "createdOn": 1}, {"name": "no id"}])
    (new,) = api.new_campaigns(1)
    assert new["id"] == 42
    assert api.expected_counts()["campaigns"] == 3
    assert new in api.rows("campaigns"), "the cached view was dropped"


def test_replaced_records_are_what_a_full_sync_reads() -> None:
    api = API(records=10)
    api.replace(
        "campaigns",
        [{"id": 7, "createdOn": 1_700_000_000 + i, "name": f"c{i}"} for i in range(3)]
        + [{"id": 8 + i, "createdOn": 1_700_000_000} for i in range(60)],
    )
    api.replace("accounts_feeds", [{"id": f"{i:024x}", "verb": "created"} for i in range(51)])
    api.replace("thresholds", [{"uid": "only", "visitors": 10}])
    with SandboxServer(api) as server:
        result = sync(TapWebExperiments, config_for(server))
    assert result.counts == api.expected_counts()
    assert result.counts["campaigns"] == 63
    (threshold,) = result.records("thresholds")
    assert (threshold["uid"], threshold["visitors"]) == ("only", 10)


# -- drift mode -----------------------------------------------------------------------------


def test_drift_alters_values_but_never_the_stable_fields() -> None:
    plain = API(records=60)
    with SandboxServer(API(records=60, drift=True)) as server:
        drifted = {stream: fetch_all(server, path) for stream, path in PATHS.items()}
    changed = 0
    for stream, records in drifted.items():
        expected = plain.rows(stream)
        assert len(records) == len(expected), stream
        stable = API.stable_fields[stream]
        assert set(KEYS[stream]) <= set(stable), stream
        for got, want in zip(records, expected, strict=True):
            assert {f: got.get(f) for f in stable} == {f: want.get(f) for f in stable}
            changed += got != want
    assert changed, "drift mode altered some records"


def test_the_tap_reads_every_record_of_a_drifting_api() -> None:
    api = API(records=60, drift=True)
    with SandboxServer(api) as server:
        result = sync(TapWebExperiments, config_for(server))
    assert result.counts == api.expected_counts()
