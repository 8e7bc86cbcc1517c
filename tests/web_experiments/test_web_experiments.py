"""tap-web-experiments against its sandbox over real HTTP: offset paging (including a
last page that is exactly full), the `api_key` header, and `campaigns` incremental on
`createdOn` with client-side filtering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from rest_taps.common.sandbox import Request, SandboxServer
from rest_taps.web_experiments.sandbox import API, ROUTES, _scramble
from rest_taps.web_experiments.streams import STREAMS
from rest_taps.web_experiments.tap import TapWebExperiments
from tests.support import run_cli, serial_config, sync, unix

PATHS = {stream.name: stream.path for stream in STREAMS}
CAMPAIGNS = PATHS["campaigns"]


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(API(records=120)) as srv:
        yield srv


def offsets(server: SandboxServer, path: str) -> list[int]:
    return [int(r.query["offset"]) for r in server.requests_to(path)]


def expected_offsets(count: int) -> list[int]:
    """0, 50, … up to the last page; a full last page is followed by one empty page."""
    return [50 * i for i in range(count // 50 + 1)]


# -- pagination ------------------------------------------------------------------------


@pytest.mark.parametrize("records", [None, 120], ids=["default", "records=120"])
def test_every_stream_pages_by_offset_to_a_short_or_empty_page(records: int | None) -> None:
    api = API(records=records)
    with SandboxServer(api) as srv:
        result = sync(TapWebExperiments, serial_config(srv))
        expected = api.expected_counts()
        assert result.counts == expected
        for stream, path in PATHS.items():
            assert offsets(srv, path) == expected_offsets(expected[stream]), stream
            assert {r.query["limit"] for r in srv.requests_to(path)} == {"50"}, stream


@pytest.mark.parametrize("records", [None, 120], ids=["default", "records=120"])
def test_exactly_full_last_page_loses_and_repeats_nothing(records: int | None) -> None:
    """custom_widgets and labels are exact multiples of 50 at every volume, campaigns at
    the default: the tap asks for one more page, gets `[]`, and stops."""
    api = API(records=records)
    full = [s for s, n in api.expected_counts().items() if n % 50 == 0]
    assert {"custom_widgets", "labels"} <= set(full)
    if records is None:
        assert {"campaigns", "accounts_feeds"} <= set(full)
    with SandboxServer(api) as srv:
        result = sync(TapWebExperiments, serial_config(srv), streams=full)
        for stream in full:
            path = PATHS[stream]
            (key,) = result.schemas[stream]["key_properties"]
            emitted = [r[key] for r in result.records(stream)]
            served = [row[key] for row in _served(api, path)]
            assert emitted == served, f"{stream}: every record once, in the server's order"
            assert offsets(srv, path) == list(range(0, len(served) + 1, 50))
            # The last request is the one empty page just past the data.
            assert offsets(srv, path)[-1] == len(served)
        assert {r.path for r in srv.requests} == {PATHS[s] for s in full}


def _served(api: API, path: str) -> list[dict]:
    return api.rows(ROUTES[path])


def test_short_last_page_ends_paging_without_an_extra_request(server: SandboxServer) -> None:
    sync(TapWebExperiments, serial_config(server), streams=["campaigns", "users"])
    assert offsets(server, CAMPAIGNS) == [0, 50, 100]  # 120 campaigns: 50 + 50 + 20
    assert offsets(server, PATHS["users"]) == [0]  # 19 users: one short page


def test_null_data_is_an_empty_page(server: SandboxServer) -> None:
    server.inject(PATHS["labels"], kind="body", body={"_data": None})
    result = sync(TapWebExperiments, serial_config(server), streams=["labels"])
    assert result.counts == {}
    assert offsets(server, PATHS["labels"]) == [0]


def test_missing_data_container_fails_naming_stream_and_path(server: SandboxServer) -> None:
    server.inject(PATHS["labels"], kind="body", body={"data": []})
    config = serial_config(server)
    proc = run_cli(TapWebExperiments.name, config)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "Stream 'labels'" in last
    assert "GET /v1/accounts/current/labels" in last
    assert "$._data[*]" in last
    assert '"type":"RECORD","stream":"labels"' not in proc.stdout.replace(" ", "")


# -- requests --------------------------------------------------------------------------


def test_api_key_header_on_every_request_and_nowhere_else(server: SandboxServer) -> None:
    key = API.credentials["api_key"]
    sync(TapWebExperiments, serial_config(server))
    counts = server.api.expected_counts()
    assert len(server.requests) == sum(len(expected_offsets(n)) for n in counts.values())
    assert {r.path for r in server.requests} == set(PATHS.values())
    for request in server.requests:
        assert request.method == "GET"
        assert request.headers["api_key"] == key
        assert set(request.query) == {"limit", "offset"}, "no credential in the query string"
        assert key not in request.path


def test_offset_params_are_limit_and_offset(server: SandboxServer) -> None:
    sync(TapWebExperiments, serial_config(server), streams=["campaigns"])
    requests = server.requests_to(CAMPAIGNS)
    assert [r.query for r in requests] == [
        {"limit": "50", "offset": "0"},
        {"limit": "50", "offset": "50"},
        {"limit": "50", "offset": "100"},
    ]


def test_sandbox_rejects_bad_paging_and_bad_key(server: SandboxServer) -> None:
    api = server.api
    good = {"api_key": API.credentials["api_key"]}
    assert api.handle(Request("GET", CAMPAIGNS, {"limit": "51"}, good)).status == 400
    assert api.handle(Request("GET", CAMPAIGNS, {"offset": "-1"}, good)).status == 400
    denied = api.handle(Request("GET", CAMPAIGNS, {}, {"api_key": "nope"}))
    assert denied.status == 401
    assert denied.body["errors"][0]["message"]


# -- campaigns: incremental on createdOn, filtered client-side -----------------------------


def bookmark_of(state: dict) -> int:
    """The campaigns' bookmark, in Unix seconds (the tap writes RFC 3339)."""
    return unix(state["bookmarks"]["campaigns"]["replication_key_value"])


