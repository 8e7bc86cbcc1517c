"""tap-rest against its own sandbox (a parcel-logistics API unlike the five), read through
the config that describes it (rest_taps/rest/example.yaml): every paginator type, a
one-object body, children in both placeholder forms, fields included from a parent under a
composite key, an incremental start parameter, an ignored 404 and client-level defaults."""

from __future__ import annotations

import copy
import json
import subprocess
from collections import Counter

import pytest
import yaml

from rest_taps.common.sandbox import SandboxServer
from rest_taps.rest import sandbox
from rest_taps.rest.sandbox import TOKEN
from rest_taps.rest.tap import EXAMPLE, TapRest
from tests.support import config_for, run_cli, sync


@pytest.fixture
def server() -> SandboxServer:
    with SandboxServer(sandbox.API(records=60)).start() as server:
        yield server


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_a_full_run_reads_every_record_of_every_resource(server: SandboxServer) -> None:
    result = sync(TapRest, config_for(server), discover=True)
    expected = {k: v for k, v in server.api.expected_counts().items() if v}
    assert result.counts == expected
    assert result.records("account") == server.api.tables["account"], "one object, one record"


def test_each_paginator_sends_its_parameters(server: SandboxServer) -> None:
    sync(TapRest, config_for(server, max_concurrent_requests=1), discover=True)
    seen = {(r.path, tuple(sorted(r.query.items()))) for r in server.requests}
    for path, query in seen:
        assert ("lang", "en") in query, f"{path}: resource_defaults' params merged"
    assert {("limit", "25"), ("offset", "50"), ("status", "any")} <= set(
        next(q for p, q in seen if p == "/v1/shipments" and ("offset", "50") in q)
    ), "offset paging with the resource's own params beside the defaults"
    assert any(p == "/v1/drivers" and ("page", "3") in q for p, q in seen), "Link header"
    assert any(p == "/v1/regions" for p, _ in seen), "an endpoint that is a path alone"
    assert any(p == "/v1/carriers" and ("after", "c15") in q for p, q in seen), "cursor"
    assert any(p == "/v1/events" and ("offset", "150") in q for p, q in seen), "JSON link"
    assert any(p.endswith("/parcels") and ("p", "2") in q for p, q in seen), "page number"
    assert any(p == "/v1/depots/1/stock" and ("page", "1") in q for p, q in seen), "from page 0"
    assert not any(p == "/v1/depots/1/stock" and ("page", "3") in q for p, q in seen), (
        "paging ends at the first empty page"
    )
    headers = {r.headers.get("x-api-version") for r in server.requests}
    assert headers == {"2"}, "the client's headers on every request"


def test_children_carry_their_parent_fields_under_a_composite_key(
    server: SandboxServer,
) -> None:
    result = sync(TapRest, config_for(server), discover=True)
    shipments = {s["id"]: s for s in result.records("shipments")}
    parcels = result.records("parcels")
    keys = Counter((p["_shipments_id"], p["seq"]) for p in parcels)
    assert max(keys.values()) == 1, "(parent id, seq) is unique"
    assert max(Counter(p["seq"] for p in parcels).values()) > 1, "seq alone is not"
    for parcel in parcels:
        assert parcel["_shipments_code"] == shipments[parcel["_shipments_id"]]["code"]
    stock = result.records("stock")
    assert {s["_depots_id"] for s in stock} == set(server.api.tables["stock"]), (
        "the older resolve form; the closed depot's 404 skips it"
    )
    key = result.schemas["parcels"]["key_properties"]
    assert key == ["_shipments_id", "seq"]


