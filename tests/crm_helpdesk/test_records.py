"""What the sandbox serves: the real API's record shapes, fields beyond the declared
schemas, `replace` with records nobody here wrote, and drift mode.

Raw HTTP against a `SandboxServer`: these tests check the sandbox, not the tap.
"""

from __future__ import annotations

import json
import typing as t

import jsonschema
import pytest
import requests

from rest_taps.common.sandbox import SandboxServer
from rest_taps.crm_helpdesk.sandbox import (
    CURSOR_STREAMS,
    DECIMAL_STRING_IDS,
    SINGLE_PAGE_STREAMS,
    STREAMS,
    CrmHelpdeskAPI,
    id_order,
)
from tests.support import ROOT, vendor_examples

SCHEMAS = ROOT / "rest_taps" / "crm_helpdesk" / "schemas"

#: Fields the sandbox serves although the schemas do not declare them (left to the tap's
#: runtime schema evolution).
UNDECLARED = {
    "deals": {"currency_type"},
    "events": {"eventOwner", "ownerPic", "deal_ids"},
    "tickets": {"due_time", "closed_time"},
}


#: Stream → this API's example records (real payloads from public sources); {} if none.
EXAMPLES = vendor_examples("crm_helpdesk")


@pytest.fixture
def server():
    with SandboxServer(CrmHelpdeskAPI(records=120)) as srv:
        yield srv


def schema(stream: str) -> dict:
    return json.loads((SCHEMAS / f"{stream}.json").read_text())


