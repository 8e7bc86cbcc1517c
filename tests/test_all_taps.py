"""Behaviour every tap must show, run against its sandbox over real HTTP.

Each test is parametrized over every tap of the collection, so a new tap gets all of it
checked without writing it again: exact counts per stream, unique keys, records
valid against their schemas, transient faults recovered, bad bodies and rejected
credentials failing with one clear line, invalid config failing before any request,
secrets never printed, and a killed run resumed from its last STATE losing nothing.
"""

from __future__ import annotations

import itertools
from collections import Counter

import jsonschema
import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.fidelity import repeated_schemas
from tests.support import (
    api_class,
    available_taps,
    config_for,
    parse_messages,
    run_cli,
    run_until_killed,
    sync,
)
from tests.support import tap_class as get_tap_class

TAPS = available_taps()
SECRET = "Zq8-DistinctiveSecret-4471x"


def tap_command(package: str) -> str:
    return get_tap_class(package).name


@pytest.fixture(params=TAPS)
def package(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def server(package: str):
    with SandboxServer(api_class(package)(records=120)) as srv:
        yield srv


def keys_of(schema_message: dict) -> list[str]:
    return schema_message["key_properties"]


def test_every_stream_matches_the_sandbox(package: str, server: SandboxServer) -> None:
    result = sync(get_tap_class(package), config_for(server))
    expected = server.api.expected_counts()
    assert result.counts == expected
    assert all(count > 0 for count in expected.values()), "every stream has sandbox data"
    for stream, records in result.by_stream().items():
        message = result.schemas[stream]
        validator = jsonschema.Draft7Validator(message["schema"])
        for record in records:
            validator.validate(record)
        keys = [tuple(r[k] for k in keys_of(message)) for r in records]
        assert len(keys) == len(set(keys)), f"{stream}: duplicate primary keys"
    assert repeated_schemas(result.messages) == []


def test_sandbox_mode_needs_no_credentials(package: str) -> None:
    tap_cls = get_tap_class(package)
    result = sync(tap_cls, {"sandbox": True})
    assert result.counts == api_class(package)().expected_counts()


def test_discovery_lists_the_seed_streams(package: str) -> None:
    catalog = get_tap_class(package)(config={"sandbox": True}).catalog_dict
    names = {entry["tap_stream_id"] for entry in catalog["streams"]}
    assert names == set(api_class(package)().expected_counts())
    for entry in catalog["streams"]:
        assert entry["key_properties"], f"{entry['tap_stream_id']} has a primary key"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 500, "times": 2},
        {"kind": "status", "status": 429, "retry_after": 1},
        {"kind": "drop"},
    ],
    ids=["503", "500x2", "429-retry-after", "dropped-connection"],
)
def test_transient_faults_are_retried(package: str, server: SandboxServer, fault: dict) -> None:
    injected = server.inject("*", **fault)
    result = sync(get_tap_class(package), config_for(server))
    assert result.counts == server.api.expected_counts()
    assert injected.hits == fault.get("times", 1)


def test_retries_exhausted_fail_with_one_line(package: str, server: SandboxServer) -> None:
    server.inject("*", kind="status", status=502, times=-1)
    proc = run_cli(tap_command(package), config_for(server, max_retries=2))
    assert proc.returncode == 1
    attempts = Counter((r.method, r.path, str(sorted(r.query.items()))) for r in server.requests)
    assert max(attempts.values()) == 3, "max_retries=2 means 3 attempts"
    last = proc.stderr.strip().splitlines()[-1]
    assert "failed after 3 attempts: 502 Bad Gateway" in last
    assert "Stream '" in last
    assert "GET /v1/" in last or "POST /v1/" in last


def test_non_json_body_fails_naming_stream_and_path(package: str, server: SandboxServer) -> None:
    server.inject("*", kind="bad_json")
    proc = run_cli(tap_command(package), config_for(server))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "Stream '" in last
    assert "/v1/" in last
    assert "not JSON" in last
    failed = last.split("Stream '")[1].split("'")[0]
    assert failed not in parse_messages(proc.stdout).counts, "nothing from the bad page"


def test_rejected_credential_is_not_retried(package: str, server: SandboxServer) -> None:
    config = config_for(server)
    credential = get_tap_class(package).auth.settings[-1]
    config[credential] = SECRET
    proc = run_cli(tap_command(package), config)
    assert proc.returncode == 1
    sent = Counter((r.method, r.path, str(sorted(r.query.items()))) for r in server.requests)
    assert set(sent.values()) == {1}, "a rejected request is not retried"
    assert len(sent) <= 16, "streams already in flight at most (max_concurrent_requests)"
    last = proc.stderr.strip().splitlines()[-1]
    assert "credential was rejected" in last
    assert f"'{credential}'" in last
    assert SECRET not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"drop_credentials": True}, None),
        ({"start_date": "yesterday"}, "start_date"),
        ({"api_url": "api.example.com"}, "api_url"),
        ({"end_date": "2020-01-01T00:00:00Z", "start_date": "2021-01-01T00:00:00Z"}, "end_date"),
    ],
    ids=["missing-credential", "bad-start-date", "bad-url", "end-before-start"],
)
def test_invalid_config_fails_before_any_request(
    package: str, server: SandboxServer, change: dict, setting: str | None
) -> None:
    config = config_for(server)
    change = dict(change)  # the parameter is shared by every tap's run of this test
    if change.pop("drop_credentials", False):
        setting = get_tap_class(package).auth.settings[0]
        config.pop(setting)
    config.update(change)
    proc = run_cli(tap_command(package), config)
    assert proc.returncode == 1
    assert server.requests == []
    assert f"'{setting}'" in proc.stderr


def test_resume_after_kill_loses_nothing(package: str) -> None:
    """Kill the tap mid-run, resume from its last STATE: every record arrives."""
    api = api_class(package)(records=400)
    with SandboxServer(api, latency_ms=15) as server:
        tap_cls = get_tap_class(package)
        records = itertools.count(1)
        first, _ = run_until_killed(
            tap_cls.name,
            config_for(server),
            lambda line: b'"RECORD"' in line and next(records) >= 150,
        )
        assert first.counts, "the first run emitted records before it was killed"
        second = sync(tap_cls, config_for(server), state=first.state)
        expected = api.expected_counts()
        for stream in expected:
            key = first.schemas.get(stream) or second.schemas[stream]
            ids = {
                tuple(r[k] for k in key["key_properties"])
                for r in first.records(stream) + second.records(stream)
            }
            assert len(ids) == expected[stream], stream
