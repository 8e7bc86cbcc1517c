"""tap-error-tracking against its sandbox: paging, incremental early stop, metrics window."""

from __future__ import annotations

import time

import pytest

from rest_taps.common.sandbox import SandboxServer
from rest_taps.error_tracking.sandbox import ErrorTrackingAPI
from rest_taps.error_tracking.tap import TapErrorTracking
from tests.support import serial_config, sync, unix

INCREMENTAL = ("items", "occurrences", "deploys")


@pytest.fixture
def server():
    with SandboxServer(ErrorTrackingAPI(records=250)) as srv:
        yield srv


def pages(server: SandboxServer, path: str) -> list[int]:
    return [int(r.query["page"]) for r in server.requests_to(path) if "page" in r.query]


def test_page_numbers_and_short_page_stop(server: SandboxServer) -> None:
    result = sync(TapErrorTracking, serial_config(server))
    # 250 items at 100 a page: pages 1-3, the third short.
    assert pages(server, "/v1/items") == [1, 2, 3]
    # 500 occurrences at 20 a page: 25 full pages, then an empty 26th ends paging.
    assert pages(server, "/v1/occurrences") == list(range(1, 27))
    # 25 environments: a full page and a short one.
    assert pages(server, "/v1/environments") == [1, 2]
    assert pages(server, "/v1/users") == [], "unpaginated endpoints get no page parameter"
    assert len(server.requests_to("/v1/users")) == 1
    assert all(r.headers["api_key"] == server.api.credentials["api_key"] for r in server.requests)
    assert result.counts["occurrences"] == 500


def test_records_come_from_the_documented_containers(server: SandboxServer) -> None:
    result = sync(TapErrorTracking, serial_config(server), streams=["top_active_items", "users"])
    top = result.records("top_active_items")
    assert [r["id"] for r in top] == [e["item"]["id"] for e in server.api.top_active()]
    assert {"counts"}.isdisjoint(top[0]), "the record is the element's item, not the element"
    assert len(result.records("users")) == len(server.api.tables["users"])


def test_second_run_sends_only_new_records_and_stops_early(server: SandboxServer) -> None:
    config = serial_config(server)
    first = sync(TapErrorTracking, config, streams=INCREMENTAL)
    bookmarks = {s: unix(first.state["bookmarks"][s]["replication_key_value"]) for s in INCREMENTAL}
    assert bookmarks["items"] == max(
        i["last_occurrence_timestamp"] for i in server.api.tables["items"]
    )
    first_requests = {s: len(server.requests) for s in INCREMENTAL}
    server.requests.clear()

    server.api.new_activity(items=4, occurrences=3, deploys=2)
    second = sync(TapErrorTracking, config, state=first.state, streams=INCREMENTAL)

    # New occurrences and deploys, plus records sitting exactly on the bookmark
    # (at-least-once); nothing older.
    new_occurrences = [
        o for o in server.api.tables["occurrences"] if o["timestamp"] >= bookmarks["occurrences"]
    ]
    assert {r["id"] for r in second.records("occurrences")} == {o["id"] for o in new_occurrences}
    assert len(second.records("occurrences")) == 12 + 1
    touched = {i["id"] for i in server.api.tables["items"][:4]}
    assert touched <= {r["id"] for r in second.records("items")}
    assert len(second.records("items")) <= 5
    assert len(second.records("deploys")) <= 3
    assert all(unix(r["start_time"]) >= bookmarks["deploys"] for r in second.records("deploys"))
    # One page each: the first page already reaches below the bookmark.
    assert pages(server, "/v1/items") == [1]
    assert pages(server, "/v1/occurrences") == [1]
    assert pages(server, "/v1/deploys") == [1]
    assert sum(first_requests.values()) > 3 * len(server.requests)
    for stream in INCREMENTAL:
        new_value = unix(second.state["bookmarks"][stream]["replication_key_value"])
        assert new_value > bookmarks[stream], stream


def test_start_date_filters_the_first_run(server: SandboxServer) -> None:
    cutoff = sorted(o["timestamp"] for o in server.api.tables["occurrences"])[-30]
    start_date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(cutoff))
    result = sync(
        TapErrorTracking, serial_config(server, start_date=start_date), streams=["occurrences"]
    )
    assert len(result.records("occurrences")) == 30
    assert pages(server, "/v1/occurrences") == [1, 2]


def test_items_metrics_posts_the_window(server: SandboxServer) -> None:
    config = serial_config(
        server, start_date="2024-02-01T00:00:00Z", end_date="2024-03-01T00:00:00Z"
    )
    result = sync(TapErrorTracking, config, streams=["items_metrics"])
    (request,) = server.requests_to("/v1/metrics/items", "POST")
    assert request.body == {"start_time": 1706745600, "end_time": 1709251200}
    expected = server.api.metrics(1706745600, 1709251200)
    assert len(result.records("items_metrics")) == len(expected) > 0

    server.requests.clear()
    again = sync(
        TapErrorTracking, serial_config(server), state=result.state, streams=["items_metrics"]
    )
    (request,) = server.requests_to("/v1/metrics/items", "POST")
    bookmark = unix(result.state["bookmarks"]["items_metrics"]["replication_key_value"])
    assert request.body["start_time"] == bookmark
    assert abs(request.body["end_time"] - time.time()) < 60, "no end_date: up to now"
    timestamps = [unix(r["timestamp"]) for r in again.records("items_metrics")]
    assert min(timestamps) == bookmark, "the bookmark's bucket is read again (inclusive)"
    assert len(timestamps) == len(server.api.metrics(bookmark, request.body["end_time"]))