def get(server: SandboxServer, stream: str, **params: t.Any) -> list[dict]:
    creds = server.api.credentials
    response = requests.get(
        f"{server.url}/v1/{stream}",
        params=params,
        auth=(creds["email"], creds["api_key"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def served(server: SandboxServer, stream: str, page_size: int = 100) -> list[dict]:
    """Every record of a stream as a client reads it (following record cursors)."""
    if stream in SINGLE_PAGE_STREAMS:
        return get(server, stream)
    records: list[dict] = []
    params: dict[str, t.Any] = {"page_size": page_size}
    for _ in range(10_000):
        page = get(server, stream, **params)
        records += page
        if not page or not page[-1].get("cursor"):
            return records
        params["cursor"] = page[-1]["cursor"]
    raise AssertionError("endless cursor")


def without_cursor(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "cursor"}


# -- shapes ---------------------------------------------------------------------------------


def test_records_have_the_api_shapes(server: SandboxServer) -> None:
    contacts = served(server, "contacts")
    ids = [c["id"] for c in contacts]
    assert all(id_order(i)[0] == 0 and int(i) > 2**32 for i in ids), "64-bit datastore ids"
    assert all(int(i) < 2**53 for i in ids), "exact in a double"
    as_text = [c for c in contacts if isinstance(c["id"], str)]
    assert as_text, "some ids arrive as decimal strings"
    assert all(isinstance(c["created_time"], str) for c in as_text)
    assert all(c["created_time"] < 10**11 for c in contacts if isinstance(c["created_time"], int))

    properties = [p for c in contacts for p in c["properties"]]
    assert {p["type"] for p in properties} == {"SYSTEM", "CUSTOM"}
    assert any(p["type"] == "CUSTOM" and isinstance(p["value"], int) for p in properties)
    address = next(p for p in properties if p["name"] == "address")
    assert json.loads(address["value"])["city"], "an address is JSON text"
    assert all(t["createdTime"] > 10**12 for c in contacts for t in c["tagsWithTime"]), "ms"

    tickets = served(server, "tickets")
    assert [t["id"] for t in tickets] == list(range(1, len(tickets) + 1))
    assert all(t["created_time"] > 10**12 for t in tickets), "ticket times are milliseconds"
    assert any("first_replied_time" not in t for t in tickets), "unset times are left out"

    filters = served(server, "ticket_filters")
    assert [f["conditions"] for f in filters if not isinstance(f["conditions"], list)] == [{}]
    assert all(f["updated_time"] > 10**12 for f in filters)

    tracks = {str(m["id"]): m["milestones"].split(",") for m in served(server, "milestone")}
    deals = served(server, "deals")
    assert all(d["milestone"] in tracks[d["pipeline_id"]] for d in deals)
    assert all(isinstance(d["expected_value"], float) for d in deals)
    # 180 deals: the last of the one full page carries the cursor, every other one "".
    assert [d["cursor"] for d in deals].count("") == len(deals) - 1 == 179


def test_declared_schemas_accept_every_served_record(server: SandboxServer) -> None:
    """Every record, once its key is in the declared form: some integer ids are served as
    decimal strings, as older versions of the API send them (the tap converts them)."""
    for stream in STREAMS:
        validator = jsonschema.Draft7Validator(schema(stream))
        records = served(server, stream)
        assert records, stream
        as_text = [record for record in records if isinstance(record["id"], str)]
        if stream in DECIMAL_STRING_IDS:
            assert 0 < len(as_text) < len(records), stream
            for record in as_text:
                record["id"] = int(record["id"])
        for record in records:
            validator.validate(record)


def test_some_fields_are_beyond_the_declared_schemas(server: SandboxServer) -> None:
    """The tap keeps these only through runtime schema evolution."""
    for stream in STREAMS:
        declared = set(schema(stream)["properties"]) | {"cursor"}
        extra = {k for r in served(server, stream) for k in r} - declared
        assert extra == UNDECLARED.get(stream, set()), stream


# -- replace --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", sorted(EXAMPLES))
def test_replace_serves_vendor_examples_verbatim(server: SandboxServer, stream: str) -> None:
    records = EXAMPLES[stream]
    server.api.replace(stream, records)
    assert server.api.expected_counts()[stream] == len(records)
    # Small pages, so that record cursors are followed over the examples' ids.
    got = served(server, stream, page_size=2)
    if stream in CURSOR_STREAMS:
        records = sorted(records, key=lambda r: id_order(r.get("id")))
        # The server owns the paging field: a cursor stored with the data is not served
        # on the last record of a page.
        got, records = [without_cursor(r) for r in got], [without_cursor(r) for r in records]
    assert got == records


def test_replace_serves_records_of_any_shape(server: SandboxServer) -> None:
    """Rows without an id, with text ids or with duplicate ids are served, once each."""
    rows = [
        {"name": "no id"},
        {"id": "abc"},
        {"id": 3, "name": "three"},
        {"id": "2"},
        {},
        {"id": 3, "name": "three again"},
        {"id": None},
    ]
    for stream in CURSOR_STREAMS:
        server.api.replace(stream, rows)
        got = served(server, stream, page_size=2)
        assert [r.get("id") for r in got] == ["2", 3, 3, "abc", None, None, None], stream
        assert sorted(map(json.dumps, map(without_cursor, got))) == sorted(map(json.dumps, rows))
        assert server.api.expected_counts()[stream] == len(rows)
    for stream in SINGLE_PAGE_STREAMS:
        server.api.replace(stream, rows)
        assert served(server, stream) == rows


def test_a_cursor_of_replaced_data_still_pages(server: SandboxServer) -> None:
    """Replacing a table between two pages: the cursor resumes after its last id."""
    api = server.api
    first = get(server, "companies", page_size=10)
    kept = api.tables["companies"][5:]
    api.replace("companies", kept)
    rest = get(server, "companies", page_size=100, cursor=first[-1]["cursor"])
    assert [r["id"] for r in rest] == [r["id"] for r in kept[5:]]


# -- data changes and drift -----------------------------------------------------------------


def test_touch_moves_the_update_time_in_the_tables_unit(server: SandboxServer) -> None:
    api = server.api
    api.touch("companies", [api.tables["companies"][0]["id"]])
    assert api.tables["companies"][0]["updated_time"] == api.clock
    api.touch("tickets", [1])
    assert api.tables["tickets"][0]["last_updated_time"] == api.clock * 1000
    with pytest.raises(KeyError):
        api.touch("notes", [api.tables["notes"][0]["id"]])


def test_new_rows_keep_each_tables_id_style(server: SandboxServer) -> None:
    api = server.api
    before = {s: [r["id"] for r in api.tables[s]] for s in ("tickets", "deals")}
    api.new_activity(tickets=2, deals=3)
    assert [r["id"] for r in api.tables["tickets"]][-2:] == [
        len(before["tickets"]) + i for i in (1, 2)
    ]
    new_deals = [r["id"] for r in api.tables["deals"]][-3:]
    assert min(new_deals) > max(before["deals"])
    assert served(server, "deals")[-3:] == [r | {"cursor": ""} for r in api.tables["deals"][-3:]]


def test_drift_mode_keeps_keys_and_paging_intact() -> None:
    plain = CrmHelpdeskAPI(records=60)
    with SandboxServer(CrmHelpdeskAPI(records=60, drift=True)) as srv:
        for stream in STREAMS:
            got = served(srv, stream, page_size=7)
            assert [r["id"] for r in got] == [r["id"] for r in plain.tables[stream]], stream
        drifted = srv.api.tables["contacts"][0]
        changed = [k for k, v in plain.tables["contacts"][0].items() if drifted[k] != v]
        assert changed, "drift altered some fields"
        assert "id" not in changed
