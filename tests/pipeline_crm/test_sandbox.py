"""The sandbox's data: the API's record shapes, `replace` (with records nobody here wrote,
when present), records missing the fields it sorts or filters on, and drift mode.

Only what the sandbox serves is asserted here (raw HTTP), not what the tap keeps.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from rest_taps.common.sandbox import SandboxServer
from rest_taps.pipeline_crm.sandbox import PAGED, RECENTS, SINGLE, PipelineCrmAPI
from rest_taps.pipeline_crm.tap import TapPipelineCrm
from tests.support import VENDOR_EXAMPLES, config_for, sql_time, sync, vendor_examples

TOKEN = PipelineCrmAPI.credentials["api_token"]
#: Stream → example records of the real API (nobody here wrote them); {} if none.
EXAMPLES = vendor_examples("pipeline_crm")
SQL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ITEMS = {table: item for item, table in RECENTS.items()}
PATHS = {table: path for path, table in {**PAGED, **SINGLE}.items()}


def get(server: SandboxServer, path: str, **params: str) -> dict:
    response = requests.get(server.url + path, params={"api_token": TOKEN, **params}, timeout=10)
    response.raise_for_status()
    return response.json()


def read_pages(server: SandboxServer, path: str, **params: str) -> list:
    rows: list = []
    start = 0
    while True:
        body = get(server, path, start=str(start), limit="50", **params)
        rows += body["data"] or []
        pagination = body["additional_data"]["pagination"]
        if not pagination["more_items_in_collection"]:
            return rows
        start = pagination["next_start"]


def served(server: SandboxServer, stream: str) -> list[dict]:
    """Every record of `stream` a full sync reads, fetched over HTTP."""
    if stream in ITEMS:
        since = "1970-01-01 00:00:00"
        elements = read_pages(server, "/v1/recents", items=ITEMS[stream], since_timestamp=since)
        return [element["data"] for element in elements]
    if stream == "mailThreads":
        return read_pages(server, "/v1/mailbox/mailThreads", folder="inbox")
    if stream == "goals":
        return get(server, "/v1/goals/find")["data"]["goals"]
    if stream == "deal_products":
        deals = served(server, "deals")
        path = "/v1/deals/{}/products"
        return [p for d in deals if "id" in d for p in read_pages(server, path.format(d["id"]))]
    if stream == "mail":
        threads = served(server, "mailThreads")
        path = "/v1/mailbox/mailThreads/{}/mailMessages"
        return [m for t in threads if "id" in t for m in read_pages(server, path.format(t["id"]))]
    if stream in PAGED.values():
        return read_pages(server, PATHS[stream])
    return get(server, PATHS[stream])["data"] or []


def canonical(records: list[dict]) -> list[str]:
    return sorted(json.dumps(record, sort_keys=True) for record in records)


# -- the API's record shapes ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with SandboxServer(PipelineCrmAPI(records=60)) as srv:
        yield srv


def test_records_in_the_apis_shapes(server: SandboxServer) -> None:
    persons = served(server, "persons")
    for person in persons:
        assert isinstance(person["email"], list)
        assert all({"value", "primary"} <= set(e) for e in person["email"] + person["phone"])
    assert any(p["email"] == [{"value": "", "primary": True}] for p in persons), "no e-mail"
    users = served(server, "users")
    assert all("update_time" not in u and SQL_TIME.match(u["modified"]) for u in users)
    assert all(u["id"] > 10_000_000 for u in users)
    roles = served(server, "roles")
    assert all(isinstance(r["assignment_count"], str) for r in roles)
    assert all(r["sub_role_count"].isdigit() for r in roles)
    organizations = served(server, "organizations")
    assert all(isinstance(o["owner_id"], dict) for o in organizations)
    deals = served(server, "deals")
    assert all(isinstance(d["user_id"], int) and d["visible_to"] == "3" for d in deals)
    assert {type(d["value"]) for d in deals} == {int, float}
    activities = served(server, "activities")
    assert "" in {a["due_time"] for a in activities}
    assert all(isinstance(g["id"], str) for g in served(server, "goals"))
    assert all(lead["add_time"].endswith("Z") for lead in served(server, "leads"))
    threads = served(server, "mailThreads")
    assert all(t["read_flag"] in {0, 1} and t["folders"] == ["inbox"] for t in threads)
    parties = [p for t in threads for p in t["parties"]["from"]]
    assert all(p["message_time"] > 10**12 for p in parties), "epoch milliseconds"
    messages = served(server, "mail")
    assert all(m["sent_flag"] in {0, 1} for m in messages)


def test_fields_beyond_the_schema(server: SandboxServer) -> None:
    """Custom-field values (defined or not), and deal-field values on leads."""
    hex_key = re.compile(r"^[0-9a-f]{40}")
    for stream in ("deals", "persons", "organizations", "products"):
        declared = set(
            TapPipelineCrm(config={"sandbox": True, "schema_evolution": "off"})
            .streams[stream]
            .schema["properties"]
        )
        extra = {k for r in served(server, stream) for k in r if k not in declared}
        assert extra, stream
        assert all(hex_key.match(k) for k in extra), stream
    leads = served(server, "leads")
    assert any(any(hex_key.match(k) for k in lead) for lead in leads)


# -- replace --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", sorted(EXAMPLES))
def test_replace_serves_example_records(stream: str) -> None:
    records = EXAMPLES[stream]
    api = PipelineCrmAPI(records=30)
    api.replace(stream, records)
    with SandboxServer(api) as srv:
        got = served(srv, stream)
        if stream == "deal_products":  # filed under the first deal served
            first = served(srv, "deals")[0]["id"]
            assert {p["deal_id"] for p in got} == {first}
            records = [{**r, "deal_id": first} for r in records]
    assert canonical(got) == canonical(records)
    assert api.expected_counts()[stream] == len(records)


@pytest.mark.skipif(
    not {"deals", "deal_products"} <= EXAMPLES.keys(),
    reason=f"no example deals and deal products of the real API in {VENDOR_EXAMPLES}",
)
def test_replace_serves_all_example_records_at_once() -> None:
    """Parents replaced after their children: the children move to the new first parent."""
    api = PipelineCrmAPI(records=30)
    for stream, records in EXAMPLES.items():
        api.replace(stream, records)
    with SandboxServer(api) as srv:
        for stream, records in EXAMPLES.items():
            got = served(srv, stream)
            assert len(got) == len(records) == api.expected_counts()[stream], stream
        first = served(srv, "deals")[0]["id"]
        assert first in {d["id"] for d in EXAMPLES["deals"]}
        assert {p["deal_id"] for p in served(srv, "deal_products")} == {first}


@pytest.mark.skipif("users" not in EXAMPLES, reason=f"no example users in {VENDOR_EXAMPLES}")
def test_tap_reads_users_without_update_time() -> None:
    """Real user records carry `modified` and no `update_time`: the bookmark uses it."""
    users = EXAMPLES["users"]
    api = PipelineCrmAPI(records=30)
    api.replace("users", users)
    with SandboxServer(api) as srv:
        result = sync(TapPipelineCrm, config_for(srv), streams=["users"])
    records = result.records("users")
    assert len(records) == len(users)
    assert all(r["update_time"] == r["modified"] for r in records)
    bookmark = sql_time(result.state["bookmarks"]["users"]["replication_key_value"])
    assert bookmark == max(u["modified"] for u in users)


def test_replace_serves_records_without_the_fields_it_sorts_on() -> None:
    api = PipelineCrmAPI(records=30)
    api.replace("deals", [{"title": "no id, no time"}, {"id": 7, "update_time": None}, {"id": 8}])
    api.replace("notes", [{"id": 1, "update_time": "2024-02-01 00:00:00"}, {"content": "x"}])
    api.replace("mailThreads", [{"id": 3}, {"id": 4, "folders": ["sent"]}])
    api.replace("mail", [{"subject": "no thread id"}, {"mail_thread_id": 99}])
    api.replace("deal_products", [{"name": "no deal id"}])
    with SandboxServer(api) as srv:
        assert len(served(srv, "deals")) == 3
        since = get(srv, "/v1/recents", items="note", since_timestamp="2024-03-01 00:00:00")
        assert [e["data"] for e in since["data"]] == [{"content": "x"}], "undated: always sent"
        assert served(srv, "mailThreads") == [{"id": 3}]
        assert served(srv, "mail") == [{"subject": "no thread id"}, {"mail_thread_id": 3}]
        assert served(srv, "deal_products") == [{"name": "no deal id"}]
        counts = api.expected_counts()
        for stream in ("deals", "notes", "mailThreads", "mail", "deal_products"):
            assert counts[stream] == len(served(srv, stream)), stream
        # a deal the sandbox does not serve has no products to ask for
        assert (
            requests.get(
                srv.url + "/v1/deals/12345/products", params={"api_token": TOKEN}, timeout=10
            ).status_code
            == 404
        )


def test_children_wait_for_their_parents() -> None:
    api = PipelineCrmAPI(records=30)
    api.replace("mailThreads", [])
    api.replace("mail", [{"id": 1, "mail_thread_id": 1}])
    assert api.expected_counts()["mail"] == 0
    assert api.expected_counts()["mailThreads"] == 0
    api.replace("mailThreads", [{"id": 5, "folders": ["inbox"]}])
    assert api.expected_counts()["mail"] == 1
    assert api.tables["mail"] == {5: [{"id": 1, "mail_thread_id": 5}]}


# -- drift ----------------------------------------------------------------------------------


def test_drift_keeps_the_stable_fields() -> None:
    plain, drifted = PipelineCrmAPI(records=30), PipelineCrmAPI(records=30, drift=True)
    changed = 0
    with SandboxServer(plain) as a, SandboxServer(drifted) as b:
        for stream, stable in PipelineCrmAPI.stable_fields.items():
            before, after = served(a, stream), served(b, stream)
            assert len(before) == len(after), stream
            for left, right in zip(before, after, strict=True):
                assert {k: left.get(k) for k in stable} == {k: right.get(k) for k in stable}
            changed += before != after
        assert drifted.expected_counts() == plain.expected_counts()
    assert changed >= len(PipelineCrmAPI.stable_fields) - 1
