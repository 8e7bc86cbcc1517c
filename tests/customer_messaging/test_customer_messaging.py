"""tap-customer-messaging against its sandbox over real HTTP: the four paging styles, the
search bodies, ticket windows, incremental runs, children and deleted parents, the error
shape and rate-limit pacing."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
import typing as t

import pytest
import requests

from rest_taps.common.sandbox import SandboxServer
from rest_taps.customer_messaging.sandbox import PAGE_SIZES, CustomerMessagingAPI, cursor_after
from rest_taps.customer_messaging.tap import TapCustomerMessaging
from tests.support import config_for, parse_messages, run_cli, sync

DAY = 86_400
SEARCHES = {
    "contacts": "/v1/contacts/search",
    "conversations": "/v1/conversations/search",
    "tickets": "/v1/tickets/search",
}
INCREMENTAL = {**dict.fromkeys(SEARCHES, "updated_at"), "activity_logs": "created_at"}


def unix(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


def as_sent(record: dict) -> dict:
    """An emitted record with `updated_at` in Unix seconds again, as the API sent it."""
    return {**record, "updated_at": unix(record["updated_at"])}


def lower_bound(value: int) -> dict:
    return {
        "operator": "OR",
        "value": [
            {"field": "updated_at", "operator": ">", "value": value},
            {"field": "updated_at", "operator": "=", "value": value},
        ],
    }


def window_of(body: dict) -> tuple[int, int]:
    """(start, end) of a tickets search body, checking it has the documented shape."""
    query = body["query"]
    assert query["operator"] == "AND"
    low, high = query["value"]
    start = low["value"][0]["value"]
    assert low == lower_bound(start)
    assert high["field"] == "updated_at"
    assert high["operator"] == "<"
    return start, high["value"]


@pytest.fixture
def server() -> t.Iterator[SandboxServer]:
    with SandboxServer(CustomerMessagingAPI(records=120)) as srv:
        yield srv


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["contacts", "conversations"])
def test_search_body_from_start_date_then_bookmark(stream: str) -> None:
    api = CustomerMessagingAPI(records=800)
    with SandboxServer(api) as server:
        start = "2024-01-20T00:00:00+00:00"
        first = sync(TapCustomerMessaging, config_for(server, start_date=start), streams=[stream])
        records = first.records(stream)
        table = api.tables[stream]
        assert {r["id"] for r in records} == {
            r["id"] for r in table if r["updated_at"] >= unix(start)
        }
        assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)
        bodies = [r.body for r in server.requests_to(SEARCHES[stream], "POST")]
        assert len(bodies) == math.ceil(len(records) / 150) > 2
        for page, body in enumerate(bodies):
            assert body["query"] == lower_bound(unix(start))
            assert body["sort"] == {"field": "updated_at", "order": "ascending"}
            pagination = body["pagination"]
            assert pagination["per_page"] == 150
            if page == 0:
                assert "starting_after" not in pagination
            else:  # the cursor the server gave after the previous page's last record
                last = records[page * 150 - 1]
                assert pagination["starting_after"] == cursor_after(as_sent(last), "updated_at")

        bookmark = unix(first.state["bookmarks"][stream]["replication_key_value"])
        assert bookmark == unix(records[-1]["updated_at"])
        before = len(server.requests)
        second = sync(
            TapCustomerMessaging,
            config_for(server, start_date=start),
            state=first.state,
            streams=[stream],
        )
        (body,) = [r.body for r in server.requests[before:] if r.path == SEARCHES[stream]]
        assert body["query"] == lower_bound(bookmark)
        assert body["pagination"] == {"per_page": 150}
        # at-least-once: only what sits exactly on the bookmark comes again
        assert {r["id"] for r in second.records(stream)} == {
            r["id"] for r in table if r["updated_at"] == bookmark
        }


def test_tickets_walk_windows_up_to_end_date() -> None:
    api = CustomerMessagingAPI(records=600)
    with SandboxServer(api) as server:
        start, end = "2024-01-10T00:00:00+00:00", "2024-03-25T12:00:00+00:00"
        config = config_for(server, start_date=start, end_date=end)
        result = sync(TapCustomerMessaging, config, streams=["tickets"])
        bodies = [r.body for r in server.requests_to(SEARCHES["tickets"], "POST")]
        windows = sorted(window_of(b) for b in bodies)  # searched concurrently
        assert windows == [
            (unix(start), unix(start) + 30 * DAY),
            (unix(start) + 30 * DAY, unix(start) + 60 * DAY),
            (unix(start) + 60 * DAY, unix(end)),
        ]
        assert all(b["pagination"] == {"per_page": 150} for b in bodies)
        assert {r["id"] for r in result.records("tickets")} == {
            r["id"] for r in api.tables["tickets"] if unix(start) <= r["updated_at"] < unix(end)
        }


def test_tickets_pages_within_a_window_and_setting_changes_the_width() -> None:
    api = CustomerMessagingAPI(records=1000)  # 333 tickets: 3 pages in one 100-day window
    with SandboxServer(api) as server:
        start, end = "2024-01-01T00:00:00+00:00", "2024-04-10T00:00:00+00:00"
        config = config_for(server, start_date=start, end_date=end, tickets_window_days=100)
        result = sync(TapCustomerMessaging, config, streams=["tickets"])
        bodies = [r.body for r in server.requests_to(SEARCHES["tickets"], "POST")]
        assert [window_of(b) for b in bodies] == [(unix(start), unix(end))] * 3
        records = result.records("tickets")
        assert len(records) == len(api.tables["tickets"]) == 333
        assert "starting_after" not in bodies[0]["pagination"]
        for page in (1, 2):
            last = records[page * 150 - 1]
            cursor = cursor_after(as_sent(last), "updated_at")
            assert bodies[page]["pagination"] == {"per_page": 150, "starting_after": cursor}


def test_tickets_without_start_find_the_oldest_then_walk_to_now(server: SandboxServer) -> None:
    before = int(time.time())
    result = sync(TapCustomerMessaging, config_for(server), streams=["tickets"])
    after = int(time.time())
    windows = [window_of(r.body) for r in server.requests_to(SEARCHES["tickets"], "POST")]
    oldest = min(r["updated_at"] for r in server.api.tables["tickets"])
    probe, *walk = windows
    walk.sort()  # the windows are searched concurrently
    assert probe[0] == 0
    assert before <= probe[1] <= after
    assert walk[0][0] == oldest
    for (_, end), (next_start, _) in itertools.pairwise(walk):
        assert end == next_start
    assert all(0 < end - start <= 30 * DAY for start, end in walk)
    assert walk[-1][1] == probe[1]  # up to now
    assert len(result.records("tickets")) == len(server.api.tables["tickets"])


# -- next cursor, scroll, attributes -----------------------------------------------------------


def test_activity_logs_send_created_at_after_on_every_page() -> None:
    api = CustomerMessagingAPI(records=500)
    with SandboxServer(api) as server:
        start = "2024-02-01T00:00:00+00:00"
        result = sync(
            TapCustomerMessaging, config_for(server, start_date=start), streams=["activity_logs"]
        )
        wanted = [r for r in api.tables["activity_logs"] if r["created_at"] >= unix(start)]
        records = result.records("activity_logs")
        assert sorted(r["id"] for r in records) == sorted(r["id"] for r in wanted)
        assert [r["created_at"] for r in records] == sorted(r["created_at"] for r in records)
        calls = server.requests_to("/v1/admins/activity_logs")
        assert len(calls) == math.ceil(len(wanted) / PAGE_SIZES["activity_logs"]) > 2
        assert all(c.query["created_at_after"] == str(unix(start)) for c in calls)
        assert "next" not in calls[0].query
        assert all(c.query["next"] for c in calls[1:])
        assert len({c.query.get("next") for c in calls}) == len(calls)


def test_segments_follow_the_next_cursor(server: SandboxServer) -> None:
    result = sync(TapCustomerMessaging, config_for(server), streams=["segments"])
    assert len(result.records("segments")) == 12
    calls = server.requests_to("/v1/segments")
    assert len(calls) == 3  # 5 + 5 + 2, the last page has next: null
    assert [("next" in c.query) for c in calls] == [False, True, True]


def test_companies_scroll_until_an_empty_page(server: SandboxServer) -> None:
    result = sync(TapCustomerMessaging, config_for(server), streams=["companies"])
    assert len(result.records("companies")) == 30
    calls = server.requests_to("/v1/companies/scroll")
    assert len(calls) == 3  # 25, 5, then the empty page that ends the scroll
    assert "scroll_param" not in calls[0].query
    assert calls[1].query["scroll_param"] == calls[2].query["scroll_param"]


def test_data_attributes_by_model_keyed_by_name(server: SandboxServer) -> None:
    streams = ["company_attributes", "contact_attributes"]
    result = sync(TapCustomerMessaging, config_for(server), streams=streams)
    assert sorted(c.query["model"] for c in server.requests_to("/v1/data_attributes")) == [
        "company",
        "contact",
    ]
    for stream, model in zip(streams, ("company", "contact"), strict=True):
        records = result.records(stream)
        assert {r["model"] for r in records} == {model}
        assert result.schemas[stream]["key_properties"] == ["name"]
        assert any("id" not in r for r in records)  # built-in attributes have no id


# -- incremental and children ---------------------------------------------------------------


def test_second_run_reads_only_what_changed(server: SandboxServer) -> None:
    api = server.api
    first = sync(TapCustomerMessaging, config_for(server))
    assert first.counts == api.expected_counts()
    marks = {s: unix(first.state["bookmarks"][s]["replication_key_value"]) for s in INCREMENTAL}
    api.new_activity(contacts=4, conversations=3, tickets=3, logs=5)
    before = len(server.requests)
    second = sync(TapCustomerMessaging, config_for(server), state=first.state)
    for stream, key in INCREMENTAL.items():
        got = {r["id"] for r in second.records(stream)}
        assert got == {r["id"] for r in api.tables[stream] if r[key] >= marks[stream]}
        assert (
            len(got)
            <= {"contacts": 5, "conversations": 4, "tickets": 4, "activity_logs": 5}[stream] + 1
        )  # the changes, plus what sits exactly on the bookmark
    assert {r["id"] for r in api.tables["contacts"][:4]} <= {
        r["id"] for r in second.records("contacts")
    }
    # children: only the emitted conversations' parts, one request each
    conversations = {r["id"] for r in second.records("conversations")}
    parts = second.records("conversation_parts")
    assert {p["conversation_id"] for p in parts} == conversations
    assert len(parts) == sum(len(api.tables["conversation_parts"][c]) for c in conversations)
    new = server.requests[before:]
    assert sum(r.path.startswith("/v1/conversations/") and r.method == "GET" for r in new) == (
        len(conversations)
    )
    assert sum(r.path == "/v1/contacts/search" for r in new) == 1
    # full-table streams read everything again
    for stream in ("admins", "companies", "company_segments", "segments", "tags"):
        assert second.counts[stream] == api.expected_counts()[stream]


def test_children_carry_the_parent_key(server: SandboxServer) -> None:
    result = sync(
        TapCustomerMessaging,
        config_for(server),
        streams=["companies", "company_segments", "conversations", "conversation_parts"],
    )
    api = server.api
    segments = result.records("company_segments")
    assert {(s["company_id"], s["id"]) for s in segments} == {
        (cid, s["id"]) for cid, rows in api.tables["company_segments"].items() for s in rows
    }
    assert result.schemas["company_segments"]["key_properties"] == ["company_id", "id"]
    shared = {s["id"] for s in segments if sum(x["id"] == s["id"] for x in segments) > 1}
    assert shared, "a segment belongs to several companies"
    for part in result.records("conversation_parts"):
        assert part["id"] in {
            p["id"] for p in api.tables["conversation_parts"][part["conversation_id"]]
        }
    assert len(server.requests_to("/v1/companies/*/segments")) == len(api.tables["companies"])


def test_a_deleted_parent_is_skipped_and_the_run_goes_on(server: SandboxServer) -> None:
    api = server.api
    company = api.tables["companies"][1]["id"]
    conversation = api.tables["conversations"][2]["id"]
    api.delete_parent("companies", company)
    api.delete_parent("conversations", conversation)
    proc = run_cli(TapCustomerMessaging.name, config_for(server))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "404" in proc.stderr
    assert f"/v1/companies/{company}/segments" in proc.stderr
    assert "skipping" in proc.stderr
    result = parse_messages(proc.stdout)
    assert result.counts == api.expected_counts()  # all but the deleted parents' children
    assert company in {r["id"] for r in result.records("companies")}
    assert company not in {r["company_id"] for r in result.records("company_segments")}
    assert conversation not in {r["conversation_id"] for r in result.records("conversation_parts")}
    assert len(server.requests_to(f"/v1/companies/{company}/segments")) == 1  # not retried
    assert len(server.requests_to(f"/v1/conversations/{conversation}")) == 1


# -- errors, headers, rate limit -----------------------------------------------------------------


def test_every_request_carries_bearer_and_accept(server: SandboxServer) -> None:
    sync(TapCustomerMessaging, config_for(server), streams=["admins", "contacts", "tickets"])
    token = server.api.credentials["access_token"]
    assert server.requests
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {token}"
        assert "application/json" in request.headers["accept"]


def test_error_list_bodies(server: SandboxServer) -> None:
    token = server.api.credentials["access_token"]
    good = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    cases = [
        ("GET", "/v1/admins", {"Accept": "application/json"}, None, 401),
        ("GET", "/v1/conversations/1", good, None, 404),
        ("GET", "/v1/data_attributes?model=ticket", good, None, 400),
        ("GET", "/v1/admins/activity_logs", good, None, 400),  # no created_at_after
        ("POST", "/v1/contacts/search", good, {"query": {"field": "name"}}, 400),
    ]
    for method, path, headers, body, status in cases:
        response = requests.request(method, server.url + path, headers=headers, json=body)
        assert response.status_code == status, path
        payload = response.json()
        assert payload["type"] == "error.list"
        (error,) = payload["errors"]
        assert error["code"]
        assert error["message"]
        assert "X-RateLimit-Remaining" in response.headers


def test_a_401_shows_the_api_message(server: SandboxServer) -> None:
    proc = run_cli(
        TapCustomerMessaging.name, {**config_for(server), "access_token": "not-the-token"}
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "401" in last
    assert "Access Token Invalid" in last  # the message of the error.list body
    assert "'access_token'" in last
    assert "not-the-token" not in proc.stderr


def test_a_client_that_does_not_wait_gets_429() -> None:
    with SandboxServer(CustomerMessagingAPI(records=10, rate_limit=(3, 60))) as server:
        token = server.api.credentials["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        responses = [requests.get(server.url + "/v1/tags", headers=headers) for _ in range(4)]
    resets = {r.headers["X-RateLimit-Reset"] for r in responses}
    if len(resets) == 1:  # all four inside one 60 s window
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[3].json()["errors"][0]["code"] == "rate_limit_exceeded"


def test_the_tap_waits_for_the_reset_and_no_longer() -> None:
    api = CustomerMessagingAPI(records=40, rate_limit=(4, 1))  # 4 requests a second
    with SandboxServer(api) as server:
        began = time.monotonic()
        result = sync(
            TapCustomerMessaging, config_for(server), streams=["companies", "company_segments"]
        )
        elapsed = time.monotonic() - began
    assert result.counts["companies"] == 10
    log = api.rate_log
    assert len(log) == 12  # 2 scroll pages + 10 companies' segments
    assert all(status == 200 for *_, status in log), "no 429 was served"
    spent = [i for i, (_, remaining, _, _) in enumerate(log[:-1]) if remaining == 0]
    assert len(spent) >= 2, "the quota ran out and the tap had to wait"
    for i in spent:
        reset = log[i][2]
        arrival = log[i + 1][0]
        assert arrival >= reset, "the next request came after the reset"
        assert arrival - reset < 0.3, "and not much later"
    windows = len({reset for _, _, reset, _ in log})
    assert elapsed < windows + 0.5


def test_tickets_window_days_must_be_positive(server: SandboxServer) -> None:
    proc = run_cli(TapCustomerMessaging.name, config_for(server, tickets_window_days=0))
    assert proc.returncode == 1
    assert "tickets_window_days" in proc.stderr
    assert server.requests == []