def test_second_run_emits_only_new_campaigns_and_reads_every_page(
    server: SandboxServer,
) -> None:
    api = server.api
    config = serial_config(server)
    first = sync(TapWebExperiments, config, streams=["campaigns"])
    assert len(first.records("campaigns")) == 120
    bookmark = bookmark_of(first.state)
    assert bookmark == max(c["createdOn"] for c in api.tables["campaigns"])
    assert isinstance(bookmark, int)

    new = api.new_campaigns(7)
    view = [c["id"] for c in api.rows("campaigns")]
    assert sorted(view.index(c["id"]) for c in new) != list(range(120, 127)), (
        "the server does not put new campaigns last: only reading every page finds them"
    )
    server.requests.clear()
    second = sync(TapWebExperiments, config, state=first.state, streams=["campaigns"])
    emitted = {r["id"] for r in second.records("campaigns")}
    expected = {c["id"] for c in api.tables["campaigns"] if c["createdOn"] >= bookmark}
    assert emitted == expected
    assert {c["id"] for c in new} <= emitted
    assert len(emitted) - len(new) == sum(
        c["createdOn"] == bookmark for c in api.tables["campaigns"]
    )
    assert all(unix(r["createdOn"]) >= bookmark for r in second.records("campaigns"))
    # No server-side filter: every page is read again (127 campaigns: 0, 50, 100).
    assert offsets(server, CAMPAIGNS) == [0, 50, 100]
    assert bookmark_of(second.state) == max(c["createdOn"] for c in new)


