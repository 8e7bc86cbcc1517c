"""End to end through Meltano into DuckDB: every field of every record, exactly.

Each tap runs under `meltano run <tap> target-duckdb` against a sandbox in drift mode
(records carry fields the declared schemas lack, and values of other types than
documented). The records the API sent (read in-process from the same deterministic
server) must each be in DuckDB with every field's value, in its own column or its
variant's; a second run from the saved state must add no column and keep every value.
Then Meltano `select` rules decide which new properties become columns.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import duckdb
import pytest

from rest_taps.common.sandbox import SandboxServer
from tests import fidelity
from tests.fidelity import carries, normalized, responses_seen
from tests.support import (
    ROOT,
    api_class,
    available_taps,
    config_for,
    sync,
    tap_class,
)

#: Kept in one file: `make test` spreads tests over processes by file, and two runs of one
#: tap at once would share Meltano's run directory of that tap.
pytestmark = pytest.mark.meltano
MELTANO = str(Path(sys.executable).parent / "meltano")


@pytest.fixture(scope="module")
def meltano_installed() -> None:
    if not (ROOT / ".meltano" / "extractors").is_dir():
        pytest.fail("the Meltano plugins are not installed: run `make setup` (meltano install)")


def meltano_run(
    tap: str, tmp: Path, env: dict[str, str], *, full_refresh: bool = False, succeeds: bool = True
) -> str:
    """`meltano run <tap> target-duckdb` with the test's own database and state; stderr.
    The run must succeed (or, with `succeeds=False`, fail)."""
    args = [MELTANO, "run", *(["--full-refresh"] if full_refresh else []), tap, "target-duckdb"]
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env={
            **os.environ,
            "TARGET_DUCKDB_FILEPATH": str(tmp / "warehouse.duckdb"),
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert (proc.returncode == 0) is succeeds, proc.stderr[-3000:]
    return proc.stderr


def server_env(tap: str, server: SandboxServer) -> dict[str, str]:
    """Settings that point a tap at a test-owned server, as Meltano environment variables."""
    prefix = tap.upper().replace("-", "_")
    settings = {**config_for(server), "sandbox": "false"}
    return {f"{prefix}_{name.upper()}": str(value) for name, value in settings.items()}


def tables(path: Path, schema: str) -> dict[str, tuple[dict[str, str], list[dict]]]:
    """Table → (column → DuckDB type, rows as dicts)."""
    with duckdb.connect(str(path), read_only=True) as con:
        columns: dict[str, dict[str, str]] = {}
        for table, column, kind in con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = ? order by ordinal_position",
            [schema],
        ).fetchall():
            columns.setdefault(table, {})[column] = kind
        out = {}
        for table, kinds in columns.items():
            cursor = con.execute(f'select * from "{schema}"."{table}"')
            names = [d[0] for d in cursor.description]
            out[table] = (kinds, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
        return out


def same(sent: t.Any, kind: str, stored: t.Any) -> bool:
    """Whether a DuckDB column of `kind` holds the value the API sent.

    target-duckdb loads through CSV, where an empty string and null are the same empty
    field: an empty string arrives as NULL (a limit of the loader, not of the tap)."""
    if stored is None:
        return sent == ""
    if kind == "JSON":
        return carries(normalized(json.loads(stored)), normalized(sent))
    if kind == "VARCHAR":
        return stored == (sent if isinstance(sent, str) else str(sent))
    if kind == "DOUBLE":
        return math.isclose(stored, float(sent))
    if kind == "TIMESTAMP":
        moment = dt.datetime.fromisoformat(sent)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return stored == moment
    return stored == sent and type(stored) is type(sent)


def misplaced(record: dict, row: dict, kinds: dict[str, str]) -> list[str]:
    """The fields of a sent record whose value is in neither its column nor a variant's."""
    return fidelity.misplaced(
        record, row, kinds, lambda sent, stored, kind: same(sent, kind, stored)
    )


def check_tables(package: str, sent: dict[str, list], db: dict[str, tuple]) -> None:
    for stream_type in tap_class(package).stream_types:
        stream = stream_type.name
        kinds, rows = db[stream.lower()]
        keys = [k.lower() for k in stream_type.primary_keys]
        by_key: dict[str, list[dict]] = {}
        for row in rows:
            by_key.setdefault(json.dumps(str(row[keys[-1]])), []).append(row)
        assert len({tuple(str(row[k]) for k in keys) for row in rows}) == len(rows), stream
        for record in sent[stream]:
            candidates = by_key.get(json.dumps(str(record[stream_type.primary_keys[-1]])), [])
            problems = [misplaced(record, row, kinds) for row in candidates]
            assert candidates, f"{stream}: no row for {json.dumps(record)[:200]}"
            assert [] in problems, f"{stream}: {problems[0][:3]}"


