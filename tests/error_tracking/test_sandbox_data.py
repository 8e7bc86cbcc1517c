"""The error-tracking sandbox answers like the real API, read over raw HTTP.

Record shapes (nested payloads, numeric codes, mixed epoch units), fields beyond the
declared schemas, `replace` with the vendor's own example records, and drift mode.
These tests read the sandbox directly, not through the tap.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import requests

from rest_taps.common import times
from rest_taps.common.sandbox import SandboxServer
from rest_taps.error_tracking.sandbox import LEVELS, ErrorTrackingAPI
from rest_taps.error_tracking.tap import TapErrorTracking
from tests.fidelity import normalized
from tests.support import ROOT, config_for, sync, vendor_examples

SCHEMA_DIR = ROOT / "rest_taps" / "error_tracking" / "schemas"
STREAMS = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
PATHS = {
    "items": "/v1/items",
    "occurrences": "/v1/occurrences",
    "items_metrics": "/v1/metrics/items",
    "deploys": "/v1/deploys",
    "environments": "/v1/environments",
    "rql_jobs": "/v1/rql/jobs",
    "top_active_items": "/v1/reports/top_active_items",
    "projects": "/v1/projects",
    "teams": "/v1/teams",
    "users": "/v1/users",
}
CONTAINERS = {
    "items": "items",
    "occurrences": "instances",
    "items_metrics": "metrics",
    "deploys": "deploys",
    "environments": "environments",
    "rql_jobs": "jobs",
    "users": "users",
}


#: Properties whose values of another type than declared are served on purpose (an
#: empty string where an object is documented): the tap keeps them in a variant column.
OTHER_TYPED = {"items": ("integrations_data",)}


def schema(stream: str) -> dict:
    """The declared schema in the API's own form (times as the API sends them)."""
    node = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())
    times.restore_raw(node)
    return node


def fits(stream: str, record: dict) -> None:
    """`record` fits the declared schema, but for its purposely other-typed values."""
    skip = OTHER_TYPED.get(stream, ())
    node = schema(stream)
    jsonschema.Draft7Validator(node).validate({k: v for k, v in record.items() if k not in skip})


