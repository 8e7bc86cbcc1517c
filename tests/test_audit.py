"""Promises of a run that no other test would notice broken, each over real HTTP against a
tap's sandbox, with the default settings (concurrent streams, read-ahead) unless a test
needs another.

Each test here was written against one plausible bug, put into the code by hand, that the
rest of the suite let through: a record without its key on the fast path, a learned
schema not kept or not replayed, a whitelist catalog read as select-all, a request slot
kept by a failed request, STATE lines left in a buffer, a credential followed to another
port, a page cap one short, a 429 that holds only its own worker, and a failed run whose
other streams keep on sending.
"""

from __future__ import annotations

import copy
import itertools
import time
import typing as t

import pytest

from rest_taps.common.sandbox import SandboxAPI, SandboxServer
from tests.fidelity import invalid_records
from tests.support import (
    SyncResult,
    api_class,
    available_taps,
    config_for,
    declared_catalog,
    parse_messages,
    run_cli,
    run_until_killed,
    sync,
    tap_class,
)

TAP = tap_class("error_tracking")


# -- keys and schemas ---------------------------------------------------------------------------


def test_a_record_without_its_primary_key_ends_the_run_naming_it() -> None:
    """Even a record that fits the schema in every other way (the fast path's case)."""
    api = api_class("error_tracking")(records=20)
    rows = [dict(row) for row in api.tables["environments"]]
    del rows[3]["id"]
    api.replace("environments", rows)
    with SandboxServer(api) as server:
        proc = run_cli(TAP.name, config_for(server))
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "Stream 'environments'" in last
    assert "key property 'id' has no value" in last
    emitted = parse_messages(proc.stdout).records("environments")
    assert all("id" in record for record in emitted)


def noted(api: SandboxAPI, value: t.Any) -> SandboxAPI:
    """`api` with a property no schema declares, `audit_note`, in every record it holds."""
    for rows in api.tables.values():
        for row in itertools.chain(*rows.values()) if isinstance(rows, dict) else rows:
            if isinstance(row, dict):
                row["audit_note"] = value
    api.changed()
    return api


def learned_notes(result: SyncResult) -> dict[str, dict]:
    """Stream → the schema its latest SCHEMA gives `audit_note`, where it has one."""
    schemas = {stream: m["schema"]["properties"] for stream, m in result.schemas.items()}
    return {s: props["audit_note"] for s, props in schemas.items() if "audit_note" in props}


@pytest.mark.parametrize("package", available_taps())
def test_a_learned_schema_is_kept_in_state_and_announced_by_the_next_run(package: str) -> None:
    """A property a run learned is announced in the first SCHEMA of the next run (resumed
    from its state), which keeps it in its own state though it learned nothing new; a
    run after that whose values are of another type keeps the learned type (its values
    go to a variant): the target never splits the column."""
    tap_cls = tap_class(package)
    api = noted(api_class(package)(records=20), "text")
    with SandboxServer(api) as server:
        first = sync(tap_cls, config_for(server))
        learned = learned_notes(first)
        assert learned, "no stream learned the new property: nothing checked"
        second = sync(tap_cls, config_for(server), state=first.state)
    announced: dict[str, t.Any] = {}
    for message in second.messages:
        if message["type"] == "SCHEMA":
            announced.setdefault(message["stream"], message["schema"]["properties"])
    for stream, schema in learned.items():
        assert announced[stream].get("audit_note") == schema, stream
    noted(api, 7)
    with SandboxServer(api) as server:
        third = sync(tap_cls, config_for(server), state=second.state)
    assert learned_notes(third) == learned, "the property kept its type"
    for stream in learned:
        for record in third.records(stream):
            assert "audit_note" not in record
            assert record["audit_note__v_integer"] == 7
    assert invalid_records(third.messages) == []


@pytest.mark.parametrize("package", available_taps())
def test_a_catalog_that_deselects_properties_is_a_whitelist(package: str) -> None:
    """With `schema_evolution: auto` (the default), a catalog that deselects a property
    of a stream gets neither it nor the properties the catalog does not list."""
    tap_cls = tap_class(package)
    with SandboxServer(noted(api_class(package)(records=20), "text")) as server:
        config = config_for(server)
        catalog = declared_catalog(tap_cls, config)
        deselected: dict[str, str] = {}
        for entry in catalog["streams"]:
            for md in entry["metadata"]:
                crumb, meta = md["breadcrumb"], md["metadata"]
                if len(crumb) == 2 and meta.get("inclusion") == "available":
                    meta["selected"] = False
                    deselected[entry["tap_stream_id"]] = crumb[1]
                    break
        proc = run_cli(tap_cls.name, config, catalog=catalog)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = parse_messages(proc.stdout)
    assert result.counts == server.api.expected_counts()
    for stream, name in deselected.items():
        left_out = {name, "audit_note"}
        for record in result.records(stream):
            assert not left_out & {k.partition("__v_")[0] for k in record}, stream
        assert not left_out & set(result.schemas[stream]["schema"]["properties"]), stream
    assert invalid_records(result.messages) == []


# -- requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"kind": "drop", "times": 4}, {"kind": "slow", "delay": 3, "times": 4}],
    ids=["dropped-connections", "time-outs"],
)
def test_failed_requests_give_their_slot_back(fault: dict) -> None:
    """More failed requests than there are slots: the retries still find one, and the
    run ends with every record."""
    with SandboxServer(api_class("error_tracking")(records=40)) as server:
        server.inject("*", **fault)
        config = config_for(server, max_concurrent_requests=2, request_timeout=0.5, max_retries=6)
        proc = run_cli(TAP.name, config, timeout=40)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert parse_messages(proc.stdout).counts == server.api.expected_counts()


