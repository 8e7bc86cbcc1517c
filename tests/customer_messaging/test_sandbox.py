"""The customer-messaging sandbox answers like the real API, over raw HTTP: ids of the
API's types, nested shapes and absent keys, custom attributes that follow the data
attributes, fields the tap does not declare, `replace` with the vendor's documented
example records (and with records that lack the fields it sorts and pages on), and drift
mode that never touches keys and paging fields."""

from __future__ import annotations

import json
import re
import typing as t

import pytest
import requests

from rest_taps.common.sandbox import SandboxServer
from rest_taps.customer_messaging.sandbox import CHILDREN, CustomerMessagingAPI
from rest_taps.customer_messaging.tap import TapCustomerMessaging
from tests.support import config_for, sync, vendor_examples

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SEARCH_ALL = {
    "query": {"field": "updated_at", "operator": ">=", "value": 0},
    "sort": {"field": "updated_at", "order": "ascending"},
    "pagination": {"per_page": 150},
}
#: stream → (method, path, query or body, records container) of its first page; a
#: child's path names its parent stream, whose first record is the parent.
READS: dict[str, tuple[str, str, dict, str]] = {
    "activity_logs": ("GET", "/v1/admins/activity_logs", {"created_at_after": 0}, "activity_logs"),
    "admins": ("GET", "/v1/admins", {}, "admins"),
    "tags": ("GET", "/v1/tags", {}, "data"),
    "teams": ("GET", "/v1/teams", {}, "teams"),
    "segments": ("GET", "/v1/segments", {}, "segments"),
    "companies": ("GET", "/v1/companies/scroll", {}, "data"),
    "company_attributes": ("GET", "/v1/data_attributes", {"model": "company"}, "data"),
    "contact_attributes": ("GET", "/v1/data_attributes", {"model": "contact"}, "data"),
    "contacts": ("POST", "/v1/contacts/search", SEARCH_ALL, "data"),
    "conversations": ("POST", "/v1/conversations/search", SEARCH_ALL, "conversations"),
    "tickets": ("POST", "/v1/tickets/search", SEARCH_ALL, "tickets"),
    "conversation_parts": ("GET", "/v1/conversations/{conversations}", {}, "conversation_parts"),
    "company_segments": ("GET", "/v1/companies/{companies}/segments", {}, "data"),
}
#: Fields of newer API versions the sandbox serves and the tap does not declare:
#: (stream, path to the field, path of the schema object that lacks it).
UNDECLARED = [
    ("teams", "assignment_limit", ""),
    ("teams", "distribution_method", ""),
    ("admins", "away_status_reason_id", ""),
    ("conversation_parts", "app_package_code", ""),
    ("conversation_parts", "email_message_metadata", ""),
    ("conversation_parts", "author.from_ai_agent", "author"),
    ("conversation_parts", "author.is_ai_answer", "author"),
    ("tickets", "ticket_parts.ticket_parts[].app_package_code", "ticket_parts.ticket_parts[]"),
]


#: Stream → the vendor's documented example records of it; {} if none.
EXAMPLES = vendor_examples("customer_messaging")