def test_an_ignored_404_is_an_empty_resource(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = example()
    archive = {"name": "archive", "endpoint": "/v1/archive"}
    failing = sync_cli(server, {**config, "resources": [archive]})
    assert failing.returncode == 1, "a top-level 404 ends the run"
    assert "GET /v1/archive failed with 404" in failing.stderr
    archive = {
        "name": "archive",
        "endpoint": {
            "path": "/v1/archive",
            "response_actions": [{"status_code": 404, "action": "ignore"}],
        },
    }
    config["resources"].append(archive)
    result = sync(TapRest, config_for(server, rest_api=config), discover=True)
    assert "archive" in result.schemas
    assert "archive" not in result.counts
    assert result.counts["stock"] == server.api.expected_counts()["stock"]
    assert "the parent was deleted" not in caplog.text, "the closed depot's 404 is ignored"


def sync_cli(server: SandboxServer, rest_api: dict) -> subprocess.CompletedProcess[str]:
    return run_cli("tap-rest", config_for(server, rest_api=rest_api), discover=True)


def test_a_second_run_starts_from_the_bookmark(server: SandboxServer) -> None:
    config = config_for(server)
    first = sync(TapRest, config, discover=True)
    events = first.records("events")
    bookmark = first.state["bookmarks"]["events"]["replication_key_value"]
    assert bookmark == max(e["occurred_at"] for e in events)
    assert first.schemas["events"]["bookmark_properties"] == ["occurred_at"]
    server.api.new_events(5)
    server.requests.clear()
    second = sync(TapRest, config, state=first.state, discover=True)
    again = second.records("events")
    assert again[0]["occurred_at"] == bookmark, "the bookmark's record again"
    assert len(again) == 6, "and only what is new"
    sent = [r.query.get("since") for r in server.requests if r.path == "/v1/events"]
    assert sent[-1] == bookmark, "start_param carries the bookmark"
    assert second.counts["shipments"] == first.counts["shipments"], "full table re-read"


def test_start_date_wins_over_an_earlier_initial_value(server: SandboxServer) -> None:
    config = config_for(server, start_date="2024-01-02T00:00:00+00:00")
    result = sync(TapRest, config, discover=True)
    assert {r.query.get("since") for r in server.requests if r.path == "/v1/events"} == {
        "2024-01-02T00:00:00Z"
    }, "in the form of initial_value"
    events = [e["occurred_at"] for e in result.records("events")]
    assert events
    assert min(events) == "2024-01-02T00:00:00Z"
    early = config_for(server, start_date="2020-01-01T00:00:00Z")
    server.requests.clear()
    sync(TapRest, early, discover=True)
    assert {r.query.get("since") for r in server.requests if r.path == "/v1/events"} == {
        "2024-01-01T00:00:00Z"
    }, "an earlier start_date leaves initial_value"


def test_found_paging_and_records_read_what_named_ones_read(server: SandboxServer) -> None:
    config = example()
    auto = copy.deepcopy(config)
    del auto["client"]["paginator"]
    for resource in auto["resources"]:
        if resource["name"] == "events":
            resource["endpoint"]["paginator"] = "auto"
        if resource["name"] == "regions":
            del resource["endpoint"]["data_selector"]
    named = sync(TapRest, config_for(server, rest_api=config), discover=True)
    found = sync(TapRest, config_for(server, rest_api=auto), discover=True)
    assert found.counts == named.counts


def test_a_config_given_as_json_text_or_file(server: SandboxServer, tmp_path) -> None:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(example()))
    from_file = sync(TapRest, config_for(server, rest_api=str(path)), discover=True)
    from_text = sync(TapRest, config_for(server, rest_api=json.dumps(example())), discover=True)
    assert (
        from_file.counts
        == from_text.counts
        == {k: v for k, v in server.api.expected_counts().items() if v}
    )


def broken(change: str) -> dict:
    config = example()
    resources = {r["name"]: r for r in config["resources"] if isinstance(r, dict)}
    if change == "auth":
        config["client"]["auth"] = {"type": "oauth_magic"}
    elif change == "parent":
        resources["parcels"]["endpoint"]["path"] = "shipments/{resources.nowhere.id}/parcels"
    elif change == "offset":
        del resources["shipments"]["endpoint"]["paginator"]["limit"]
    elif change == "selector":
        resources["events"]["endpoint"]["data_selector"] = "$..events"
    return config


