"""tap-pipeline-crm against its sandbox over real HTTP: the API's request and paging rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rest_taps.common.sandbox import SandboxServer
from rest_taps.pipeline_crm.sandbox import RECENTS, PipelineCrmAPI
from rest_taps.pipeline_crm.streams import Deals
from rest_taps.pipeline_crm.tap import TapPipelineCrm
from tests.fidelity import carries, normalized
from tests.support import config_for, run_cli, sql_time, sync

TOKEN = PipelineCrmAPI.credentials["api_token"]
SQL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(PipelineCrmAPI(records=120)) as srv:
        yield srv


def recents_requests(server: SandboxServer, item: str) -> list:
    return [r for r in server.requests_to("/v1/recents") if r.query.get("items") == item]


def test_request_parameters(server: SandboxServer) -> None:
    """api_token everywhere; start/limit=50 paging; items + since_timestamp on recents."""
    result = sync(TapPipelineCrm, config_for(server))
    assert result.counts == server.api.expected_counts()
    assert server.requests, "the tap sent requests"
    assert all(r.query.get("api_token") == TOKEN for r in server.requests)

    recents = server.requests_to("/v1/recents")
    assert {r.query["items"] for r in recents} == set(RECENTS)
    assert {r.query["since_timestamp"] for r in recents} == {"1970-01-01 00:00:00"}
    deals = recents_requests(server, "deal")
    assert [(r.query["start"], r.query["limit"]) for r in deals] == [
        ("0", "50"),
        ("50", "50"),
        ("100", "50"),
    ]
    # 60 deal fields: two pages; 50 person fields: one full page whose block says no more
    assert [r.query["start"] for r in server.requests_to("/v1/dealFields")] == ["0", "50"]
    assert [r.query["start"] for r in server.requests_to("/v1/personFields")] == ["0"]
    # single-page resources: one request without paging parameters
    for path in ("/v1/goals/find", "/v1/leadLabels", "/v1/currencies", "/v1/permissionSets"):
        (request,) = server.requests_to(path)
        assert "start" not in request.query
        assert "limit" not in request.query
    (threads,) = server.requests_to("/v1/mailbox/mailThreads")
    assert threads.query["folder"] == "inbox"


def test_recents_records_are_the_inner_data(server: SandboxServer) -> None:
    result = sync(TapPipelineCrm, config_for(server), streams=["deals", "persons"])
    deals = result.records("deals")
    assert [d["id"] for d in deals] == [d["id"] for d in server.api.oldest_first("deals")[2]]
    assert "item" not in deals[0]
    assert "data" not in deals[0]
    times = [sql_time(d["update_time"]) for d in deals]  # RFC 3339, the API's instants
    sent = [d["update_time"] for d in server.api.oldest_first("deals")[2]]
    assert all(SQL_TIME.match(time) for time in sent)
    assert times == sent == sorted(times), "oldest first"
    bookmark = result.state["bookmarks"]["deals"]["replication_key_value"]
    assert sql_time(bookmark) == times[-1]


def test_uuid_and_integer_ids(server: SandboxServer) -> None:
    result = sync(
        TapPipelineCrm,
        config_for(server),
        streams=["leads", "lead_labels", "permission_sets", "roles", "goals"],
    )
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    for stream in ("leads", "lead_labels", "permission_sets"):
        assert result.schemas[stream]["schema"]["properties"]["id"]["type"] == ["string"]
        assert all(uuid.match(r["id"]) for r in result.records(stream))
    assert result.schemas["roles"]["schema"]["properties"]["id"]["type"] == ["integer"]
    assert all(isinstance(r["id"], int) for r in result.records("roles"))
    # goal ids are strings in the API; the declared type also takes integers
    assert result.schemas["goals"]["schema"]["properties"]["id"]["type"] == ["integer", "string"]
    assert all(isinstance(r["id"], str) for r in result.records("goals"))
    assert len(result.records("goals")) == len(server.api.tables["goals"])


def test_start_date_is_sent_as_since_timestamp(server: SandboxServer) -> None:
    config = config_for(server, start_date="2024-03-01T00:00:00Z")
    result = sync(TapPipelineCrm, config, streams=["deals", "notes"])
    for item, stream in (("deal", "deals"), ("note", "notes")):
        sent = {r.query["since_timestamp"] for r in recents_requests(server, item)}
        assert sent == {"2024-03-01 00:00:00"}
        rows = server.api.tables[stream]
        expected = [r for r in rows if r["update_time"] >= "2024-03-01"]
        assert 0 < len(result.records(stream)) == len(expected) < len(rows)


def test_start_date_with_offset_is_converted_to_utc(server: SandboxServer) -> None:
    config = config_for(server, start_date="2024-03-01T02:00:00+02:00")
    sync(TapPipelineCrm, config, streams=["users"])
    (request,) = recents_requests(server, "user")
    assert request.query["since_timestamp"] == "2024-03-01 00:00:00"


def test_null_data_is_an_empty_page(server: SandboxServer) -> None:
    """Nothing changed since start_date: the server answers `data: null`."""
    config = config_for(server, start_date="2030-01-01")
    result = sync(TapPipelineCrm, config, streams=["deals", "users"])
    assert result.counts == {}
    (request,) = recents_requests(server, "deal")
    assert request.query["since_timestamp"] == "2030-01-01 00:00:00"
    assert server.requests_to("/v1/deals/*/products") == []


def test_incremental_second_run_reads_only_changes(server: SandboxServer) -> None:
    api = server.api
    first = sync(TapPipelineCrm, config_for(server))
    assert first.counts == api.expected_counts()
    bookmarks = {
        stream: sql_time(first.state["bookmarks"][stream]["replication_key_value"])
        for stream in RECENTS.values()
    }
    changed = api.new_activity(new=2, updated=3)
    server.requests.clear()

    second = sync(TapPipelineCrm, config_for(server), state=first.state)

    for item, stream in RECENTS.items():
        sent = {r.query["since_timestamp"] for r in recents_requests(server, item)}
        assert sent == {bookmarks[stream]}, stream
        records = second.records(stream)
        ids = {r["id"] for r in records}
        assert set(changed[stream]) <= ids, stream
        # besides the changes, only records at the bookmark itself (at-least-once)
        others = [r for r in records if r["id"] not in changed[stream]]
        assert all(sql_time(r["update_time"]) == bookmarks[stream] for r in others), stream
        # the deleted record: its key and the time the deletion was seen, no bookmark
        (gone,) = [r for r in records if "update_time" not in r]
        assert set(gone) == {"id", "_sdc_deleted_at"}, stream
        assert gone["id"] == changed[stream][-1], stream
        new_bookmark = sql_time(second.state["bookmarks"][stream]["replication_key_value"])
        newest = max(sql_time(r["update_time"]) for r in records if r is not gone)
        assert new_bookmark == newest > bookmarks[stream]
    # one page of changes instead of the whole history
    assert len(recents_requests(server, "deal")) == 1
    assert len(second.records("deals")) < len(api.tables["deals"]) // 10

    # deal products: only for the deals of the second run, not for the deleted deal
    deal_ids = {d["id"] for d in second.records("deals") if "_sdc_deleted_at" not in d}
    assert len(deal_ids) == len(second.records("deals")) - 1
    requested = {int(r.path.split("/")[3]) for r in server.requests_to("/v1/deals/*/products")}
    assert requested == deal_ids
    products = second.records("deal_products")
    assert {p["deal_id"] for p in products} <= deal_ids
    assert len(products) == sum(len(api.tables["deal_products"][d]) for d in deal_ids)
    # full-table streams re-read everything
    assert second.counts["deal_fields"] == len(api.tables["deal_fields"])
    assert second.counts["mail"] == first.counts["mail"]


def test_children_carry_the_parent_key(server: SandboxServer) -> None:
    api = server.api
    deal_products, messages, inbox = api.tables["deal_products"], api.tables["mail"], api.inbox()
    result = sync(TapPipelineCrm, config_for(server), streams=["deal_products", "mail"])
    products = result.records("deal_products")
    assert len(products) == sum(len(rows) for rows in deal_products.values())
    for product in products:
        sent = deal_products[product["deal_id"]]
        assert any(carries(normalized(product), normalized(p)) for p in sent)
    mail = result.records("mail")
    assert {m["thread_id"] for m in mail} == {t["id"] for t in inbox if messages[t["id"]]}
    assert all(m["thread_id"] == m["mail_thread_id"] for m in mail)
    assert len(mail) == sum(len(messages[t["id"]]) for t in inbox)
    # every parent was asked, including those without children (`data: null`)
    assert len(server.requests_to("/v1/deals/*/products")) >= len(api.tables["deals"])
    assert len(server.requests_to("/v1/mailbox/mailThreads/*/mailMessages")) == len(inbox)
    assert any(not rows for rows in deal_products.values())
    # the deal with 55 products is read in two pages
    big = next(d for d, rows in deal_products.items() if len(rows) == 55)
    pages = server.requests_to(f"/v1/deals/{big}/products")
    assert [(r.query["start"], r.query["limit"]) for r in pages] == [("0", "50"), ("50", "50")]
    assert sum(p["deal_id"] == big for p in products) == 55
    # full-table children keep one small state, not one bookmark per parent
    assert "partitions" not in result.state["bookmarks"]["deal_products"]
    assert "partitions" not in result.state["bookmarks"]["mail"]


def test_deleted_parent_is_skipped(server: SandboxServer) -> None:
    api = server.api
    deal = next(d for d, rows in api.tables["deal_products"].items() if rows)
    thread = next(t["id"] for t in api.inbox() if api.tables["mail"][t["id"]])
    api.delete_parent("deals", deal)
    api.delete_parent("mailThreads", thread)
    result = sync(TapPipelineCrm, config_for(server))
    assert result.counts == api.expected_counts()
    assert all(p["deal_id"] != deal for p in result.records("deal_products"))
    assert all(m["thread_id"] != thread for m in result.records("mail"))
    # later parents were still read
    assert max(p["deal_id"] for p in result.records("deal_products")) > deal

    proc = run_cli(TapPipelineCrm.name, config_for(server))
    assert proc.returncode == 0
    assert f"GET /v1/deals/{deal}/products returned 404" in proc.stderr
    assert "skipping it" in proc.stderr
    assert TOKEN not in proc.stderr


def test_mail_threads_need_the_inbox_folder(server: SandboxServer) -> None:
    """The sandbox holds threads of other folders; only the inbox is read."""
    api = server.api
    assert len(api.inbox()) < len(api.tables["mailThreads"])
    result = sync(TapPipelineCrm, config_for(server), streams=["mailThreads"])
    assert all("inbox" in t["folders"] for t in result.records("mailThreads"))
    assert len(result.records("mailThreads")) == len(api.inbox())


def test_sandbox_response_shapes(server: SandboxServer) -> None:
    """The sandbox itself: the wrapper, the pagination block, filters and errors."""
    import requests

    def get(path: str, **params: str) -> requests.Response:
        return requests.get(server.url + path, params={"api_token": TOKEN, **params}, timeout=5)

    body = get("/v1/recents", items="deal", since_timestamp="2024-01-01 00:00:00").json()
    assert body["success"] is True
    assert body["additional_data"]["pagination"] == {
        "start": 0,
        "limit": 100,
        "more_items_in_collection": True,
        "next_start": 100,
    }
    element = body["data"][0]
    assert set(element) == {"item", "id", "data"}
    assert element["item"] == "deal"
    assert element["id"] == element["data"]["id"]
    last = get("/v1/recents", items="deal", since_timestamp="2024-01-01 00:00:00", start="100")
    pagination = last.json()["additional_data"]["pagination"]
    assert pagination["more_items_in_collection"] is False
    assert "next_start" not in pagination
    since = "2024-03-15 00:00:00"
    rows = get("/v1/recents", items="note", since_timestamp=since, limit="500").json()["data"]
    assert rows
    assert all(e["data"]["update_time"] >= since for e in rows)
    assert len(rows) == sum(n["update_time"] >= since for n in server.api.tables["notes"])
    assert get("/v1/recents", items="deal").status_code == 400
    assert get("/v1/mailbox/mailThreads").status_code == 400
    assert requests.get(server.url + "/v1/roles", timeout=5).status_code == 401
    assert get("/v1/deals/999999/products").status_code == 404


def test_a_run_killed_after_a_mid_stream_state_resumes_from_its_bookmark(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recents streams are sorted: a STATE in the middle of a stream is a bookmark a
    killed run resumes from, not a progress marker that starts again from the beginning."""
    monkeypatch.setattr(Deals, "STATE_MSG_FREQUENCY", 10)
    first = sync(TapPipelineCrm, config_for(server), streams=["deals"])
    deals = [i for i, m in enumerate(first.messages) if m.get("stream") == "deals"]
    mid = [
        i for i, m in enumerate(first.messages) if m["type"] == "STATE" and deals[0] < i < deals[-1]
    ]
    assert mid, "checkpoints came in the middle of the stream"
    state = first.messages[mid[0]]["value"]  # the last STATE before the kill
    bookmark = sql_time(state["bookmarks"]["deals"]["replication_key_value"])
    server.requests.clear()
    sync(TapPipelineCrm, config_for(server), state=state, streams=["deals"])
    assert recents_requests(server, "deal")[0].query["since_timestamp"] == bookmark