def call(server: SandboxServer, method: str, path: str, payload: dict | None = None) -> t.Any:
    token = server.api.credentials["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    get = method == "GET"
    response = requests.request(
        method,
        server.url + path,
        headers=headers,
        params=payload if get else None,
        json=None if get else payload,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def first_page(server: SandboxServer, stream: str) -> list[dict]:
    method, path, payload, container = READS[stream]
    tables = server.api.tables
    path = path.format(**{p: tables[p][0]["id"] for p in ("conversations", "companies")})
    records = call(server, method, path, payload)[container]
    if isinstance(records, dict):  # a conversation's parts: a list object
        assert records["type"] == "conversation_part.list"
        assert records["total_count"] == len(records[container])
        return records[container]
    return records


def values(records: t.Iterable[dict], path: str) -> list[t.Any]:
    """Every value at `path` (`a.b`, `a[].b`: each element of list `a`) of the records."""
    found = list(records)
    for step in path.split("."):
        key, each = step.removesuffix("[]"), step.endswith("[]")
        found = [r[key] for r in found if isinstance(r, dict) and key in r]
        if each:
            found = [item for items in found for item in items]
    return found


def flat(table: list[dict] | dict[t.Any, list[dict]]) -> list[dict]:
    """A table's records (a child's: of every parent)."""
    return [r for rows in table.values() for r in rows] if isinstance(table, dict) else table


def canonical(records: t.Iterable[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in records)


@pytest.fixture(scope="module")
def server() -> t.Iterator[SandboxServer]:
    with SandboxServer(CustomerMessagingAPI(records=120)) as srv:
        yield srv


# -- the API's shapes -------------------------------------------------------------------


def test_ids_have_the_api_types(server: SandboxServer) -> None:
    pages = {stream: first_page(server, stream) for stream in READS}
    for stream in ("contacts", "companies", "segments", "company_segments"):
        assert all(OBJECT_ID.match(r["id"]) for r in pages[stream]), stream
    assert all(UUID.match(r["id"]) for r in pages["activity_logs"])
    for stream in ("admins", "tags", "teams", "conversations", "conversation_parts", "tickets"):
        assert all(isinstance(r["id"], str) and r["id"].isdigit() for r in pages[stream]), stream
    # ...while some ids are integers, as the API sends them
    assert all(isinstance(i, int) for i in values(pages["teams"], "admin_ids[]"))
    assert all(isinstance(i, int) for i in values(pages["admins"], "team_ids[]"))
    owners = {type(o) for o in values(pages["contacts"], "owner_id")}
    assert owners == {int, type(None)}
    assigned = {type(a) for a in values(pages["conversations"], "admin_assignee_id")}
    assert assigned == {int, type(None)}
    assert {type(a) for a in values(pages["tickets"], "admin_assignee_id")} == {str}
    assert "0" in values(pages["tickets"], "admin_assignee_id")  # unassigned
    custom = [a for a in pages["contact_attributes"] if a["custom"]]
    assert all(isinstance(a["id"], int) and isinstance(a["admin_id"], str) for a in custom)
    assert not any("id" in a for a in pages["contact_attributes"] if not a["custom"])


def test_nested_shapes_and_absent_keys(server: SandboxServer) -> None:
    contacts = first_page(server, "contacts")
    for field in ("tags", "notes", "companies", "opted_out_subscription_types"):
        lists = values(contacts, field)
        assert all(x["type"] == "list" and isinstance(x["data"], list) for x in lists), field
    assert values(contacts, "companies.data[].url")
    assert all(place["type"] == "location" for place in values(contacts, "location"))
    companies = server.api.tables["companies"]
    assert {} in values(companies, "plan")  # no plan: an empty object, not null
    assert any("size" not in c for c in companies)  # never set: absent, not null
    assert any("size" in c for c in companies)
    conversations = first_page(server, "conversations")
    assert values(conversations, "statistics.count_conversation_parts")
    assert values(conversations, "contacts.contacts[].id")
    widths = values(server.api.tables["conversations"], "source.attachments[].width")
    assert {type(w) for w in widths} == {int, str}  # sizes sometimes as numeric strings
    assert all(str(w).isdigit() for w in widths)
    tickets = first_page(server, "tickets")
    assert values(tickets, "ticket_type.ticket_type_attributes.data[].input_options.multiline")
    assert values(tickets, "ticket_attributes._default_title_")


def test_custom_attributes_follow_the_data_attributes(server: SandboxServer) -> None:
    python = {"string": str, "integer": int, "float": float, "boolean": bool, "date": int}
    for model, stream in (("contact", "contacts"), ("company", "companies")):
        attributes = first_page(server, f"{model}_attributes")
        types = {a["name"]: python[a["data_type"]] for a in attributes if a["custom"]}
        for attribute in filter(lambda a: a["custom"], attributes):
            assert attribute["full_name"] == f"custom_attributes.{attribute['name']}"
        seen: set[str] = set()
        for record in server.api.tables[stream]:
            for name, value in record["custom_attributes"].items():
                assert isinstance(value, types[name]), (stream, name, value)
                seen.add(name)
        assert seen == set(types)


@pytest.mark.parametrize(("stream", "path", "parent"), UNDECLARED)
def test_fields_beyond_the_declared_schemas(
    server: SandboxServer, stream: str, path: str, parent: str
) -> None:
    declared = {"sandbox": True, "schema_evolution": "off"}  # no learning from the API
    schema = TapCustomerMessaging(config=declared).streams[stream].schema
    for step in filter(None, parent.split(".")):
        schema = schema["properties"][step.removesuffix("[]")]
        schema = schema["items"] if step.endswith("[]") else schema
    assert path.rsplit(".", 1)[-1] not in schema["properties"]
    served = values(flat(server.api.tables[stream]), path)
    assert [v for v in served if v is not None], f"{stream}: no {path} served"


# -- replace ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", sorted(EXAMPLES))
def test_replace_serves_the_vendor_examples_verbatim(stream: str) -> None:
    examples = EXAMPLES[stream]
    api = CustomerMessagingAPI(records=30)
    api.replace(stream, examples)
    with SandboxServer(api) as server:
        served = first_page(server, stream)
    assert canonical(served) == canonical(examples)
    assert api.expected_counts()[stream] == len(examples)


def test_replace_serves_records_without_the_fields_it_sorts_and_pages_on() -> None:
    odd = [
        {"id": 7, "updated_at": 1_700_000_000, "created_at": 1_700_000_000},
        {"id": "a1", "updated_at": "1700000000"},  # a time as a numeric string
        {"name": "no id, no times"},
        {"id": None, "updated_at": None},
        {"id": "b2", "updated_at": 1_600_000_000, "created_at": 5},
        {"id": 3},
    ]
    api = CustomerMessagingAPI(records=30)
    for stream in READS:
        api.replace(stream, odd)
    with SandboxServer(api) as server:
        for stream in set(READS) - {"segments"}:
            assert canonical(first_page(server, stream)) == canonical(odd), stream
        # segments come 5 a page, by id: the cursor orders integer and string ids
        page = call(server, "GET", "/v1/segments")
        rest = call(server, "GET", "/v1/segments", {"next": page["pages"]["next"]})
        assert canonical(page["segments"] + rest["segments"]) == canonical(odd)
        assert rest["pages"]["next"] is None
    assert all(api.expected_counts()[stream] == len(odd) for stream in READS)


def test_replaced_children_go_to_the_first_parent_and_follow_replaced_parents() -> None:
    api = CustomerMessagingAPI(records=30)
    first = api.tables["conversations"][0]["id"]
    api.replace("conversation_parts", [{"id": "p1", "conversation_id": 99}, {"id": "p2"}])
    assert api.tables["conversation_parts"] == {
        first: [{"id": "p1", "conversation_id": first}, {"id": "p2"}]
    }
    old_lists = [api.tables["company_segments"][c["id"]] for c in api.tables["companies"][:2]]
    api.replace("companies", [{"id": "c1", "name": "One"}, {"id": 2, "name": "Two"}])
    api.replace("conversations", [{"id": "v1", "updated_at": 5}])
    assert api.tables["company_segments"] == {"c1": old_lists[0], 2: old_lists[1]}
    counts = api.expected_counts()
    assert counts["company_segments"] == sum(map(len, old_lists))
    assert counts["conversation_parts"] == 2
    api.delete_parent("companies", 2)
    assert api.expected_counts()["company_segments"] == len(old_lists[0])
    with SandboxServer(api) as server:
        parts = [{"id": "p1", "conversation_id": "v1"}, {"id": "p2"}]
        nested = call(server, "GET", "/v1/conversations/v1")["conversation_parts"]
        assert nested == {
            "type": "conversation_part.list",
            "conversation_parts": parts,
            "total_count": 2,
        }
        api.flat_parts = True
        assert call(server, "GET", "/v1/conversations/v1")["conversation_parts"] == parts
        assert call(server, "GET", "/v1/companies/c1/segments")["data"] == old_lists[0]
        token = api.credentials["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        gone = requests.get(f"{server.url}/v1/companies/2/segments", headers=headers, timeout=10)
        assert gone.status_code == 404
        result = sync(TapCustomerMessaging, config_for(server))
    assert result.counts == {k: v for k, v in api.expected_counts().items() if v}


# -- drift --------------------------------------------------------------------------------


def test_drift_alters_values_but_never_keys_or_paging_fields() -> None:
    plain, api = CustomerMessagingAPI(records=60), CustomerMessagingAPI(records=60, drift=True)
    with SandboxServer(api) as server:
        result = sync(TapCustomerMessaging, config_for(server))
    assert result.counts == api.expected_counts() == plain.expected_counts()
    changed = set()
    for stream, table in plain.tables.items():
        assert type(table) is type(api.tables[stream])
        if isinstance(table, dict):
            assert table.keys() == api.tables[stream].keys()
        for before, after in zip(flat(table), flat(api.tables[stream]), strict=True):
            for field in api.stable_fields[stream]:
                assert before.get(field) == after.get(field), (stream, field)
            changed |= {(stream, f) for f in before if before[f] != after[f]}
    assert {stream for stream, _ in changed} >= set(READS) - set(CHILDREN) - {"tags"}