@pytest.mark.parametrize(
    ("rest_api", "fragment"),
    [
        ("/nowhere/api.yaml", "Setting 'rest_api': no file at '/nowhere/api.yaml'"),
        ("{not json", "is not valid JSON/YAML"),
        (broken("auth"), "'client.auth.type' 'oauth_magic' is not one of"),
        (broken("parent"), "resource 'parcels': its parent resource 'nowhere' is not defined"),
        (broken("offset"), "resource 'shipments': paginator 'offset': needs a positive limit"),
        (broken("selector"), "resource 'events': data_selector: JSONPath '$..events'"),
    ],
    ids=["no-file", "bad-text", "auth", "parent", "offset", "selector"],
)
def test_a_bad_config_fails_before_any_request_with_one_line(
    server: SandboxServer, rest_api: object, fragment: str
) -> None:
    done = run_cli("tap-rest", config_for(server, rest_api=rest_api), discover=True)
    assert done.returncode == 1
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr
    assert not server.requests


def test_a_path_on_another_origin_is_not_sent_the_credential(server: SandboxServer) -> None:
    config = example()
    config["resources"] = [{"name": "away", "endpoint": "https://elsewhere.example.com/v1/x"}]
    done = sync_cli(server, config)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "Stream 'away': its path https://elsewhere.example.com/v1/x is on another origin" in last
    assert TOKEN not in done.stderr


def test_base_url_with_a_path_and_a_token_the_file_holds(server: SandboxServer) -> None:
    config = example()
    config["client"]["base_url"] = f"{server.url}/v1/"
    config["client"]["auth"]["token"] = TOKEN
    for resource in config["resources"]:
        endpoint = resource["endpoint"]
        if isinstance(endpoint, str):
            resource["endpoint"] = endpoint.removeprefix("/v1")
        else:
            endpoint["path"] = endpoint["path"].removeprefix("/v1/")
    result = sync(TapRest, {"rest_api": config, "backoff_factor": 0}, discover=True)
    assert result.counts == {k: v for k, v in server.api.expected_counts().items() if v}


def test_a_child_sends_its_parent_fields_in_headers(server: SandboxServer) -> None:
    config = example()
    parcels = next(r for r in config["resources"] if r["name"] == "parcels")
    parcels["endpoint"]["headers"] = {"X-Shipment": "{resources.shipments.code}"}
    sync(TapRest, config_for(server, rest_api=config), discover=True)
    sent = {
        (r.path.split("/")[3], r.headers.get("x-shipment"))
        for r in server.requests
        if r.path.endswith("/parcels")
    }
    assert sent
    assert all(code == f"SH-{shipment}" for shipment, code in sent)


def test_end_value_and_a_parent_not_selected_by_default(server: SandboxServer) -> None:
    config = example()
    for resource in config["resources"]:
        if resource["name"] == "events":
            resource["endpoint"]["incremental"].update(
                end_param="until", end_value="2024-01-01T05:00:00Z"
            )
        if resource["name"] == "shipments":
            resource["selected"] = False
    tap = TapRest(config=config_for(server, rest_api=config), setup_mapper=False)
    defaults = {
        entry["tap_stream_id"]: md["metadata"].get("selected-by-default")
        for entry in tap.catalog_dict["streams"]
        for md in entry["metadata"]
        if not md["breadcrumb"]
    }
    assert defaults["shipments"] is False
    assert defaults["parcels"] is True
    result = sync(TapRest, config_for(server, rest_api=config), discover=True)
    times = [e["occurred_at"] for e in result.records("events")]
    assert max(times) < "2024-01-01T05:00:00Z", "end_value is excluded"
    first = next(r for r in server.requests if r.path == "/v1/events")
    assert first.query.get("until") == "2024-01-01T05:00:00Z", "end_param (then the links)"
    assert "shipments" not in result.counts, "a parent not selected is read, not written"
    assert result.counts["parcels"] == server.api.expected_counts()["parcels"]


def test_rest_api_from_the_environment(
    server: SandboxServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(example()))
    monkeypatch.setenv("TAP_REST_REST_API", str(path))
    done = run_cli("tap-rest", config_for(server), env_config=True, discover=True)
    assert done.returncode == 0, done.stderr[-500:]
    counts = Counter(
        json.loads(line)["stream"] for line in done.stdout.splitlines() if '"RECORD"' in line
    )
    assert counts == {k: v for k, v in server.api.expected_counts().items() if v}
