"""The shapes real accounts send, through each tap's command over real HTTP.

Deleted items (a recents element without its record, records in a deleted state), a
records container holding one object, resources the API sends without their key, and a
list nested in a list object: the sandboxes serve these forms by default.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from collections.abc import Iterator

import pytest

from rest_taps.common.records import account_key
from rest_taps.common.sandbox import SandboxServer
from rest_taps.common.sandbox.data import sql_time
from rest_taps.customer_messaging.sandbox import CustomerMessagingAPI
from rest_taps.error_tracking.sandbox import ErrorTrackingAPI
from rest_taps.pipeline_crm.sandbox import RECENTS, PipelineCrmAPI
from rest_taps.web_experiments.sandbox import WebExperimentsAPI
from tests.fidelity import (
    RFC3339_UTC,
    carries,
    instant,
    invalid_records,
    normalized,
    same_value,
)
from tests.support import (
    SyncResult,
    config_for,
    declared_catalog,
    parse_messages,
    run_cli,
    tap_class,
)

DELETED_AT = "_sdc_deleted_at"
ACCOUNT_SETTINGS = ("smartcode", "thresholds", "integrations")


def cli(
    package: str,
    server: SandboxServer,
    state: dict | None = None,
    settings: dict | None = None,
    **kwargs: t.Any,
) -> tuple[SyncResult, str]:
    """A run of `package`'s command against `server` (with `settings`), which must
    succeed: its messages and its log."""
    config = config_for(server, **(settings or {}))
    proc = run_cli(tap_class(package).name, config, state, **kwargs)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return parse_messages(proc.stdout), proc.stderr


def rfc3339(moment: str | int) -> str:
    """A time the sandbox serves (`YYYY-MM-DD HH:MM:SS` in UTC, or Unix seconds) as the
    taps write `_sdc_deleted_at`: RFC 3339 in UTC, whole seconds."""
    return instant(moment).strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]


def same_record(emitted: t.Any, sent: t.Any) -> bool:
    """The same fields (at every depth) with the same values, a time as the same instant
    in RFC 3339 UTC (`tests.fidelity.same_value`)."""
    if isinstance(sent, dict):
        return (
            isinstance(emitted, dict)
            and emitted.keys() == sent.keys()
            and all(same_record(emitted[key], value) for key, value in sent.items())
        )
    if isinstance(sent, list):
        return (
            isinstance(emitted, list)
            and len(emitted) == len(sent)
            and all(map(same_record, emitted, sent))
        )
    return same_value(emitted, sent)


# -- deletions ------------------------------------------------------------------------------


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with SandboxServer(PipelineCrmAPI(records=40)) as srv:
        yield srv


@pytest.mark.parametrize("discover", [False, True], ids=["catalog", "discovering"])
def test_a_deleted_item_in_recents_is_a_record_of_its_key_and_deletion_time(
    crm: SandboxServer, discover: bool
) -> None:
    """With a catalog, and discovering first (whose sample of the first page holds the
    deleted deal: its products are not sampled either)."""
    api = crm.api
    first, _ = cli("pipeline_crm", crm)
    assert first.counts == api.expected_counts()
    # A deal changed, then one deleted, then one added: the deleted deal's element
    # `{"item": "deal", "id": …, "data": null}` is between the others on one page.
    changed, gone = api.tables["deals"][0], api.tables["deals"][1]["id"]
    changed["update_time"] = sql_time(api.clock + 60)
    api.delete("deals", gone, api.clock + 120)
    api.clock += 180
    (added,) = api.new_activity(new=1, updated=0, deleted=0)["deals"]
    crm.requests.clear()
    before = dt.datetime.now(dt.UTC)

    second, log = cli("pipeline_crm", crm, state=first.state, discover=discover)

    start = first.state["bookmarks"]["deals"]["replication_key_value"]
    deals = [d for d in second.records("deals") if d.get("update_time") != start]
    assert [d["id"] for d in deals] == [changed["id"], gone, added]
    pages = [r for r in crm.requests_to("/v1/recents") if r.query["items"] == "deal"]
    # one page (and discovery's sample of the first page, read without the run's state)
    assert len(pages) == 1 + discover, "one page"
    tombstone = deals[1]
    assert set(tombstone) == {"id", DELETED_AT}
    assert RFC3339_UTC.match(tombstone[DELETED_AT]), tombstone
    assert before <= dt.datetime.fromisoformat(tombstone[DELETED_AT]) <= dt.datetime.now(dt.UTC)
    assert DELETED_AT not in deals[0]
    assert DELETED_AT not in deals[2]
    # no warning about its missing time; the bookmark is the newest time sent
    assert "no 'update_time'" not in log
    bookmark = second.state["bookmarks"]["deals"]["replication_key_value"]
    assert bookmark == deals[2]["update_time"]
    assert instant(bookmark) > instant(changed["update_time"])
    # the deleted deal's products are not read, the others' are
    asked = {int(r.path.split("/")[3]) for r in crm.requests_to("/v1/deals/*/products")}
    read = {d["id"] for d in second.records("deals") if DELETED_AT not in d}
    if discover:  # discovery samples the products of every other deal of its page
        assert read < asked
    else:
        assert asked == read
    assert gone not in asked
    # the schema declares the property
    declared = second.schemas["deals"]["schema"]["properties"][DELETED_AT]
    assert declared == {"type": ["string", "null"], "format": "date-time"}
    assert invalid_records(second.messages) == []


def test_every_recents_type_reports_deletions_and_full_syncs_read_them(
    crm: SandboxServer,
) -> None:
    api = crm.api
    gone = {stream: ids[-1] for stream, ids in api.new_activity(new=1, updated=1).items()}
    result, log = cli("pipeline_crm", crm)
    assert result.counts == api.expected_counts()
    for stream in RECENTS.values():
        tombstones = [r for r in result.records(stream) if set(r) == {"id", DELETED_AT}]
        assert [r["id"] for r in tombstones] == [gone[stream]], stream
        assert DELETED_AT in result.schemas[stream]["schema"]["properties"], stream
    assert invalid_records(result.messages) == []
    assert "no 'update_time'" not in log


def test_pages_of_deletions_only_are_told_apart() -> None:
    """Two full pages of deleted items (no record on either) are two pages, not one page
    repeated: paging tells pages apart by their elements, not by the records in them."""
    api = PipelineCrmAPI(records=110)
    with SandboxServer(api) as server:
        first, _ = cli("pipeline_crm", server)
        for n, deal in enumerate(list(api.tables["deals"][:100])):
            api.delete("deals", deal["id"], api.clock + n + 1)
        server.requests.clear()
        second, _ = cli("pipeline_crm", server, state=first.state)
        pages = [r for r in server.requests_to("/v1/recents") if r.query["items"] == "deal"]
    tombstones = [d for d in second.records("deals") if set(d) == {"id", DELETED_AT}]
    assert len(tombstones) == 100
    assert len(pages) >= 2, "two pages of deletions only"


@pytest.mark.parametrize("time_format", ["rfc3339", "raw"])
def test_an_element_with_its_own_time_is_deleted_at_that_time(
    crm: SandboxServer, time_format: str
) -> None:
    """`_sdc_deleted_at` is RFC 3339 in UTC with either `time_format`: the other times
    follow the setting."""
    body = {
        "success": True,
        "data": [
            {"item": "deal", "id": 1, "data": {"id": 1, "update_time": "2024-05-01 09:00:00"}},
            {"item": "deal", "id": 2, "data": None, "update_time": "2024-05-01 10:00:00"},
            {"item": "deal", "id": 3, "data": {"id": 3, "update_time": "2024-05-01 11:00:00"}},
        ],
    }
    crm.inject("/v1/recents", "body", body=body)
    settings = {"time_format": time_format}
    config = config_for(crm, **settings)
    catalog = declared_catalog(tap_class("pipeline_crm"), config, ["deals"])
    result, _ = cli("pipeline_crm", crm, settings=settings, catalog=catalog)
    converted = time_format == "rfc3339"
    assert result.records("deals") == [
        {"id": 1, "update_time": "2024-05-01T09:00:00Z" if converted else "2024-05-01 09:00:00"},
        {"id": 2, DELETED_AT: "2024-05-01T10:00:00Z"},
        {"id": 3, "update_time": "2024-05-01T11:00:00Z" if converted else "2024-05-01 11:00:00"},
    ]
    assert invalid_records(result.messages) == []


def test_records_in_a_deleted_state_are_written_whole_with_the_deletion_time(
    crm: SandboxServer,
) -> None:
    api = crm.api
    deal = dict(api.tables["deals"][3], deleted=True)
    person = dict(api.tables["persons"][0], delete_time="2024-02-03 04:05:06")
    api.replace("deals", [deal, *api.tables["deals"][4:6]])
    api.replace("persons", [person, api.tables["persons"][1]])
    result, _ = cli("pipeline_crm", crm)
    deals = {d["id"]: d for d in result.records("deals")}
    persons = {p["id"]: p for p in result.records("persons")}
    written = deals.pop(deal["id"])
    assert same_record(written, {**deal, DELETED_AT: rfc3339(deal["update_time"])}), written
    assert written[DELETED_AT] == rfc3339(deal["update_time"])
    written = persons.pop(person["id"])
    assert carries(normalized(written), normalized(person)), written  # nulls aside
    assert (written["delete_time"], written[DELETED_AT]) == (
        "2024-02-03T04:05:06Z",
        "2024-02-03T04:05:06Z",
    )
    assert len(deals) == 2
    assert len(persons) == 1
    assert all(DELETED_AT not in r for r in (*deals.values(), *persons.values()))
    users = {u["id"]: u for u in api.tables["users"]}
    for user in result.records("users"):  # the sandbox's last user is a deleted one
        if users[user["id"]]["is_deleted"]:
            assert user[DELETED_AT] == rfc3339(users[user["id"]]["modified"])
        else:
            assert DELETED_AT not in user
    assert any(u["is_deleted"] for u in users.values())
    # a deleted deal's products are not read
    assert f"/v1/deals/{deal['id']}/products" not in {r.path for r in crm.requests}


def test_a_deleted_project_is_listed_with_a_null_name() -> None:
    with SandboxServer(ErrorTrackingAPI(records=20)) as server:
        result, _ = cli("error_tracking", server)
        served = {p["id"]: p for p in server.api.tables["projects"]}
    projects = result.records("projects")
    assert len(projects) == len(served)
    deleted = [p for p in projects if p["name"] is None]
    assert deleted, "the sandbox lists a deleted project"
    for project in projects:
        moment = served[project["id"]]["date_modified"]
        expected = rfc3339(moment) if project["name"] is None else None
        assert project.get(DELETED_AT) == expected
    assert DELETED_AT in result.schemas["projects"]["schema"]["properties"]
    assert DELETED_AT not in result.schemas["items"]["schema"]["properties"]


# -- one object for a list -------------------------------------------------------------------


def test_a_container_holding_one_object_is_one_record_in_any_stream() -> None:
    with SandboxServer(ErrorTrackingAPI(records=20)) as server:
        one = {"id": 9, "environment": "production", "project_id": 4}
        server.inject("/v1/environments", "body", body={"err": 0, "result": {"environments": one}})
        result, _ = cli("error_tracking", server)
    assert result.records("environments") == [one]
    with SandboxServer(PipelineCrmAPI(records=20)) as server:
        one = {"id": 1, "code": "EUR", "name": "Euro", "active_flag": True}
        server.inject("/v1/currencies", "body", body={"success": True, "data": one})
        result, _ = cli("pipeline_crm", server)
    assert result.records("currencies") == [one]


# -- keys the API never sends ------------------------------------------------------------------


def test_account_settings_get_a_uid_of_the_account_the_same_on_every_run() -> None:
    api = WebExperimentsAPI(records=20)
    key = api.credentials["api_key"]
    with SandboxServer(api) as server:
        runs = [cli("web_experiments", server) for _ in range(2)]
        expected = account_key(server.url, (key,))
        other = WebExperimentsAPI(records=20)
        other.credentials = {"api_key": "another-account-key"}
        with SandboxServer(other) as second_account:
            elsewhere, _ = cli("web_experiments", second_account)
    for stream in ACCOUNT_SETTINGS:
        (record,) = api.tables[stream]
        uids = [result.records(stream) for result, _ in runs]
        assert uids[0] == uids[1] == [{**record, "uid": expected}], stream
        assert runs[0][0].schemas[stream]["key_properties"] == ["uid"]
        (made,) = elsewhere.records(stream)
        assert made["uid"] != expected
    assert re.fullmatch(r"[0-9a-f]{32}", expected)
    for result, log in runs:
        text = "".join(map(str, result.messages)) + log
        assert key not in text
        assert "***" not in expected


def test_a_uid_the_api_sends_is_kept() -> None:
    api = WebExperimentsAPI(records=20)
    api.replace("thresholds", [{"uid": "sent-by-the-api", "visitors": 10}])
    with SandboxServer(api) as server:
        result, _ = cli("web_experiments", server)
    assert result.records("thresholds") == [{"uid": "sent-by-the-api", "visitors": 10}]


# -- a list in a list object ---------------------------------------------------------------------


@pytest.mark.parametrize("flat", [False, True], ids=["list-object", "flat-list"])
def test_conversation_parts_are_read_in_both_forms(flat: bool) -> None:
    api = CustomerMessagingAPI(records=30)
    api.flat_parts = flat
    with SandboxServer(api) as server:
        result, _ = cli("customer_messaging", server)
    parts = result.records("conversation_parts")
    assert len(parts) == api.expected_counts()["conversation_parts"] > 0
    served = {p["id"]: p for rows in api.tables["conversation_parts"].values() for p in rows}
    for part in parts:
        sent = {**served[part["id"]], "conversation_id": part["conversation_id"]}
        assert same_record(part, sent), (part, sent)
