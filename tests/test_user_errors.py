"""Mistakes a user makes, met as the user meets them: the tap's command, files on disk.

A config, catalog or state file missing or not JSON: one line naming the file and where
it is broken, exit 1. A misspelled setting: a warning naming it and the closest setting.
A state from another tap, or a whole STATE message given as the state: a warning, and the
run goes on with what belongs to it. `api_url` ending in the API's path prefix: refused
before any request, with the fix in the message. A reader that closes the output
(`tap | head`): the run ends quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from rest_taps.common.sandbox import SandboxServer
from rest_taps.error_tracking.tap import TapErrorTracking
from tests.support import api_class, config_for, declared_catalog, parse_messages, run_cli

TAP = str(Path(sys.executable).parent / TapErrorTracking.name)
SANDBOX = {"sandbox": True}
#: Exit status of a program that wrote to a closed pipe, as a shell reports it.
SIGPIPE_STATUS = 141


def run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAP, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )


def message(stderr: str) -> str:
    """The message of the one line a run logged."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0].split(" | ")[-1]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder with a good config and catalog, and broken files of every kind."""
    catalog = declared_catalog(TapErrorTracking, SANDBOX, ["users"])
    good = {"config.json": SANDBOX, "catalog.json": catalog, "state.json": {"bookmarks": {}}}
    for name, content in good.items():
        (tmp_path / name).write_text(json.dumps(content))
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "comma.json").write_text('{\n  "sandbox": true,\n}\n')
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "latin1.json").write_bytes(b'{"start_date": "caf\xe9"}')
    (tmp_path / "lines.jsonl").write_text('{"type": "STATE", "value": {}}\n' * 2)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--config", "missing.json"], "Config file 'missing.json' was not found."),
        (["--config", "empty.json"], "Config file 'empty.json' is not JSON: it is empty."),
        (
            ["--config", "comma.json"],
            "Config file 'comma.json' is not JSON: expecting property name enclosed in "
            "double quotes at line 3, column 1.",
        ),
        (
            ["--config", "latin1.json"],
            "Config file 'latin1.json' is not JSON: it is not UTF-8 text (byte 20).",
        ),
        (
            ["--config", "config.json", "--catalog", "list.json"],
            "Catalog file 'list.json' must hold a JSON object ({...}), not a list.",
        ),
        (
            ["--config", "config.json", "--catalog", "config.json"],
            "Catalog file 'config.json' has no 'streams' list: is it a catalog",
        ),
        (
            ["--config", "config.json", "--state", "missing.json"],
            "State file 'missing.json' was not found.",
        ),
        (
            ["--config", "config.json", "--state", "lines.jsonl"],
            "State file 'lines.jsonl' is not JSON: extra data at line 2, column 1.",
        ),
        (
            ["--config", "config.json", "--catalog", "catalog.json", "--state", "empty.json"],
            "State file 'empty.json' is not JSON: it is empty.",
        ),
        (["--config", "comma.json", "--discover"], "Config file 'comma.json' is not JSON"),
    ],
)
def test_a_broken_file_is_one_line_naming_it(files: Path, args: list[str], line: str) -> None:
    proc = run(*args, cwd=files)
    assert proc.returncode == 1
    assert message(proc.stderr).startswith(line)
    assert proc.stdout == ""


def test_a_misspelled_setting_is_named_with_the_closest_one(files: Path) -> None:
    config = {**SANDBOX, "start_dat": "2024-01-01", "max_retry": 2, "colour": "blue"}
    (files / "typos.json").write_text(json.dumps(config))
    proc = run("--config", "typos.json", "--catalog", "catalog.json", cwd=files)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line.split(" | ")[-1] for line in proc.stderr.splitlines() if "WARNING" in line]
    assert warnings == [
        "Setting 'colour' is not a setting of this tap and is ignored.",
        "Setting 'max_retry' is not a setting of this tap and is ignored; did you mean "
        "'max_retries'?",
        "Setting 'start_dat' is not a setting of this tap and is ignored; did you mean "
        "'start_date'?",
    ]


def full_state() -> dict:
    """The state a first run of every stream ends with."""
    proc = run_cli(TapErrorTracking.name, SANDBOX)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return parse_messages(proc.stdout).state


