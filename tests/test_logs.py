"""What a run logs, counted line by line as a user reads it.

At the default level: a few lines about the run, then one line when each stream starts
and one when it ends (its records, requests and seconds, and its schema changes), a
progress line while a stream runs long; no METRIC line, no deprecation warning, no line
that alarms without cause. The METRIC lines come back with `log_metrics` or at DEBUG.
"""

from __future__ import annotations

import logging
import re

import pytest

from rest_taps.common import logs
from rest_taps.common.sandbox import SandboxServer
from rest_taps.error_tracking.tap import TapErrorTracking
from rest_taps.pipeline_crm.tap import TapPipelineCrm
from tests.support import api_class, config_for, parse_messages, run_cli, sync

#: `<time> | LEVEL | logger | message`, as the SDK formats a log line.
LINE = re.compile(r"^\S+ \S+ \| (?P<level>\w+)\s*\| (?P<logger>\S+)\s*\| (?P<message>.*)$")
#: The lines a run logs besides its streams' (the SDK's version line, sandbox, discovery).
ABOUT_THE_RUN = ("tap-", "Sandbox mode:", "Discovery read the API")
END = re.compile(
    r"^Stream '(\w+)' done: (\d+) records?, (\d+) requests?, [\d.]+ s(; schema: .*)?\.$"
)


def log_lines(stderr: str) -> list[re.Match]:
    lines = stderr.strip().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, m in zip(lines, parsed, strict=True) if not m]
    return [m for m in parsed if m is not None]


def by_kind(lines: list[re.Match]) -> dict[str, list[str]]:
    """The messages that start a stream, end it, tell about the run, and the others."""
    kinds: dict[str, list[str]] = {"started": [], "done": [], "run": [], "other": []}
    for line in lines:
        message = line["message"]
        if re.match(r"^Stream '\w+' started: ", message):
            kinds["started"].append(message)
        elif END.match(message):
            kinds["done"].append(message)
        elif line["level"] == "INFO" and message.startswith(ABOUT_THE_RUN):
            kinds["run"].append(message)
        else:
            kinds["other"].append(f"{line['level']} {line['logger']} {message}")
    return kinds


def test_a_run_logs_one_start_and_one_end_line_per_stream() -> None:
    """Every stream of the tap with the most (26, two with a child read once per parent),
    discovering first, as a user's first run does."""
    proc = run_cli(TapPipelineCrm.name, {"sandbox": True}, discover=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = parse_messages(proc.stdout)
    streams = sorted(result.schemas)
    kinds = by_kind(log_lines(proc.stderr))
    assert kinds["other"] == [], "only start, end and run lines at the default level"
    assert len(kinds["run"]) == 3
    assert sorted(m.split("'")[1] for m in kinds["started"]) == streams
    ended = {m[1]: int(m[2]) for m in map(END.match, kinds["done"]) if m}
    assert len(kinds["done"]) == len(ended) == len(streams)
    assert ended == {name: len(result.records(name)) for name in streams}
    assert "METRIC" not in proc.stderr
    assert "unsorted" not in proc.stderr


def test_the_end_line_counts_requests_and_names_schema_changes() -> None:
    """Requests as the API answered them (discovery's sample is the sync's first page,
    asked for once; pages asked for ahead past the end may still be on the wire when the
    stream ends); the properties a stream's schema gained during the run."""
    api = api_class("error_tracking")(records=300)
    with SandboxServer(api) as server:
        proc = run_cli(TapErrorTracking.name, config_for(server))
        sent = len(server.requests_to("/v1/items"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    ends = {m[1]: m for m in map(END.match, by_kind(log_lines(proc.stderr))["done"]) if m}
    pages = len(parse_messages(proc.stdout).records("items")) // 100
    assert pages <= int(ends["items"][3]) <= sent
    learned = parse_messages(proc.stdout).state["bookmarks"]["occurrences"]["learned_schema"]
    assert ends["occurrences"][4].startswith(f"; schema: {len(learned)} properties added (")
    assert ends["users"][4] is None


def test_a_serial_run_counts_every_request() -> None:
    api = api_class("error_tracking")(records=300)
    with SandboxServer(api) as server:
        proc = run_cli(TapErrorTracking.name, config_for(server, max_concurrent_requests=1))
        sent = len(server.requests_to("/v1/items"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    ends = {m[1]: m for m in map(END.match, by_kind(log_lines(proc.stderr))["done"]) if m}
    assert int(ends["items"][3]) == sent > 1


@pytest.mark.parametrize(
    ("settings", "env"),
    [({"log_metrics": True}, {}), ({}, {"LOGLEVEL": "DEBUG"})],
    ids=["log_metrics", "LOGLEVEL=DEBUG"],
)
def test_metric_lines_when_asked_for(
    settings: dict, env: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    api = api_class("error_tracking")(records=300)
    with SandboxServer(api) as server:
        proc = run_cli(TapErrorTracking.name, config_for(server, **settings))
        requests = len(server.requests)
    assert proc.returncode == 0, proc.stderr[-2000:]
    durations = proc.stderr.count('"metric":"http_request_duration"')
    assert durations == requests, "one METRIC line per request"


def test_no_deprecation_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every warning shown, from the imports on (where the SDK's warnings about its moved
    names are raised)."""
    monkeypatch.setenv("PYTHONWARNINGS", "always")
    for discover in (True, False):
        proc = run_cli(TapErrorTracking.name, {"sandbox": True}, discover=discover)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "Warning" not in proc.stderr, proc.stderr[-2000:]


def test_a_long_stream_logs_its_progress(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A progress line each `PROGRESS_SECONDS` (here 0.1 s, pages 40 ms apart)."""
    monkeypatch.setattr(logs, "PROGRESS_SECONDS", 0.1)
    api = api_class("error_tracking")(records=1000)
    with SandboxServer(api, latency_ms=40) as server, caplog.at_level(logging.INFO):
        result = sync(
            TapErrorTracking, config_for(server, max_concurrent_requests=1), None, ["items"]
        )
    progress = [r.getMessage() for r in caplog.records if " running: " in r.getMessage()]
    assert len(progress) >= 2, progress
    assert all(
        re.match(r"^Stream 'items' running: \d+ records, \d+ requests, [\d.]+ s so far\.$", p)
        for p in progress
    )
    done = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Stream 'items' done")
    ]
    assert len(done) == 1
    assert f" {len(result.records('items'))} records" in done[0]
