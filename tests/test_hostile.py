"""Hostile and broken servers: lose no record, leak no credential, never hang.

Each test runs a tap's command (as a user would) against its sandbox with one hostile
behaviour switched on, and checks the exit status, the time it took, the one line that
ends a failing run (never a traceback), and, where it applies, that no credential reached
another host and no record was emitted twice or lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from collections import Counter
from pathlib import Path

import pytest

from rest_taps.common.sandbox import SandboxServer
from rest_taps.common.sandbox.server import gzip_zeros
from tests.support import (
    api_class,
    available_taps,
    config_for,
    declared_catalog,
    parse_messages,
    tap_class,
)

#: A stream of each tap, with each of its paging styles, that has several pages.
PAGED = [
    ("error_tracking", "items", "/v1/items"),
    ("web_experiments", "campaigns", "/v1/accounts/current/campaigns"),
    ("pipeline_crm", "deals", "/v1/recents"),
    ("customer_messaging", "segments", "/v1/segments"),
    ("customer_messaging", "companies", "/v1/companies/scroll"),
    ("customer_messaging", "contacts", "/v1/contacts/search"),
    ("crm_helpdesk", "contacts", "/v1/contacts"),
]


class Run(t.NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    @property
    def last_line(self) -> str:
        return self.stderr.strip().splitlines()[-1]


def run_tap(
    package: str,
    server: SandboxServer,
    *,
    streams: t.Iterable[str] | None = None,
    state: dict | None = None,
    timeout: float = 60,
    **settings: t.Any,
) -> Run:
    """The tap's command against `server`, with the declared catalog (all streams, or
    `streams`); exit status, output, wall time and peak memory."""
    tap_cls = tap_class(package)
    config = config_for(server, **settings)
    catalog = declared_catalog(tap_cls, config, streams)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"config": config, "catalog": catalog, "state": state}
        args = [str(Path(sys.executable).parent / tap_cls.name)]
        for name, content in files.items():
            if content is not None:
                path = Path(tmp, f"{name}.json")
                path.write_text(json.dumps(content))
                args += [f"--{name}", str(path)]
        out, err = Path(tmp, "out"), Path(tmp, "err")
        started = time.monotonic()
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(args, stdout=stdout, stderr=stderr)
            killer = threading.Timer(timeout, proc.kill)
            killer.start()
            peak = PeakMemory(proc.pid)
            _, status, _ = os.wait4(proc.pid, 0)
            killer.cancel()
        seconds = time.monotonic() - started
        if seconds >= timeout:
            pytest.fail(f"the tap was still running after {timeout} s")
        code = os.waitstatus_to_exitcode(status)
        return Run(code, out.read_text(), err.read_text(), seconds, peak.mb)


class PeakMemory:
    """The peak resident memory of a running process, read from /proc while it runs.

    Not `ru_maxrss`: a child started with vfork counts its parent's memory (this test
    process's, whatever earlier tests left in it) until it executes the tap.
    """

    def __init__(self, pid: int) -> None:
        self.mb = 0.0
        self._status = Path(f"/proc/{pid}/status")
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            try:
                text = self._status.read_text()
            except OSError:
                return
            line = next((x for x in text.splitlines() if x.startswith("VmHWM:")), None)
            if line is None:  # the process has ended (a zombie has no memory)
                return
            self.mb = max(self.mb, int(line.split()[1]) / 1024)
            time.sleep(0.02)


def one_clear_line(run: Run, *fragments: str) -> None:
    """A failing run: exit 1, the last line says what happened, no traceback."""
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    for fragment in fragments:
        assert fragment in run.last_line, run.last_line


def unique_records(run: Run) -> None:
    """No record was emitted twice."""
    result = parse_messages(run.stdout)
    for stream, records in result.by_stream().items():
        keys = result.schemas[stream]["key_properties"]
        counts = Counter(json.dumps([r.get(k) for k in keys]) for r in records)
        assert max(counts.values()) == 1, f"{stream}: a record emitted twice"


@pytest.fixture
def elsewhere() -> t.Iterator[SandboxServer]:
    """Another host (127.0.0.2) that must never see a request, let alone a credential."""
    with SandboxServer(api_class("error_tracking")(records=1), host="127.0.0.2") as server:
        yield server


# -- security -------------------------------------------------------------------------------


@pytest.mark.parametrize("package", available_taps())
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_to_another_origin_is_refused(
    package: str, status: int, elsewhere: SandboxServer
) -> None:
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject("*", kind="redirect", status=status, location=elsewhere.url + "{path}")
        run = run_tap(package, server)
    one_clear_line(run, "was redirected", "127.0.0.2", "outside the API's origin")
    assert elsewhere.requests == [], "not one request (and no credential) went there"


@pytest.mark.parametrize("package", available_taps())
def test_a_redirect_within_the_api_is_followed_with_the_credential(package: str) -> None:
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject("*", kind="redirect", status=307, times=3)
        run = run_tap(package, server)
    assert run.returncode == 0, run.stderr[-2000:]
    assert parse_messages(run.stdout).counts == server.api.expected_counts()


@pytest.mark.parametrize(
    ("location", "fragment"),
    [("", "redirected more than 5 times"), ("ftp://127.0.0.1/x", "ftp://127.0.0.1")],
    ids=["redirect-loop", "ftp"],
)
def test_redirect_loops_and_other_schemes_end_clearly(location: str, fragment: str) -> None:
    with SandboxServer(api_class("error_tracking")(records=20)) as server:
        server.inject("*", kind="redirect", status=302, location=location, times=-1)
        run = run_tap("error_tracking", server)
    one_clear_line(run, fragment)


# -- waits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("package", available_taps())
@pytest.mark.parametrize("retry_after", ["86400", "inf"])
def test_a_wait_longer_than_max_wait_ends_the_run_at_once(package: str, retry_after: str) -> None:
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject("*", kind="status", status=429, retry_after=retry_after)
        run = run_tap(package, server, max_wait_seconds=30)
    one_clear_line(run, f"asks to wait {retry_after} s (429 Retry-After)", "max_wait_seconds (30)")
    assert run.seconds < 15


def test_a_far_future_rate_limit_reset_ends_the_run_at_once() -> None:
    reset = str(int(time.time() * 1000))  # milliseconds, read as seconds: ~50,000 years
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    with SandboxServer(api_class("customer_messaging")(records=20)) as server:
        server.inject("*", kind="headers", headers=headers)
        run = run_tap("customer_messaging", server, max_wait_seconds=60)
    one_clear_line(run, "X-RateLimit-Reset", "longer than max_wait_seconds (60)")
    assert run.seconds < 15


@pytest.mark.parametrize(("kind", "delay"), [("drip", 0.3), ("stall", 60)])
def test_a_request_has_a_total_deadline(kind: str, delay: float) -> None:
    """A body dripped a byte at a time, or never sent, times out after request_timeout."""
    with SandboxServer(api_class("error_tracking")(records=20)) as server:
        server.inject("*", kind=kind, delay=delay)
        run = run_tap("error_tracking", server, request_timeout=1.5, max_retries=0)
    one_clear_line(run, "took longer than request_timeout (1.5 s) in all")
    assert run.seconds < 12


def test_a_fatal_error_ends_the_run_while_children_wait_to_retry() -> None:
    """Children sleep in long backoffs; a fatal error ends the process now."""
    api = api_class("pipeline_crm")(records=120)
    first = min(api.tables["deals"], key=lambda d: (d["update_time"], d["id"]))["id"]
    with SandboxServer(api) as server:
        server.inject(f"/v1/deals/{first}/products", kind="status", status=401, times=-1)
        server.inject("/v1/deals/*/products", kind="status", status=503, times=-1)
        run = run_tap(
            "pipeline_crm", server, streams=["deals", "deal_products"], backoff_factor=100
        )
    one_clear_line(run, "the credential was rejected")
    assert run.seconds < 15


# -- paging that does not move on -----------------------------------------------------------


@pytest.mark.parametrize(("package", "stream", "path"), PAGED)
@pytest.mark.parametrize("period", [1, 2], ids=["ignored-paging", "cycling"])
def test_paging_in_a_loop_ends_without_duplicates(
    package: str, stream: str, path: str, period: int
) -> None:
    with SandboxServer(api_class(package)(records=400)) as server:
        server.inject(path, kind="replay", period=period, times=-1)
        run = run_tap(package, server, streams=[stream])
    one_clear_line(run, f"Stream '{stream}'", "repeat")
    assert run.seconds < 30
    unique_records(run)


# -- bodies -------------------------------------------------------------------------------------


def body_at(jsonpath: str, records: list) -> t.Any:
    """A body holding `records` at a records path such as `$.result.items[*]`."""
    container, _, inner = jsonpath.removeprefix("$").partition("[*]")
    for key in reversed(inner.strip(".").split(".") if inner else []):
        records = [{key: record} for record in records]
    body: t.Any = records
    for key in reversed(container.strip(".").split(".") if container else []):
        body = {key: body}
    return body


@pytest.mark.parametrize("package", available_taps())
def test_records_that_are_not_objects_end_the_run_clearly(package: str) -> None:
    stream_type = tap_class(package).stream_types[0]
    body = body_at(stream_type.records_jsonpath, ["a", "b"])
    with SandboxServer(api_class(package)(records=20)) as server:
        server.inject("*", kind="body", body=body, times=-1)
        run = run_tap(package, server, streams=[stream_type.name])
    one_clear_line(run, f"Stream '{stream_type.name}'", "is not an object (a str")


def test_json_nested_too_deeply_ends_the_run_clearly() -> None:
    body = b'{"result": {"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    with SandboxServer(api_class("error_tracking")(records=20)) as server:
        server.inject("/v1/items", kind="raw", body=body)
        run = run_tap("error_tracking", server, streams=["items"])
    one_clear_line(run, "Stream 'items'", "nested too deeply")


def test_a_gzip_bomb_is_cut_off_at_the_size_limit() -> None:
    gzip_zeros(1 << 28)  # made before the tap starts, not while it waits
    with SandboxServer(api_class("error_tracking")(records=20)) as server:
        server.inject("/v1/items", kind="gzip_bomb", size=1 << 28)
        run = run_tap("error_tracking", server, streams=["items"], max_response_mb=8)
    seen = f"{run.seconds:.1f} s, {run.peak_mb:.0f} MB peak: {run.stderr[-1500:]}"
    one_clear_line(run, "Stream 'items'", "larger than 8 MB (max_response_mb)")
    assert run.seconds < 20, seen
    assert run.peak_mb < 150, f"the 256 MB of zeros were never held; {seen}"


def test_a_record_without_its_replication_key_is_emitted_and_moves_no_bookmark() -> None:
    api = api_class("error_tracking")(records=20)
    del api.tables["items"][0]["last_occurrence_timestamp"]
    with SandboxServer(api) as server:
        run = run_tap("error_tracking", server, streams=["items"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert parse_messages(run.stdout).counts == {"items": 20}
    assert "has no 'last_occurrence_timestamp'; it is emitted" in run.stderr


def test_a_replication_value_of_another_type_ends_the_run_clearly() -> None:
    api = api_class("error_tracking")(records=20)
    api.tables["items"][0]["last_occurrence_timestamp"] = "yesterday"
    with SandboxServer(api) as server:
        state = {"bookmarks": {"items": {"replication_key_value": 1}}}
        run = run_tap("error_tracking", server, streams=["items"], state=state)
    one_clear_line(run, "key property 'last_occurrence_timestamp' arrived as string")


def test_an_unexpected_error_is_one_masked_line() -> None:
    with SandboxServer(api_class("error_tracking")(records=20)) as server:
        bookmark = {"replication_key": "last_occurrence_timestamp", "replication_key_value": "?"}
        state = {"bookmarks": {"items": bookmark}}
        run = run_tap("error_tracking", server, streams=["items"], state=state)
    one_clear_line(run, "Stream 'items': an unexpected error: ValueError")
