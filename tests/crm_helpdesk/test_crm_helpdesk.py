"""tap-crm-helpdesk behaviour against its sandbox over real HTTP."""

from __future__ import annotations

import base64

import pytest
import requests

from rest_taps.common.sandbox import SandboxServer
from rest_taps.crm_helpdesk.sandbox import CURSOR_STREAMS, SINGLE_PAGE_STREAMS, CrmHelpdeskAPI
from rest_taps.crm_helpdesk.tap import TapCrmHelpdesk
from tests.support import parse_messages, run_cli, serial_config, sync

CURSOR_PATHS = {f"/v1/{stream}" for stream in CURSOR_STREAMS}
SINGLE_PAGE_PATHS = {f"/v1/{stream}" for stream in SINGLE_PAGE_STREAMS}


@pytest.fixture
def server():
    """At 300 records: contacts 300 and companies 100 (exact multiples of the page size),
    deals 450 and campaigns 45 (not)."""
    with SandboxServer(CrmHelpdeskAPI(records=300)) as srv:
        yield srv


def basic(email: str, api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{api_key}".encode()).decode()


def served_pages(server: SandboxServer, path: str) -> list[list[dict]]:
    """The `data` of each request the tap sent to `path`, as the sandbox answers it now."""
    return [server.api.handle(r).body["data"] for r in server.requests_to(path)]


# -- authentication ---------------------------------------------------------------------------


def test_basic_auth_header_on_every_request(server: SandboxServer) -> None:
    config = serial_config(server)
    result = sync(TapCrmHelpdesk, config)
    assert result.counts == server.api.expected_counts()
    expected = basic(config["email"], config["api_key"])
    assert len(server.requests) == 4 + 2 + 5 + 1 + 7  # contacts, companies, deals, campaigns
    assert {r.headers.get("authorization") for r in server.requests} == {expected}
    assert {r.path for r in server.requests} == CURSOR_PATHS | SINGLE_PAGE_PATHS
    for request in server.requests:
        assert set(request.query) <= {"page_size", "cursor"}, "no credential in the URL"


def test_wrong_email_is_rejected_naming_both_settings(server: SandboxServer) -> None:
    secret_email = "Zq8-someone-else@example.com"
    proc = run_cli(TapCrmHelpdesk.name, serial_config(server, email=secret_email))
    assert proc.returncode == 1
    assert len(server.requests) == 1, "a 401 is not retried"
    last = proc.stderr.strip().splitlines()[-1]
    assert "credential was rejected" in last
    assert "'email'" in last
    assert "'api_key'" in last
    output = proc.stdout + proc.stderr
    pair = basic(secret_email, server.api.credentials["api_key"]).removeprefix("Basic ")
    assert secret_email not in output
    assert pair not in output
    assert server.api.credentials["api_key"] not in output


# -- record cursor pagination ------------------------------------------------------------------


def test_exact_multiple_of_page_size_ends_on_an_empty_page(server: SandboxServer) -> None:
    """contacts = 300: three full pages, each last record with a cursor, then an empty page."""
    api = server.api
    result = sync(TapCrmHelpdesk, serial_config(server), streams=["contacts"])
    ids = [c["id"] for c in api.tables["contacts"]]
    assert len(ids) == 300
    sent = server.requests_to("/v1/contacts")
    pages = served_pages(server, "/v1/contacts")
    assert [len(p) for p in pages] == [100, 100, 100, 0]
    assert [r.query for r in sent] == [
        {"page_size": "100"},
        *({"page_size": "100", "cursor": p[-1]["cursor"]} for p in pages[:3]),
    ]
    assert [api.decode_cursor("contacts", r.query["cursor"])[0] for r in sent[1:]] == [
        100,
        200,
        300,
    ]
    assert [r["id"] for r in result.records("contacts")] == ids


def test_one_full_page_then_an_empty_page(server: SandboxServer) -> None:
    """companies = 100: the full first page carries a cursor; the server does not look
    ahead, so the tap asks once more and gets an empty page."""
    result = sync(TapCrmHelpdesk, serial_config(server), streams=["companies"])
    assert [len(p) for p in served_pages(server, "/v1/companies")] == [100, 0]
    assert result.counts == {"companies": 100}


def test_short_last_page_without_cursor_ends_paging(server: SandboxServer) -> None:
    """deals = 450: four full pages, then 50 records whose last has no cursor: no 6th request.
    Deals carry `"cursor": ""` on every other record, as the API does: an empty cursor is
    no cursor."""
    api = server.api
    result = sync(TapCrmHelpdesk, serial_config(server), streams=["deals"])
    sent = server.requests_to("/v1/deals")
    pages = served_pages(server, "/v1/deals")
    assert [len(p) for p in pages] == [100, 100, 100, 100, 50]
    assert [r.query.get("cursor") for r in sent] == [None, *(p[-1]["cursor"] for p in pages[:4])]
    assert all(r.query["page_size"] == "100" for r in sent)
    assert pages[-1][-1]["cursor"] == ""
    assert {r["cursor"] for p in pages for r in p[:-1]} == {""}
    assert [r["id"] for r in result.records("deals")] == [d["id"] for d in api.tables["deals"]]


def test_single_short_page_sends_no_cursor(server: SandboxServer) -> None:
    result = sync(TapCrmHelpdesk, serial_config(server), streams=["campaigns"])
    assert [r.query for r in server.requests_to("/v1/campaigns")] == [{"page_size": "100"}]
    assert result.counts == {"campaigns": 45}


def test_empty_cursor_stream_is_one_request() -> None:
    with SandboxServer(CrmHelpdeskAPI(records=0)) as srv:
        result = sync(TapCrmHelpdesk, serial_config(srv), streams=["contacts", "deals"])
        assert result.counts == {}
        assert len(srv.requests_to("/v1/contacts")) == 1
        assert len(srv.requests_to("/v1/deals")) == 1


def test_cursor_never_reaches_a_record(server: SandboxServer) -> None:
    result = sync(TapCrmHelpdesk, serial_config(server))
    assert result.counts == server.api.expected_counts()
    for stream, records in result.by_stream().items():
        assert all("cursor" not in r for r in records), stream
        assert "cursor" not in result.schemas[stream]["schema"]["properties"]
    # Every row of the sandbox arrives, once, without the paging metadata.
    for stream in CURSOR_STREAMS:
        ids = [r["id"] for r in result.records(stream)]
        assert ids == [r["id"] for r in server.api.tables[stream]], stream
    # ... while the server did send cursors on the last record of each full page.
    cursors = [p[-1].get("cursor") for p in served_pages(server, "/v1/contacts") if p]
    assert all(cursors)


def test_cursor_is_dropped_as_paging_metadata_not_by_schema_conformance(
    server: SandboxServer,
) -> None:
    """The stream itself removes `cursor` (the paginator's metadata field) from a page's
    records; it does not rely on the SDK discarding a property missing from the schema."""
    tap = TapCrmHelpdesk(config=serial_config(server))
    for name in CURSOR_STREAMS:
        stream = tap.streams[name]
        assert stream.paginator.metadata_fields == ("cursor",)
        page = stream.requests_session.get(
            f"{server.url}{stream.path}",
            params={"page_size": 20},
            auth=(server.api.credentials["email"], server.api.credentials["api_key"]),
            timeout=5,
        )
        assert page.json()["data"][-1]["cursor"], "the server sent a cursor"
        records = list(stream.parse_response(page))
        assert len(records) == 20
        assert all("cursor" not in r for r in records), name


def test_other_streams_are_single_requests_without_paging_parameters(
    server: SandboxServer,
) -> None:
    result = sync(TapCrmHelpdesk, serial_config(server), streams=SINGLE_PAGE_STREAMS)
    for stream in SINGLE_PAGE_STREAMS:
        sent = server.requests_to(f"/v1/{stream}")
        assert len(sent) == 1, stream
        assert sent[0].query == {}, stream
        assert len(result.records(stream)) == len(server.api.tables[stream]) > 0


# -- bodies -----------------------------------------------------------------------------------


def test_null_data_is_an_empty_page(server: SandboxServer) -> None:
    server.inject("/v1/notes", kind="body", body={"data": None})
    result = sync(TapCrmHelpdesk, serial_config(server), streams=["notes", "tickets"])
    assert result.counts == {"tickets": len(server.api.tables["tickets"])}


def test_missing_data_container_fails_naming_stream_and_path(server: SandboxServer) -> None:
    server.inject("/v1/deals", kind="body", body={"items": []})
    proc = run_cli(TapCrmHelpdesk.name, serial_config(server))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "Stream 'deals': GET /v1/deals" in last
    assert "no records container at $.data[*]" in last
    emitted = parse_messages(proc.stdout)
    assert emitted.counts["contacts"] == 300, "the streams before it were synced"
    assert "deals" not in emitted.counts, "nothing is emitted from the bad page"


# -- full table -------------------------------------------------------------------------------


def test_every_stream_is_full_table_and_rereads_everything(server: SandboxServer) -> None:
    tap = TapCrmHelpdesk(config=serial_config(server))
    assert all(stream.replication_key is None for stream in tap.streams.values())
    for schema in (s.schema for s in tap.streams.values()):
        for key in ("created_time", "updated_time"):
            if key in schema["properties"]:
                declared = schema["properties"][key]
                assert declared["format"] == "date-time", "RFC 3339 in UTC"
                assert "integer" in declared["x-raw-type"], "the API sends epoch numbers"

    first = sync(TapCrmHelpdesk, serial_config(server))
    server.api.new_activity(contacts=7, deals=3, tickets=2)
    server.api.touch("companies", [server.api.tables["companies"][0]["id"]])
    server.requests.clear()
    second = sync(TapCrmHelpdesk, serial_config(server), state=first.state)

    expected = server.api.expected_counts()
    assert second.counts == expected
    assert expected["contacts"] == first.counts["contacts"] + 7
    assert len(server.requests_to("/v1/contacts")) == 4, "307 contacts: 3 full pages + 7"
    for bookmark in second.state.get("bookmarks", {}).values():
        assert "replication_key_value" not in bookmark
    new_ids = {c["id"] for c in second.records("contacts")} - {
        c["id"] for c in first.records("contacts")
    }
    assert len(new_ids) == 7
    touched = second.records("companies")[0]
    assert touched["updated_time"] > first.records("companies")[0]["updated_time"]


# -- the sandbox itself -----------------------------------------------------------------------


def test_sandbox_enforces_paging_and_auth_rules(server: SandboxServer) -> None:
    api = server.api
    good = {"Authorization": basic(api.credentials["email"], api.credentials["api_key"])}
    url = f"{server.url}/v1/contacts"

    refused = requests.get(url, timeout=5)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    wrong = basic(api.credentials["email"], "nope")
    assert requests.get(url, headers={"Authorization": wrong}, timeout=5).status_code == 401

    default = requests.get(url, headers=good, timeout=5).json()["data"]
    assert len(default) == 25, "the server's own page size when none is asked for"
    assert default[-1]["cursor"]
    assert requests.get(url, params={"page_size": 101}, headers=good, timeout=5).status_code == 400
    bad_cursor = requests.get(url, params={"cursor": "xyz"}, headers=good, timeout=5)
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["message"] == "invalid cursor"
    other = api.encode_cursor("deals", 100, (0, api.tables["deals"][99]["id"]))
    assert requests.get(url, params={"cursor": other}, headers=good, timeout=5).status_code == 400

    assert api.expected_counts() == {
        "contacts": 300,
        "companies": 100,
        "deals": 450,
        "notes": 150,
        "tasks": 100,
        "events": 150,
        "milestone": 4,
        "campaigns": 45,
        "documents": 60,
        "ticket_filters": 8,
        "tickets": 150,
    }
    assert CrmHelpdeskAPI().expected_counts() == api.expected_counts(), "default is 300"
    assert CrmHelpdeskAPI(records=300).tables == api.tables, "deterministic data"


def test_cursor_walk_survives_a_deleted_record(server: SandboxServer) -> None:
    """The cursor names the last id served, so deleting a row already served between two
    pages neither skips nor repeats the rows after it."""
    api = server.api
    good = {"Authorization": basic(api.credentials["email"], api.credentials["api_key"])}
    url = f"{server.url}/v1/contacts"
    first = requests.get(url, params={"page_size": 100}, headers=good, timeout=5).json()["data"]
    api.delete("contacts", [first[10]["id"], first[-1]["id"]])
    params = {"page_size": 100, "cursor": first[-1]["cursor"]}
    second = requests.get(url, params=params, headers=good, timeout=5).json()["data"]
    assert [r["id"] for r in second] == [c["id"] for c in api.tables["contacts"][98:198]]