def declared(value: object, node: dict) -> object:
    """`value` with only the properties the schema declares (free-form objects whole)."""
    if isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        return {k: declared(v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [declared(v, node["items"]) for v in value]
    return value


def undeclared(value: object, node: dict, path: str = "") -> set[str]:
    """Paths of the keys in `value` that the schema does not declare."""
    found: set[str] = set()
    if isinstance(value, dict) and "properties" in node:
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            if k in node["properties"]:
                found |= undeclared(v, node["properties"][k], sub)
            else:
                found.add(sub)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for v in value:
            found |= undeclared(v, node["items"], f"{path}[]")
    return found


def fetch_all(server: SandboxServer, stream: str) -> list[dict]:
    """Every record of `stream` as a client reads it (all pages)."""
    path = PATHS[stream]
    url, headers = server.url + path, {"api_key": server.api.credentials["api_key"]}
    if stream == "items_metrics":
        body = {"start_time": 0, "end_time": 2**40}
        return requests.post(url, json=body, headers=headers, timeout=10).json()["result"][
            "metrics"
        ]
    paged = ErrorTrackingAPI.paged.get(path)
    if paged is None:
        result = requests.get(url, headers=headers, timeout=10).json()["result"]
        if stream == "top_active_items":
            return [element["item"] for element in result]
        return result[CONTAINERS[stream]] if stream in CONTAINERS else result
    rows: list[dict] = []
    for page in range(1, 10_000):
        params = {"page": page}
        result = requests.get(url, params=params, headers=headers, timeout=10).json()["result"]
        rows += result[CONTAINERS[stream]]
        if len(result[CONTAINERS[stream]]) < paged[3]:
            break
    return rows


@pytest.fixture(scope="module")
def server():
    with SandboxServer(ErrorTrackingAPI(records=60)) as srv:
        yield srv


@pytest.mark.parametrize("stream", STREAMS)
def test_served_records_fit_the_declared_schema(server: SandboxServer, stream: str) -> None:
    rows = fetch_all(server, stream)
    assert len(rows) == server.api.expected_counts()[stream] > 0
    for row in rows:
        fits(stream, row)


def test_records_have_the_real_shapes(server: SandboxServer) -> None:
    item = fetch_all(server, "items")[0]
    assert isinstance(item["level"], str)
    assert item["id"] > 100_000_000, "item ids are large integers"
    assert {"first_occurrence_id", "last_activated_timestamp", "level_lock"} <= set(item)
    top = fetch_all(server, "top_active_items")
    assert all(isinstance(r["level"], int) and isinstance(r["framework"], int) for r in top)
    assert [r["level"] for r in top] == sorted((r["level"] for r in top), reverse=True)

    occurrences = fetch_all(server, "occurrences")
    for o in occurrences:
        data = o["data"]
        assert data["metadata"]["timestamp_ms"] // 1000 == o["timestamp"], "milliseconds"
        assert o["timestamp"] - 3 < data["timestamp"] <= o["timestamp"], "client's seconds"
        assert data["level"] in LEVELS
    bodies = {next(iter(o["data"]["body"])) for o in occurrences}
    assert bodies == {"trace", "trace_chain", "message", "crash_report"}
    trace = next(o["data"]["body"]["trace"] for o in occurrences if "trace" in o["data"]["body"])
    assert all(isinstance(frame["lineno"], int) for frame in trace["frames"])
    person_ids = [o["data"]["person"]["id"] for o in occurrences]
    assert {type(pid) for pid in person_ids} == {str, int}, "numeric strings and numbers"
    assert all(pid.isdigit() for pid in person_ids if isinstance(pid, str))

    users = fetch_all(server, "users")
    assert {u["email_enabled"] for u in users} == {0, 1}
    assert {e["visible"] for e in fetch_all(server, "environments")} <= {0, 1}
    assert any(p["name"] is None for p in fetch_all(server, "projects")), "a deleted project"
    jobs = fetch_all(server, "rql_jobs")
    assert [j["id"] for j in jobs] == sorted((j["id"] for j in jobs), reverse=True)
    assert any(d["finish_time"] is None for d in fetch_all(server, "deploys"))


def test_some_fields_go_beyond_the_declared_schema(server: SandboxServer) -> None:
    """Keys the schema leaves to runtime evolution: nested, deterministic, a few."""
    extra: set[str] = set()
    for stream in STREAMS:
        for row in fetch_all(server, stream):
            extra |= {f"{stream}.{p}" for p in undeclared(row, schema(stream))}
    assert extra == {
        "occurrences.data.server.pid",
        "occurrences.data.server.argv",
        "occurrences.data.client.runtime_ms",
        "occurrences.data.client.javascript.language",
        "occurrences.data.client.javascript.cookie_enabled",
        "occurrences.data.client.javascript.screen",
        "occurrences.data.body.message.route",
        "occurrences.data.body.message.time_elapsed",
        "occurrences.data.body.telemetry[].body.subtype",
        "occurrences.data.body.telemetry[].body.method",
        "occurrences.data.body.telemetry[].body.url",
        "occurrences.data.body.telemetry[].body.status_code",
    }
    again = ErrorTrackingAPI(records=60)
    assert again.tables == server.api.tables, "deterministic"


def test_the_tap_keeps_every_declared_value() -> None:
    """Whatever the tap does with undeclared keys, every declared value arrives as sent
    (with `time_format: raw`, times too)."""
    with SandboxServer(ErrorTrackingAPI(records=40)) as srv:
        result = sync(TapErrorTracking, config_for(srv, time_format="raw"))
        for stream in STREAMS:
            node = schema(stream)
            keys = result.schemas[stream]["key_properties"]
            sent = {
                tuple(r[k] for k in keys): declared(normalized(r), node)
                for r in fetch_all(srv, stream)
            }
            got = {
                tuple(r[k] for k in keys): declared(normalized(r), node)
                for r in result.records(stream)
            }
            assert got == sent, stream


def test_new_activity_updates_the_derived_tables() -> None:
    api = ErrorTrackingAPI(records=30)
    item = api.tables["items"][0]
    before = (item["total_occurrences"], len(api.tables["items_metrics"]))
    api.new_activity(items=1, occurrences=3, deploys=1)
    assert item["total_occurrences"] == before[0] + 3
    assert item["last_occurrence_timestamp"] == api.clock - 1 - 11
    assert item["last_occurrence_id"] == api.tables["occurrences"][-1]["id"]
    assert sum(m["occurrences"] for m in api.tables["items_metrics"]) == len(
        api.tables["occurrences"]
    )
    assert len(api.tables["items_metrics"]) > before[1]
    top = api.tables["top_active_items"]
    assert item["id"] in {r["id"] for r in top}
    order = [(-r["level"], -r["occurrences"]) for r in top]
    assert order == sorted(order), "critical first, then the most occurrences"


# -- replace ---------------------------------------------------------------------------


#: Stream → the vendor's own example records of it; {} if none.
EXAMPLES = vendor_examples("error_tracking")


@pytest.mark.parametrize("stream", sorted(EXAMPLES))
def test_replace_serves_vendor_examples_verbatim(stream: str) -> None:
    records = EXAMPLES[stream]
    api = ErrorTrackingAPI(records=30)
    api.replace(stream, records)
    assert api.expected_counts()[stream] == len(records)
    with SandboxServer(api) as srv:
        served = fetch_all(srv, stream)
    for record in served:
        fits(stream, record)  # the vendor's values fit the declared types
    key = PATHS[stream] in ErrorTrackingAPI.paged and ErrorTrackingAPI.paged[PATHS[stream]][2]
    if key:  # newest first
        assert sorted(map(json.dumps, served)) == sorted(map(json.dumps, records))
    else:
        assert served == records


@pytest.mark.parametrize("stream", STREAMS)
def test_replace_serves_records_missing_every_field(stream: str) -> None:
    """Records without ids, timestamps or anything else are served, not a crash."""
    records = [{}, {"note": "no id"}, {"id": "x-1", "timestamp": "soon"}]
    api = ErrorTrackingAPI(records=30)
    api.replace(stream, records)
    assert api.expected_counts()[stream] == 3
    with SandboxServer(api) as srv:
        served = fetch_all(srv, stream)
    assert sorted(map(json.dumps, served)) == sorted(map(json.dumps, records))


def test_replace_then_sync_reads_exactly_the_replaced_records() -> None:
    api = ErrorTrackingAPI(records=30)
    records = [dict(r, id=9_000 + i) for i, r in enumerate(api.tables["deploys"][:3])]
    api.replace("deploys", records)
    with SandboxServer(api) as srv:
        result = sync(TapErrorTracking, config_for(srv), streams=["deploys"])
    assert sorted(r["id"] for r in result.records("deploys")) == [9_000, 9_001, 9_002]


# -- drift -----------------------------------------------------------------------------


def test_drift_mode_keeps_keys_and_replication_keys() -> None:
    plain = ErrorTrackingAPI(records=30)
    with SandboxServer(ErrorTrackingAPI(records=30, drift=True)) as srv:
        drifted = 0
        for stream in STREAMS:
            rows, original = fetch_all(srv, stream), plain.tables[stream]
            stable = ["id", *ErrorTrackingAPI.stable_fields.get(stream, ())]
            kept = sorted(json.dumps([r.get(k) for k in stable]) for r in rows)
            assert kept == sorted(json.dumps([r.get(k) for k in stable]) for r in original)
            drifted += sorted(map(json.dumps, rows)) != sorted(map(json.dumps, original))
        assert drifted >= 5, "drift alters values in most streams"
        srv.api.new_activity(items=3, occurrences=2, deploys=1)  # still works on drifted data
        assert len(fetch_all(srv, "occurrences")) == srv.api.expected_counts()["occurrences"]
