"""A stream that fails stops alone; the others finish and keep their state.

Each run is the console script with the tap's defaults (concurrent streams, read-ahead,
discovery sampling), against a sandbox that fails one endpoint for good. The healthy
streams emit every record a clean run emits and their bookmarks reach the last STATE; the
run exits 1 and ends with one line per failed stream (stream, method, path, reason).
`stream_failures: stop` keeps the old behaviour: the first failure ends the run.
"""

from __future__ import annotations

import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.support import api_class, config_for, parse_messages, run_cli

HEAD = "failed; the other streams finished and their state was written:"


def last_lines(stderr: str, count: int) -> list[str]:
    return [line.split(" | ")[-1] for line in stderr.strip().splitlines()[-count:]]


def healthy_streams_complete(stdout: str, expected: dict[str, int], failed: set[str]) -> dict:
    """Every stream but `failed` emitted all its records; the last STATE's bookmarks."""
    result = parse_messages(stdout)
    counts = result.counts
    for stream, count in expected.items():
        if stream not in failed:
            assert counts.get(stream, 0) == count, (stream, counts)
    return result.state.get("bookmarks", {})


@pytest.mark.parametrize("max_concurrent_requests", [16, 1])
def test_a_failing_stream_stops_alone(max_concurrent_requests: int) -> None:
    api = api_class("error_tracking")(records=60)
    with SandboxServer(api) as server:
        server.inject("/v1/deploys", times=-1)
        config = config_for(server, max_concurrent_requests=max_concurrent_requests)
        proc = run_cli("tap-error-tracking", config, discover=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    bookmarks = healthy_streams_complete(proc.stdout, api.expected_counts(), {"deploys"})
    for stream in ("items", "occurrences", "items_metrics"):
        assert "replication_key_value" in bookmarks[stream], bookmarks
    assert "replication_key_value" not in bookmarks.get("deploys", {})
    head, line = last_lines(proc.stderr, 2)
    assert head == f"1 stream {HEAD}"
    assert line.startswith("Stream 'deploys': GET /v1/deploys failed after 4 attempts: 500")


def test_a_failing_child_stream_stops_alone_and_its_parent_goes_on() -> None:
    api = api_class("pipeline_crm")(records=40)
    with SandboxServer(api) as server:
        server.inject("/v1/deals/*/products", times=-1)
        server.inject("/v1/mailbox/mailThreads", times=-1)
        proc = run_cli("tap-pipeline-crm", config_for(server), discover=True)
        child_requests = len(server.requests_to("/v1/deals/*/products"))
    assert proc.returncode == 1, proc.stderr[-2000:]
    failed = {"deal_products", "mailThreads", "mail"}
    bookmarks = healthy_streams_complete(proc.stdout, api.expected_counts(), failed)
    assert "replication_key_value" in bookmarks["deals"], bookmarks
    head, *lines = last_lines(proc.stderr, 3)
    assert head == f"2 streams {HEAD}"
    assert lines[0].startswith("Stream 'deal_products': GET /v1/deals/"), lines
    assert lines[1].startswith("Stream 'mailThreads': GET /v1/mailbox/mailThreads failed"), lines
    # The failed child is not read for later parents (only requests already in flight).
    assert child_requests < 4 * 40


def test_a_record_a_stream_cannot_read_stops_that_stream_alone() -> None:
    api = api_class("error_tracking")(records=30)
    api.tables["deploys"][3]["id"] = "not a number"
    with SandboxServer(api) as server:
        proc = run_cli("tap-error-tracking", config_for(server), discover=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    healthy_streams_complete(proc.stdout, api.expected_counts(), {"deploys"})
    head, line = last_lines(proc.stderr, 2)
    assert head == f"1 stream {HEAD}"
    assert line.startswith("Stream 'deploys': key property 'id' arrived as string")


def test_stream_failures_stop_ends_the_run_at_the_first_failure() -> None:
    api = api_class("error_tracking")(records=30)
    with SandboxServer(api) as server:
        server.inject("/v1/deploys", times=-1)
        config = config_for(server, stream_failures="stop")
        proc = run_cli("tap-error-tracking", config, discover=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert HEAD not in proc.stderr
    (line,) = last_lines(proc.stderr, 1)
    assert line.startswith("Stream 'deploys': GET /v1/deploys failed after 4 attempts: 500")


def test_a_rejected_credential_still_stops_every_stream() -> None:
    api = api_class("error_tracking")(records=30)
    with SandboxServer(api) as server:
        config = {**config_for(server), "api_key": "wrong"}
        proc = run_cli("tap-error-tracking", config)
    assert proc.returncode == 1
    assert HEAD not in proc.stderr
    assert parse_messages(proc.stdout).counts == {}
    assert "the credential was rejected" in last_lines(proc.stderr, 1)[0]


def test_an_unsorted_stream_that_fails_midway_keeps_its_bookmark() -> None:
    """Newest-first pages: the records of the first page are written, but the bookmark
    stays where it was, or the older records of the pages never read would be skipped."""
    api = api_class("error_tracking")(records=250)
    state = {"bookmarks": {"items": {"replication_key": "last_occurrence_timestamp"}}}
    state["bookmarks"]["items"]["replication_key_value"] = 1
    with SandboxServer(api) as server:
        server.inject("/v1/items", times=-1, skip=1)
        proc = run_cli("tap-error-tracking", config_for(server), state=state, discover=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    result = parse_messages(proc.stdout)
    assert 0 < result.counts["items"] < api.expected_counts()["items"]
    assert result.state["bookmarks"]["items"]["replication_key_value"] == 1
    assert "progress_markers" not in result.state["bookmarks"]["items"]