@pytest.mark.parametrize("package", available_taps())
def test_every_field_reaches_duckdb(package: str, meltano_installed: None, tmp_path: Path) -> None:
    tap = tap_class(package).name
    with SandboxServer(api_class(package)(records=60, drift=True)) as server:
        with responses_seen() as seen:
            emitted = sync(tap_class(package), config_for(server), discover=True)
        sent = {
            stream: list({json.dumps(r, sort_keys=True): r for r in records}.values())
            for stream, records in seen.records.items()
        }
        env = server_env(tap, server)
        meltano_run(tap, tmp_path, env, full_refresh=True)
        first = tables(tmp_path / "warehouse.duckdb", tap.replace("-", "_"))
        assert {table: len(rows) for table, (_, rows) in first.items()} == {
            stream.lower(): count for stream, count in emitted.counts.items()
        }
        check_tables(package, sent, first)
        # A second run from the saved state: no surprise column, every value still right.
        meltano_run(tap, tmp_path, env)
        second = tables(tmp_path / "warehouse.duckdb", tap.replace("-", "_"))
    assert {t: list(kinds) for t, (kinds, _) in second.items()} == {
        t: list(kinds) for t, (kinds, _) in first.items()
    }
    assert {t: len(rows) for t, (_, rows) in second.items()} == {
        t: len(rows) for t, (_, rows) in first.items()
    }
    check_tables(package, sent, second)


SELECTIONS = [
    # (select rules, schema_evolution, the late property a column, `title` a column)
    (["deals.*"], "auto", True, True),
    (["deals.*", "!deals.title"], "auto", False, False),
    (["deals.*", "!deals.title"], "include", True, False),
    (["deals.*"], "exclude", False, True),
]


@pytest.mark.usefixtures("meltano_installed")
@pytest.mark.parametrize(("select", "mode", "late", "title"), SELECTIONS)
def test_selection_decides_new_properties(
    select: list[str], mode: str, late: bool, title: bool, tmp_path: Path
) -> None:
    """A property only the last deals carry is missed by discovery (which reads first
    pages) and meets the run as new: Meltano's `select` and the setting decide."""
    package, tap = "pipeline_crm", "tap-pipeline-crm"
    api = api_class(package)(records=120)
    last = sorted(api.tables["deals"], key=lambda d: (d["update_time"], d["id"]))[-5:]
    for n, deal in enumerate(last):
        deal["late_property"] = n + 1
    api.changed()
    with SandboxServer(api) as server:
        env = {
            **server_env(tap, server),
            "TAP_PIPELINE_CRM_SCHEMA_EVOLUTION": mode,
            "TAP_PIPELINE_CRM__SELECT": json.dumps(select),
        }
        log = meltano_run(tap, tmp_path, env, full_refresh=True)
    kinds, rows = tables(tmp_path / "warehouse.duckdb", "tap_pipeline_crm")["deals"]
    assert len(rows) == len(api.tables["deals"])
    assert ("late_property" in kinds) is late
    if late:
        stored = {row["id"]: row["late_property"] for row in rows if row["late_property"]}
        assert stored == {deal["id"]: deal["late_property"] for deal in last}
    assert ("title" in kinds) is title
    assert ("late_property) are left out" in log) is (not late)


@pytest.mark.usefixtures("meltano_installed")
def test_a_failed_stream_keeps_the_others_bookmarks(tmp_path: Path) -> None:
    """A run where one stream fails for good: Meltano keeps the state of the streams that
    finished, so the next run starts each of them from its bookmark and reads the failed
    stream from its beginning."""
    package, tap = "error_tracking", "tap-error-tracking"
    api = api_class(package)(records=100)
    with SandboxServer(api) as server:
        env = server_env(tap, server)
        fault = server.inject("/v1/deploys", times=-1)
        log = meltano_run(tap, tmp_path, env, succeeds=False)
        assert "Stream 'deploys': GET /v1/deploys failed after 4 attempts" in log
        first_pages = len(server.requests_to("/v1/occurrences"))
        fault.times = 0
        server.requests.clear()
        meltano_run(tap, tmp_path, env)
        second_pages = len(server.requests_to("/v1/occurrences"))
        windows = [r.body["start_time"] for r in server.requests_to("/v1/metrics/items")]
    db = tables(tmp_path / "warehouse.duckdb", "tap_error_tracking")
    assert len(db["deploys"][1]) == len(api.tables["deploys"])
    assert len(db["occurrences"][1]) == len(api.tables["occurrences"])
    # Newest first: the first run read every page, the second stops at its bookmark
    # (one page, and the page discovery read before the run).
    pages = -(-len(api.tables["occurrences"]) // 20)
    assert first_pages >= pages > 2
    assert second_pages <= 2
    # The time window of the second run's sync (after discovery's, which has no state)
    # starts at the first run's bookmark.
    assert windows[-1] > 0
