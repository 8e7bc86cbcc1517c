"""Streams that sync at the same time keep every guarantee of a serial run.

Against sandboxes that answer with a little latency (so that streams really overlap):
the same records as `max_concurrent_requests: 1`, each stream's SCHEMA before its
records, no STATE that claims a bookmark whose records are not yet written, and a run
killed with SIGKILL at an arbitrary moment that, resumed from the last STATE it wrote,
loses nothing.
"""

from __future__ import annotations

import itertools
import json
import typing as t
from collections import defaultdict

import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.support import (
    SyncResult,
    api_class,
    available_taps,
    config_for,
    declared_catalog,
    run_until_killed,
    serial_config,
    sync,
    tap_class,
)

LATENCY_MS = 5


def records_by_stream(result: SyncResult) -> dict[str, list[str]]:
    """Stream → its records, each as canonical JSON, sorted."""
    return {
        stream: sorted(json.dumps(r, sort_keys=True) for r in records)
        for stream, records in result.by_stream().items()
    }


def switches(result: SyncResult) -> int:
    """How often the stream of consecutive RECORD messages changes."""
    streams = [m["stream"] for m in result.messages if m["type"] == "RECORD"]
    return sum(a != b for a, b in itertools.pairwise(streams))


def replication_keys(package: str) -> dict[str, str]:
    """Incremental stream → its replication key."""
    streams = tap_class(package).stream_types
    return {s.name: s.replication_key for s in streams if isinstance(s.replication_key, str)}


def bookmarks(state: dict, keys: dict[str, str]) -> t.Iterator[tuple[str, dict, t.Any]]:
    """(stream, partition context, bookmark value) of every bookmark in `state`
    (progress markers of a stream still syncing are no bookmark)."""
    for stream, entry in state.get("bookmarks", {}).items():
        if stream not in keys:
            continue
        for part in [entry, *entry.get("partitions", [])]:
            if "replication_key_value" in part:
                yield stream, part.get("context", {}), part["replication_key_value"]


@pytest.mark.parametrize("package", available_taps())
def test_a_concurrent_run_sends_what_a_serial_run_sends(package: str) -> None:
    tap_cls = tap_class(package)
    with SandboxServer(api_class(package)(), latency_ms=LATENCY_MS) as server:
        serial = sync(tap_cls, serial_config(server))
        concurrent = sync(tap_cls, config_for(server, max_concurrent_requests=8))
    assert records_by_stream(concurrent) == records_by_stream(serial)
    assert concurrent.state == serial.state
    assert switches(concurrent) > switches(serial), "the streams did not overlap"
    announced: set[str] = set()
    for message in concurrent.messages:
        if message["type"] == "SCHEMA":
            announced.add(message["stream"])
        elif message["type"] == "RECORD":
            assert message["stream"] in announced, f"a {message['stream']} RECORD before SCHEMA"


@pytest.mark.parametrize("package", [p for p in available_taps() if replication_keys(p)])
def test_no_state_claims_a_record_not_yet_written(package: str) -> None:
    """At every STATE, each record at or below a bookmark (strictly below: those on it
    come again) was written before it."""
    keys = replication_keys(package)
    with SandboxServer(api_class(package)(), latency_ms=LATENCY_MS) as server:
        result = sync(tap_class(package), config_for(server, max_concurrent_requests=8))
    written: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for i, message in enumerate(result.messages):
        if message["type"] == "RECORD" and message["stream"] in keys:
            written[message["stream"]].append((i, message["record"]))
    checked = 0
    for i, message in enumerate(result.messages):
        if message["type"] != "STATE":
            continue
        for stream, context, value in bookmarks(message["value"], keys):
            key = keys[stream]
            for position, record in written[stream]:
                in_partition = all(record.get(k) == v for k, v in context.items())
                if in_partition and record.get(key) is not None and record[key] < value:
                    assert position < i, f"STATE {i} claims a {stream} record written at {position}"
                    checked += 1
    assert checked, "no bookmark covered any record: the test checked nothing"


@pytest.mark.parametrize("package", ["pipeline_crm", "customer_messaging"])
def test_a_run_killed_mid_sync_resumes_from_its_last_state_without_loss(package: str) -> None:
    tap_cls = tap_class(package)
    keys = replication_keys(package)
    with SandboxServer(api_class(package)(), latency_ms=20) as server:
        config = config_for(server, max_concurrent_requests=4)
        catalog = declared_catalog(tap_cls, config)
        everything = sync(tap_cls, config)
        states = itertools.count(1)
        killed, in_time = run_until_killed(
            tap_cls.name,
            config,
            lambda line: line.startswith(b'{"type":"STATE"') and next(states) == 4,
            catalog,
        )
        assert in_time, "the run ended before the kill"
        last = killed.states[-1]
        assert any(bookmarks(last, keys)), "the kill came before any bookmark"
        resumed = sync(tap_cls, config, state=last)
    for stream, records in everything.by_stream().items():
        primary = everything.schemas[stream]["key_properties"]
        seen = {json.dumps([r.get(k) for k in primary]) for r in killed.records(stream)}
        seen |= {json.dumps([r.get(k) for k in primary]) for r in resumed.records(stream)}
        expected = {json.dumps([r.get(k) for k in primary]) for r in records}
        assert expected <= seen, f"{stream}: {len(expected - seen)} records lost"
