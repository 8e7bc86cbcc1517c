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
    assert "METRIC" not in proc.stderr, "METRIC lines only with log_metrics (tests/test_logs.py)"
    assert "DeprecationWarning" not in proc.stderr
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
    if kind == "TIMESTAMP":  # the API's time in any form: the same instant, in UTC
        moment = fidelity.instant(sent)
        return moment is not None and stored == moment.astimezone(dt.UTC).replace(tzinfo=None)
    return stored == sent and type(stored) is type(sent)


def misplaced(record: dict, row: dict, kinds: dict[str, str]) -> list[str]:
    """The fields of a sent record whose value is in neither its column nor a variant's."""
    return fidelity.misplaced(
        record, row, kinds, lambda sent, stored, kind: same(sent, kind, stored)
    )


def key_text(value: t.Any, kind: str) -> str:
    """A key value as text, a time key as its instant (stored naive in UTC)."""
    moment = fidelity.instant(value) if kind == "TIMESTAMP" and value is not None else None
    if moment is not None:
        value = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return json.dumps(str(value))


def check_tables(package: str, sent: dict[str, list], db: dict[str, tuple]) -> None:
    for stream_type in tap_class(package).stream_types:
        stream = stream_type.name
        kinds, rows = db[stream.lower()]
        keys = [k.lower() for k in stream_type.primary_keys]
        last = kinds[keys[-1]]
        by_key: dict[str, list[dict]] = {}
        for row in rows:
            by_key.setdefault(key_text(row[keys[-1]], last), []).append(row)
        assert len({tuple(str(row[k]) for k in keys) for row in rows}) == len(rows), stream
        for record in sent[stream]:
            key = stream_type.primary_keys[-1]
            # a key the API does not send (the tap makes it): the table's rows
            candidates = by_key.get(key_text(record[key], last), []) if key in record else rows
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


def test_a_deleted_deal_row_carries_its_deletion_time(tmp_path: Path) -> None:
    """Through Meltano into DuckDB: a deal deleted after the first run arrives in the
    second (from Meltano's saved state) as its key and `_sdc_deleted_at`; the loader marks
    its row, and every other row keeps its values."""
    package, tap = "pipeline_crm", "tap-pipeline-crm"
    api = api_class(package)(records=30)
    env_select = {"TAP_PIPELINE_CRM__SELECT": json.dumps(["deals.*", "deal_products.*"])}
    with SandboxServer(api) as server:
        env = {**server_env(tap, server), **env_select}
        meltano_run(tap, tmp_path, env, full_refresh=True)
        gone = api.tables["deals"][0]["id"]
        api.delete("deals", gone, api.clock + 60)
        api.clock += 60
        before = dt.datetime.now(dt.UTC)
        meltano_run(tap, tmp_path, env)
    _, rows = tables(tmp_path / "warehouse.duckdb", "tap_pipeline_crm")["deals"]
    assert len(rows) == len(api.tables["deals"]) + 1
    deleted = [row for row in rows if row["_sdc_deleted_at"] is not None]
    assert [row["id"] for row in deleted] == [gone]
    # target-duckdb declares its own `_sdc_deleted_at` column as text: the ISO time sent
    moment = dt.datetime.fromisoformat(deleted[0]["_sdc_deleted_at"])
    assert before <= moment <= dt.datetime.now(dt.UTC)
    live = {row["id"]: row for row in rows if row["id"] != gone}
    assert {deal["id"]: deal["title"] for deal in api.tables["deals"]} == {
        key: row["title"] for key, row in live.items()
    }


@pytest.mark.usefixtures("meltano_installed")
@pytest.mark.parametrize(
    ("package", "examples"),
    [
        # Unix seconds, and the API's `YYYY-MM-DD HH:MM:SS` text in UTC
        ("error_tracking", {"items": "last_occurrence_timestamp", "deploys": "start_time"}),
        ("pipeline_crm", {"deals": "update_time", "persons": "add_time"}),
    ],
)
def test_time_columns_are_timestamps(
    package: str, examples: dict[str, str], tmp_path: Path
) -> None:
    """Every declared time property that becomes a column is a TIMESTAMP, holding the
    instant the API sent."""
    tap = tap_class(package).name
    with SandboxServer(api_class(package)(records=30)) as server:
        with responses_seen() as seen:
            sync(tap_class(package), config_for(server), streams=examples)
        meltano_run(tap, tmp_path, server_env(tap, server), full_refresh=True)
    db = tables(tmp_path / "warehouse.duckdb", tap.replace("-", "_"))
    streams = tap_class(package)(config={"sandbox": True}).streams
    checked = []
    for name, stream in streams.items():
        kinds, _ = db[name.lower()]
        for key, prop in stream.schema["properties"].items():
            # `_sdc_*` columns are the loader's own (target-duckdb makes them text)
            if prop.get("format") == "date-time" and key.lower() in kinds and key[:5] != "_sdc_":
                assert kinds[key.lower()] == "TIMESTAMP", f"{name}.{key}: {kinds[key.lower()]}"
                checked.append(f"{name}.{key}")
    assert {f"{name}.{key}" for name, key in examples.items()} <= set(checked)
    for name, key in examples.items():
        _, rows = db[name]
        stored = {str(row["id"]): row[key.lower()] for row in rows}
        sent = {str(r["id"]): r[key] for r in seen.records[name]}
        assert sent, name
        for record_id, value in sent.items():
            assert same(value, "TIMESTAMP", stored[record_id]), (name, record_id, value)