def test_a_redirect_to_another_port_of_the_same_host_is_refused() -> None:
    """Another port is another origin: not one request (nor the credential) goes there."""
    with (
        SandboxServer(api_class("error_tracking")(records=5)) as server,
        SandboxServer(api_class("error_tracking")(records=5)) as other_port,
    ):
        server.inject("*", kind="redirect", status=307, location=other_port.url + "{path}")
        proc = run_cli(TAP.name, config_for(server))
    assert proc.returncode == 1
    assert "outside the API's origin" in proc.stderr.strip().splitlines()[-1]
    assert other_port.requests == []


@pytest.mark.parametrize(("pages_allowed", "fails"), [(0, False), (-1, True)])
def test_max_pages_is_the_number_of_pages_allowed(pages_allowed: int, fails: bool) -> None:
    """A stream with exactly `max_pages` pages syncs; one page more ends the run."""
    api = api_class("error_tracking")(records=20)
    count = len(api.tables["environments"])
    pages = count // 20 + 1  # 20 a page: full pages, then a short (or empty) one
    assert pages >= 2
    with SandboxServer(api) as server:
        config = config_for(server, max_pages=pages + pages_allowed)
        if fails:
            with pytest.raises(SystemExit):
                sync(TAP, config, streams=["environments"])
        else:
            result = sync(TAP, config, streams=["environments"])
            assert result.counts == {"environments": count}


def test_a_discovery_sample_of_records_read_ahead_is_a_copy() -> None:
    """Discovery fits its sample (moving values to variants, in nested objects too);
    records read ahead of the sync are sampled as a copy, so the sync writes them as
    the API sent them."""
    tap_cls = tap_class("pipeline_crm")
    with SandboxServer(api_class("pipeline_crm")(records=20)) as server:
        config = config_for(server)
        tap = tap_cls(config=config, catalog=declared_catalog(tap_cls, config))
        stream = tap.streams["deal_fields"]
        ahead = stream.read_ahead_of_sync()
        sample = stream.sample(None)
        as_read = copy.deepcopy(ahead.result())
    assert any(isinstance(v, dict | list) and v for r in as_read for v in r.values())
    for record in sample:  # whatever fitting the sample does to it, at any depth
        scramble(record)
    assert ahead.result() == as_read


def scramble(value: t.Any) -> None:
    """Empty every object and list within `value`, in place."""
    items = value.values() if isinstance(value, dict) else value
    for item in list(items):
        if isinstance(item, dict | list):
            scramble(item)
    value.clear()


# -- a STATE line reaches the reader ------------------------------------------------------------


def test_a_state_line_reaches_the_reader_while_the_run_goes_on() -> None:
    """One stream stalls after its first page; another ends and its STATE (and the records
    it covers) can be read at once, not when the run ends: a run killed while it waits has
    saved that."""
    api = api_class("error_tracking")(records=20)
    assert api.expected_counts()["occurrences"] > 20  # a second page
    with SandboxServer(api) as server:
        server.inject("/v1/occurrences", kind="slow", delay=40, skip=1, times=-1)
        config = config_for(server, request_timeout=60, max_retries=0)
        catalog = declared_catalog(TAP, config, ["deploys", "occurrences"])
        result, at_state = run_until_killed(
            TAP.name, config, lambda line: b'"STATE"' in line, catalog, timeout=20
        )
    assert at_state, "no STATE line could be read while the run was waiting"
    assert result.state["bookmarks"]["deploys"].get("replication_key_value")
    assert result.counts["deploys"] == api.expected_counts()["deploys"]


# -- one failure, one gate ----------------------------------------------------------------------


def test_a_429_holds_every_stream_until_its_retry_after() -> None:
    """A 429 with `Retry-After: 1` to one stream's first request: no request of any other
    stream (their pages, children and read-ahead) leaves until that second has passed
    (those already on their way aside), and the run still reads every record."""
    api = api_class("pipeline_crm")(records=300)
    latency = 0.03
    with SandboxServer(api, latency_ms=latency * 1000) as server:
        throttled = server.inject("/v1/roles", status=429, retry_after=1)
        result = sync(tap_class("pipeline_crm"), config_for(server))
    assert throttled.hits == 1
    assert result.counts == api.expected_counts()
    at = server.requests_to("/v1/roles")[0].received
    after = [r.received - at for r in server.requests if r.received > at]
    assert any(gap > 1.0 for gap in after), "no work was left after the hold: nothing checked"
    held = [round(gap, 3) for gap in after if latency + 0.3 < gap < 0.95]
    assert held == [], "requests sent while Retry-After held the gate"


def test_after_a_failure_that_stops_the_run_no_stream_sends_another_request() -> None:
    """With `stream_failures: stop`, one stream fails at once; the others, mid-way through
    their pages, stop: no request leaves once the run is ending (watched in-process,
    where nothing ends the other streams' threads but the tap itself)."""
    api = api_class("customer_messaging")(records=400)
    with SandboxServer(api, latency_ms=50) as server:
        server.inject("/v1/admins", status=400)
        with pytest.raises(SystemExit):
            sync(
                tap_class("customer_messaging"),
                config_for(server, stream_failures="stop"),
                streams=["admins", "activity_logs"],
            )
        ended = time.monotonic()
        time.sleep(0.5)
        pages = server.requests_to("/v1/admins/activity_logs")
    late = [round(r.received - ended, 3) for r in pages if r.received > ended + 0.1]
    assert late == [], "requests sent after the run had failed"
    assert len(pages) < 8, "the stream ran to its end before the failure: nothing checked"