def test_run_without_changes_keeps_the_bookmark(server: SandboxServer) -> None:
    config = serial_config(server)
    first = sync(TapWebExperiments, config, streams=["campaigns"])
    again = sync(TapWebExperiments, config, state=first.state, streams=["campaigns"])
    bookmark = bookmark_of(first.state)
    # At-least-once: only the campaign(s) at the bookmark itself come again.
    assert {unix(r["createdOn"]) for r in again.records("campaigns")} == {bookmark}
    assert bookmark_of(again.state) == bookmark


def test_start_date_limits_the_first_run(server: SandboxServer) -> None:
    api = server.api
    times = sorted(c["createdOn"] for c in api.tables["campaigns"])
    start = times[len(times) // 2]
    start_date = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
    result = sync(
        TapWebExperiments,
        serial_config(server, start_date=start_date),
        streams=["campaigns", "labels"],
    )
    emitted = {r["id"] for r in result.records("campaigns")}
    assert emitted == {c["id"] for c in api.tables["campaigns"] if c["createdOn"] >= start}
    assert 0 < len(emitted) < len(api.tables["campaigns"])
    assert len(result.records("labels")) == 50, "start_date does not filter full-table streams"
    assert offsets(server, CAMPAIGNS) == [0, 50, 100]
    assert bookmark_of(result.state) == times[-1]


def test_full_table_streams_reread_everything(server: SandboxServer) -> None:
    config = serial_config(server)
    first = sync(TapWebExperiments, config)
    second = sync(TapWebExperiments, config, state=first.state)
    for stream, count in server.api.expected_counts().items():
        if stream != "campaigns":
            assert second.counts[stream] == count, stream
            assert "replication_key_value" not in second.state["bookmarks"].get(stream, {})


def test_key_types(server: SandboxServer) -> None:
    result = sync(TapWebExperiments, serial_config(server))
    for stream in ("smartcode", "thresholds", "integrations"):
        assert result.schemas[stream]["key_properties"] == ["uid"]
        assert all(isinstance(r["uid"], str) for r in result.records(stream))
    for stream in ("accounts", "users", "campaigns", "custom_widgets", "labels"):
        assert result.schemas[stream]["key_properties"] == ["id"]
        assert all(isinstance(r["id"], int) for r in result.records(stream))
    # Activity feed ids are strings in the real API; the schema also accepts integers.
    assert result.schemas["accounts_feeds"]["key_properties"] == ["id"]
    assert result.schemas["accounts_feeds"]["schema"]["properties"]["id"]["type"] == [
        "integer",
        "string",
    ]
    assert all(isinstance(r["id"], str) for r in result.records("accounts_feeds"))
    assert result.schemas["campaigns"]["bookmark_properties"] == ["createdOn"]


def test_pages_with_only_older_campaigns_do_not_end_paging() -> None:
    """On the second run the first two pages hold nothing at or after the bookmark:
    the tap pages on (a later page may hold new campaigns) and finds the new ones."""
    api = API(records=1)
    api.replace("campaigns", [{"id": i, "createdOn": 0} for i in range(1, 121)])
    for position, campaign in enumerate(api.rows("campaigns")):
        campaign["createdOn"] = 1_000 + position  # served oldest first, newest last
    with SandboxServer(api) as server:
        config = serial_config(server)
        first = sync(TapWebExperiments, config, streams=["campaigns"])
        assert bookmark_of(first.state) == 1_119
        cutoff = _scramble(api.rows("campaigns")[100]["id"])
        late = [{"id": i, "createdOn": 9_000} for i in range(121, 5_000) if _scramble(i) > cutoff]
        api.replace("campaigns", [*api.tables["campaigns"], *late[:3]])
        assert all(c["createdOn"] < 1_119 for c in api.rows("campaigns")[:100])
        server.requests.clear()
        second = sync(TapWebExperiments, config, state=first.state, streams=["campaigns"])
    assert offsets(server, CAMPAIGNS) == [0, 50, 100]
    emitted = sorted(unix(r["createdOn"]) for r in second.records("campaigns"))
    assert emitted == [1_119, 9_000, 9_000, 9_000]
    assert bookmark_of(second.state) == 9_000