def test_another_taps_bookmarks_are_named_and_not_carried_on() -> None:
    state = full_state()
    state["bookmarks"]["deals"] = {"replication_key": "update_time", "replication_key_value": "x"}
    state["bookmarks"]["mailThreads"] = {}
    proc = run_cli(TapErrorTracking.name, SANDBOX, state=state)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "The state has bookmarks of streams this tap does not have (deals, mailThreads): "
        "they are ignored and left out of the state it writes." in proc.stderr
    )
    result = parse_messages(proc.stdout)
    assert result.states, "STATE messages written"
    for written in result.states:
        assert not {"deals", "mailThreads"} & set(written["bookmarks"])
    assert set(result.state["bookmarks"]) == set(state["bookmarks"]) - {"deals", "mailThreads"}


@pytest.mark.parametrize(
    ("wrap", "warning"),
    [
        (
            lambda state: {"type": "STATE", "value": state},
            "The state given is a whole STATE message; the tap reads its value.",
        ),
        (
            lambda state: {"singer_state": state},
            "The state given is Meltano's state object; the tap reads its 'singer_state'.",
        ),
    ],
    ids=["STATE message", "meltano state get"],
)
def test_a_wrapped_state_is_unwrapped(wrap: t.Callable[[dict], dict], warning: str) -> None:
    """A line of a tap's output, or what `meltano state get` prints, passed as `--state`:
    the run resumes from its bookmarks (not a silent full re-sync)."""
    state = full_state()
    proc = run_cli(TapErrorTracking.name, SANDBOX, state=wrap(state))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert warning in proc.stderr
    bookmark = state["bookmarks"]["items"]["replication_key_value"]
    started = "Stream 'items' started: incremental on 'last_occurrence_timestamp' from bookmark"
    assert f"{started} {bookmark}." in proc.stderr
    again = parse_messages(proc.stdout).records("items")
    assert again, "the records at the bookmark itself"
    assert all(r["last_occurrence_timestamp"] >= bookmark for r in again)


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_api_url_with_the_path_prefix_is_refused_with_the_fix(suffix: str) -> None:
    api = api_class("error_tracking")(records=20)
    with SandboxServer(api) as server:
        config = config_for(server, api_url=server.url + suffix)
        proc = run_cli(TapErrorTracking.name, config)
        assert server.requests == [], "refused before any request"
        assert proc.returncode == 1
        line = next(line for line in proc.stderr.splitlines() if "'api_url'" in line)
        fixed = line.split("set it to ")[1].split("'")[1]
        assert fixed == server.url
        assert "must not end in /v1, which the tap adds to every path it reads" in line
        proc = run_cli(TapErrorTracking.name, {**config, "api_url": fixed})
        assert proc.returncode == 0, proc.stderr[-2000:]


def read_one_line_and_close(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """What `tap ... | head -1` does: read one line, close the pipe; the exit status and
    what the tap logged."""
    proc = subprocess.Popen(
        [TAP, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr.decode()


@pytest.mark.parametrize("mode", ["sync", "records", "discover"])
def test_a_closed_output_ends_the_run_quietly(tmp_path: Path, mode: str) -> None:
    """More output than a pipe holds (records=3000), so the tap does write to the closed
    pipe: a whole run (SCHEMA and STATE lines flush stdout), the records of one stream
    whose discovered schema they fit (nothing flushes until stdout's buffer is full), the
    catalog."""
    api = api_class("error_tracking")(records=3000)
    with SandboxServer(api) as server:
        (tmp_path / "config.json").write_text(json.dumps(config_for(server)))
        args = ["--config", str(tmp_path / "config.json")]
        if mode == "records":
            discovered = run(*args, "--discover", cwd=tmp_path)
            catalog = json.loads(discovered.stdout)
            for entry in catalog["streams"]:
                for md in entry["metadata"]:
                    if md["breadcrumb"] == []:
                        md["metadata"]["selected"] = entry["tap_stream_id"] == "occurrences"
            (tmp_path / "catalog.json").write_text(json.dumps(catalog))
            args += ["--catalog", str(tmp_path / "catalog.json")]
        elif mode == "discover":
            args.append("--discover")
        status, stderr = read_one_line_and_close(args)
    assert status in {0, SIGPIPE_STATUS}, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "unhandled error" not in stderr
    assert "ERROR" not in stderr
    assert "BrokenPipe" not in stderr
    assert " stopped: " not in stderr, "at once: no stream goes on to fail on the closed pipe"
