"""Helpers of the production-path test: one sandbox process per account, what each served,
what the warehouse and the state store hold.

    python -m tests.scale_support TAP --seed K --records N --latency-ms L --requests FILE

serves TAP's sandbox API in drift mode (values of other types than documented, fields the
schemas lack) with the data of seed K, prints `<url> <setting>=<value> ...`, appends each
request (path and query, credentials left out) to FILE as a JSON line, and on SIGUSR1 adds
new activity (`GROWTH`) and prints `grown`. The same data is computed in-process by
`served`, so the test knows every row each account must have.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import signal
import sys
import threading
import time
import typing as t
from pathlib import Path

import psycopg

from rest_taps.common.sandbox import Request, SandboxAPI, SandboxServer, load_api
from rest_taps.common.sandbox.data import drift_tables
from tests import fidelity
from tests.fidelity import carries, normalized

#: What each tap's jobs sync: incremental streams only.
STREAMS = {
    "tap-error-tracking": ("items", "occurrences", "deploys"),
    "tap-pipeline-crm": ("deals", "persons"),
}
#: New activity the sandbox adds on SIGUSR1 (`SandboxAPI.new_activity` arguments; no
#: deletions: the warehouse check counts one row per record served).
GROWTH = {"tap-pipeline-crm": {"new": 500, "updated": 40, "deleted": 0}}


class LoggingServer(SandboxServer):
    """A sandbox server that appends every request to a file, without credentials."""

    def __init__(self, api: SandboxAPI, log: Path, latency_ms: float) -> None:
        super().__init__(api, latency_ms=latency_ms)
        self.keep_log = False
        self._log = log.open("a", buffering=1)
        self._log_lock = threading.Lock()

    def record(self, request: Request) -> None:
        query = {k: v for k, v in request.query.items() if k not in self.api.credentials}
        line = json.dumps({"at": time.time(), "path": request.path, "query": query})
        with self._log_lock:
            self._log.write(line + "\n")


def served(tap: str, records: int, seed: int, *, grown: bool = False) -> dict[str, list[dict]]:
    """Stream → the records the account's sandbox serves (after `GROWTH` if `grown`): the
    same steps as the server's, which drifts its data at the first request."""
    api = load_api(tap)(records=records, seed=seed, drift=True)
    drift_tables(api.tables, api.stable_fields)
    api.changed()
    if grown:
        api.new_activity(**GROWTH[tap])  # type: ignore[attr-defined]
    return {stream: api.tables[stream] for stream in STREAMS[tap]}


def requests_of(log: Path) -> list[dict]:
    """The requests a sandbox logged, in order."""
    return [json.loads(line) for line in log.read_text().splitlines()]


# -- the warehouse ---------------------------------------------------------------------------


def table(uri: str, schema: str, name: str) -> tuple[dict[str, str], list[dict]]:
    """(column → PostgreSQL type, rows as dicts) of one table."""
    with psycopg.connect(uri) as con:
        kinds = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, name),
            ).fetchall()
        )
        cursor = con.execute(f'select * from "{schema}"."{name}"')
        names = [d.name for d in cursor.description or ()]
        return kinds, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def row_count(uri: str, schema: str, name: str) -> int:
    """Rows of a table; 0 while it does not exist."""
    with psycopg.connect(uri) as con:
        exists = con.execute("select to_regclass(%s)", (f'"{schema}"."{name}"',)).fetchone()
        if not exists or exists[0] is None:
            return 0
        return con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]  # type: ignore[index]


def same(sent: t.Any, stored: t.Any, kind: str) -> bool:
    """Whether a value stored in a column of `kind` is the value the API sent. A property
    of several types is a `text` column: numbers arrive as their text."""
    if kind == "text" and isinstance(stored, str) and not isinstance(sent, str | dict | list):
        return stored == json.dumps(sent)
    if isinstance(stored, dict | list):
        return carries(normalized(stored), normalized(sent))
    if isinstance(stored, dt.datetime):  # the API's time in any form: the same instant
        moment = fidelity.instant(sent)
        return moment == (stored if stored.tzinfo else stored.replace(tzinfo=dt.UTC))
    if isinstance(stored, dt.date) and isinstance(sent, str):
        return dt.date.fromisoformat(sent[:10]) == stored
    if isinstance(stored, decimal.Decimal) and isinstance(sent, int | float | str):
        return not isinstance(sent, bool) and decimal.Decimal(str(sent)) == stored
    return stored == sent and type(stored) is type(sent)


def misplaced(record: dict, row: dict, kinds: dict[str, str]) -> list[str]:
    """The fields of a sent record whose value is in neither its column nor a variant's."""
    return fidelity.misplaced(record, row, kinds, same)


# -- the orchestrator ------------------------------------------------------------------------


class StepEvent(t.NamedTuple):
    step: str
    kind: str  # STEP_START, STEP_SUCCESS, STEP_RESTARTED, ...
    at: dt.datetime
    pid: int


def step_events(uri: str, job: str) -> tuple[str, list[StepEvent]]:
    """The run id of the one run of `job` and its steps' events, from Dagster's storage."""
    with psycopg.connect(uri) as con:
        (run_id,) = con.execute(  # type: ignore[misc]
            "select run_id from runs where pipeline_name = %s", (job,)
        ).fetchone()
        rows = con.execute(
            "select step_key, dagster_event_type, timestamp, event from event_logs "
            "where run_id = %s and step_key is not null and dagster_event_type is not null "
            "order by id",
            (run_id,),
        ).fetchall()
    events = [
        StepEvent(step, kind, at, json.loads(event)["dagster_event"]["pid"])
        for step, kind, at, event in rows
    ]
    return run_id, events


# -- the state store -------------------------------------------------------------------------


def state_versions(s3: t.Any, bucket: str, key: str) -> list[dict]:
    """Every version of one state object, oldest first, as parsed JSON."""
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = sorted(
        (v for v in listing.get("Versions", []) if v["Key"] == key),
        key=lambda v: v["LastModified"],
    )
    return [
        json.loads(s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read())
        for v in versions
    ]


def main(argv: list[str] | None = None) -> None:
    """Serve one account's sandbox until SIGTERM (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.scale_support")
    parser.add_argument("tap")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--requests", type=Path, required=True)
    args = parser.parse_args(argv)
    api = load_api(args.tap)(records=args.records, seed=args.seed, drift=True)
    server = LoggingServer(api, args.requests, args.latency_ms)

    def grow(*_: object) -> None:
        api.new_activity(**GROWTH[args.tap])  # type: ignore[attr-defined]
        print("grown", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, grow)
    with server:
        credentials = " ".join(f"{k}={v}" for k, v in api.credentials.items())
        print(f"{server.url} {credentials}", flush=True)
        stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
