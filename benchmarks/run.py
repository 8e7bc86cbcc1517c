"""Throughput, memory and latency of the taps against what a user would pick instead.

    make bench                      # or: .venv/bin/python -m benchmarks.run [--records N]

The CPU path reads one standalone sandbox server (a separate process, same records, same
page sizes) and prints, per contender, the median of `--runs` runs: seconds, records per
second, peak RSS of the extracting process, and the ratio to the raw loop. The taps read
with a catalog that lacks a third of each stream's properties, so that every record carries
fields the schema does not declare (found and added at run time). The latency section
(`benchmarks.latency`) syncs every stream of every tap from a sandbox that answers in
100 ms. Needs dlt (the `bench` extra, or any Python with dlt named by `DLT_PYTHON`) and
`meltano install` (target-duckdb); `make bench` sees to both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

from benchmarks.latency import bench_latency

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_DUCKDB = ROOT / ".meltano/loaders/target-duckdb/venv/bin/target-duckdb"


@dataclass
class Sandbox:
    """A standalone sandbox server process."""

    proc: subprocess.Popen
    url: str
    credentials: dict[str, str]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@contextlib.contextmanager
def sandbox(tap: str, records: int, latency_ms: float = 0) -> t.Iterator[Sandbox]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rest_taps.common.sandbox",
            tap,
            "--records",
            str(records),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    url, *creds = proc.stdout.readline().split()
    server = Sandbox(proc, url, dict(c.split("=", 1) for c in creds))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float


def timed(
    commands: list[list[str]],
    env: dict | None = None,
    cwd: Path = ROOT,
    source: Path | None = None,
) -> Run:
    """Run a pipeline `a | b | ...` (`< source` if given) with stdout of the last to
    /dev/null.

    Returns wall time and the largest peak RSS of its processes (from wait4)."""
    started = time.perf_counter()
    procs: list[subprocess.Popen] = []
    stdin = source.open("rb") if source is not None else None
    for i, command in enumerate(commands):
        last = i == len(commands) - 1
        proc = subprocess.Popen(
            command,
            stdin=stdin,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        if stdin is not None:
            stdin.close()
        stdin = proc.stdout
        procs.append(proc)
    peak = 0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            msg = f"{commands[procs.index(proc)][0]} exited {proc.returncode}"
            raise RuntimeError(msg)
        peak = max(peak, usage.ru_maxrss)
    return Run(time.perf_counter() - started, peak / 1024)


def python_snippet(code: str, python: str = sys.executable) -> list[str]:
    return [python, "-c", code]


#: The Python that runs dlt (its own venv, say, to keep dlt's dependencies apart).
DLT_PYTHON = os.environ.get("DLT_PYTHON", sys.executable)


RAW_LOOP = """
import json, sys, requests
url, key, path, records_key, size = sys.argv[1:6]
size = int(size)
out = open("/dev/null", "w")
session = requests.Session()
page = 1
while True:
    body = session.get(url + path, params={"page": page}, headers={"api_key": key}).json()
    rows = body["result"][records_key]
    for row in rows:
        out.write(json.dumps({"type": "RECORD", "stream": "items", "record": row}) + "\\n")
    if len(rows) < size:
        break
    page += 1
"""

DLT_PIPELINE = """
import sys, tempfile, dlt
from dlt.sources.rest_api import rest_api_source
url, key, mode, workdir = sys.argv[1:5]
# The `items` resource as dlt's rest_api_source takes it; `base_page: 1` and
# `total_path: None` are dlt's spelling of the API's page=1,2,... that ends at the first
# short or empty page (the page size is the server's, not a dlt paginator option).
source = rest_api_source({
    "client": {
        "base_url": url,
        "auth": {"type": "api_key", "name": "api_key", "api_key": key, "location": "header"},
    },
    "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
    "resources": [{
        "name": "items",
        "endpoint": {
            "path": "/v1/items",
            "data_selector": "result.items",
            "paginator": {"type": "page_number", "page_param": "page", "base_page": 1,
                          "total_path": None},
        },
    }],
})
pipeline = dlt.pipeline(
    pipeline_name="bench", pipelines_dir=workdir, destination="duckdb",
    dataset_name="bench", progress="log" if False else None,
)
if mode == "extract":
    pipeline.extract(source)
else:
    import duckdb
    pipeline.run(source, loader_file_format="jsonl",
                 destination=dlt.destinations.duckdb(workdir + "/warehouse.duckdb"))
"""


def catalog_for(
    tap: str,
    streams: set[str],
    config_path: Path,
    out: Path,
    *,
    undeclared: bool = True,
    sampled: bool = False,
) -> Path:
    """The declared catalog (with `sampled`: the one discovery makes from the API's first
    pages) with `streams` selected; with `undeclared`, less every third property that is
    not a key: records carry those as fields the schema does not declare."""
    config = json.loads(config_path.read_text())
    declared = config_path.with_suffix(".declared.json")
    declared.write_text(json.dumps(config if sampled else {**config, "schema_evolution": "off"}))
    catalog = json.loads(
        subprocess.run(
            [str(BIN / tap), "--config", str(declared), "--discover"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for entry in catalog["streams"]:
        keys = {*entry.get("key_properties", []), entry.get("replication_key")}
        properties = entry["schema"]["properties"]
        for name in [p for p in properties if p not in keys][::3] if undeclared else []:
            del properties[name]
        entry["metadata"] = [
            md
            for md in entry["metadata"]
            if len(md["breadcrumb"]) < 2 or md["breadcrumb"][1] in properties
        ]
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    out.write_text(json.dumps(catalog))
    return out


def measure(
    contenders: list[tuple[str, int, t.Callable[[], Run]]], runs: int
) -> list[tuple[str, int, Run]]:
    """Median of `runs` runs of each contender, run in interleaved rounds (A B C, A B C,
    ...) so that the machine's slow moments fall on every contender alike."""
    results: dict[str, list[Run]] = {name: [] for name, _, _ in contenders}
    for _ in range(runs):
        for name, _, make in contenders:
            results[name].append(make())
    return [
        (
            name,
            records,
            Run(
                statistics.median(r.seconds for r in results[name]),
                statistics.median(r.peak_rss_mb for r in results[name]),
            ),
        )
        for name, records, _ in contenders
    ]


def table(title: str, rows: list[tuple[str, int, Run]], reference: str | None) -> None:
    print(f"\n{title}")
    ref = next((r for name, _, r in rows if name == reference), None)
    header = f"{'contender':<64} {'records':>9} {'median s':>9} {'rec/s':>9} {'peak MB':>8}"
    print(header + (f" {'vs ' + reference:>14}" if ref else ""))
    for name, records, run in rows:
        rate = records / run.seconds
        line = f"{name:<64} {records:>9} {run.seconds:>9.2f} {rate:>9.0f} {run.peak_rss_mb:>8.0f}"
        if ref:
            line += f" {(records / run.seconds) / (records / ref.seconds):>13.2f}x"
        print(line)


RAW = "raw loop (requests + json, RECORD lines)"
DLT_LOAD = "dlt rest_api_source -> duckdb (jsonl)"


def bench_items(records: int, runs: int) -> None:
    """1-4: the `items` stream of tap-error-tracking, every contender."""
    with sandbox("tap-error-tracking", records) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        key = server.credentials["api_key"]
        tap = tap_command(
            "tap-error-tracking", {"api_url": server.url, "api_key": key}, {"items"}, work
        )
        declared = tap_command(
            "tap-error-tracking",
            {"api_url": server.url, "api_key": key},
            {"items"},
            work,
            undeclared=False,
        )
        raw = [*python_snippet(RAW_LOOP), server.url, key, "/v1/items", "items", "100"]

        def dlt(mode: str) -> Run:
            workdir = tempfile.mkdtemp(dir=work)
            return timed(
                [[*python_snippet(DLT_PIPELINE, DLT_PYTHON), server.url, key, mode, workdir]]
            )

        def target_duckdb() -> list[str]:
            database = Path(tempfile.mkdtemp(dir=work)) / "w.duckdb"
            target_config = Path(tempfile.mkdtemp(dir=work)) / "target.json"
            target_config.write_text(
                json.dumps({"filepath": str(database), "default_target_schema": "bench"})
            )
            return [str(TARGET_DUCKDB), "--config", str(target_config)]

        # The tap's output, saved once: what target-duckdb takes alone is the ceiling of
        # any tap piped into it.
        saved = work / "tap-output.jsonl"
        with saved.open("wb") as out:
            subprocess.run(tap, stdout=out, stderr=subprocess.DEVNULL, check=True)

        def meltano() -> Run:
            env = {
                **os.environ,
                "MELTANO_ENVIRONMENT": "prod",
                "TAP_ERROR_TRACKING_API_URL": server.url,
                "TAP_ERROR_TRACKING_API_KEY": key,
                "TAP_ERROR_TRACKING__SELECT": '["items.*"]',
                "TARGET_DUCKDB_FILEPATH": str(Path(tempfile.mkdtemp(dir=work)) / "m.duckdb"),
            }
            run = [str(BIN / "meltano"), "run", "--full-refresh", "tap-error-tracking"]
            return timed([[*run, "target-duckdb"]], env=env)

        extract = [
            (RAW, records, lambda: timed([raw])),
            ("tap-error-tracking > /dev/null (a third undeclared)", records, lambda: timed([tap])),
            ("tap-error-tracking > /dev/null (all declared)", records, lambda: timed([declared])),
            ("dlt rest_api_source, extract only", records, lambda: dlt("extract")),
        ]
        load = [
            ("tap-error-tracking | target-duckdb", records, lambda: timed([tap, target_duckdb()])),
            (
                "target-duckdb alone, reading that tap's saved output",
                records,
                lambda: timed([target_duckdb()], source=saved),
            ),
            ("meltano run tap-error-tracking target-duckdb", records, meltano),
            (DLT_LOAD, records, lambda: dlt("load")),
        ]
        title = f"items, {records} records, 100 a page"
        table(f"Extract: {title}", measure(extract, runs), RAW)
        table(f"Load into DuckDB: {title}", measure(load, runs), DLT_LOAD)


def tap_command(
    tap: str,
    config: dict,
    streams: set[str],
    work: Path,
    *,
    undeclared: bool = True,
    sampled: bool = False,
) -> list[str]:
    config_path = work / f"{tap}-{len(list(work.iterdir()))}.json"
    config_path.write_text(json.dumps(config))
    catalog_path = work / f"{config_path.stem}-catalog.json"
    catalog = catalog_for(
        tap, streams, config_path, catalog_path, undeclared=undeclared, sampled=sampled
    )
    return [str(BIN / tap), "--config", str(config_path), "--catalog", str(catalog)]


def bench_children(runs: int, latency_ms: float = 20) -> None:
    """5: parent-child at `latency_ms` per request, 500 parents, serial vs concurrent."""
    cases = [
        ("tap-pipeline-crm", 500, {"deals", "deal_products"}, "deals -> deal_products"),
        (
            "tap-customer-messaging",
            1000,
            {"conversations", "conversation_parts"},
            "conversations -> conversation_parts",
        ),
    ]
    rows: list[tuple[str, int, Run]] = []
    for tap, records, streams, label in cases:
        with sandbox(tap, records, latency_ms) as server, tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            base = {"api_url": server.url, **server.credentials}
            count = _count_records(tap_command(tap, base, streams, work))
            contenders = []
            for workers in (1, 8, 16):
                command = tap_command(
                    tap, {**base, "max_concurrent_requests": workers}, streams, work
                )
                name = f"{label}, max_concurrent_requests={workers}"
                contenders.append((name, count, lambda c=command: timed([c])))
            rows += measure(contenders, runs)
    table(
        f"Parent-child, {latency_ms:.0f} ms a request, 500 parents (serial = the SDK's way)",
        rows,
        None,
    )
    for tap_label in ("deals -> deal_products", "conversations -> conversation_parts"):
        serial = next(r for n, _, r in rows if n.startswith(tap_label) and n.endswith("=1"))
        for name, _, run in rows:
            if name.startswith(tap_label) and not name.endswith("=1"):
                print(f"  {name}: {serial.seconds / run.seconds:.1f}x the serial speed")


def _count_records(command: list[str]) -> int:
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith('{"type":"RECORD"'))


def bench_memory(runs: int) -> None:
    """6: peak RSS of the tap at 10k and at 1M records (items)."""
    rows: list[tuple[str, int, Run]] = []
    for records in (10_000, 1_000_000):
        with sandbox("tap-error-tracking", records) as server, tempfile.TemporaryDirectory() as tmp:
            command = tap_command(
                "tap-error-tracking",
                {"api_url": server.url, **server.credentials},
                {"items"},
                Path(tmp),
            )
            name = "tap-error-tracking items > /dev/null"
            rows += measure([(name, records, lambda c=command: timed([c]))], runs)
    table("Memory: peak RSS of the tap", rows, None)
    growth = rows[1][2].peak_rss_mb - rows[0][2].peak_rss_mb
    print(f"  1M records peak - 10k records peak: {growth:+.0f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", action="append", choices=["items", "children", "memory", "latency"]
    )
    parser.add_argument("--latency-ms", type=float, default=100)
    args = parser.parse_args(argv)
    print(
        f"# {time.strftime('%Y-%m-%d')} | {platform.machine()} | {os.cpu_count()} cores | "
        f"Python {platform.python_version()} | loopback sandbox, median of {args.runs} runs"
    )
    parser_sections = set(args.only or ["items", "children", "memory", "latency"])
    if "items" in parser_sections:
        bench_items(args.records, args.runs)
    if "children" in parser_sections:
        bench_children(args.runs)
    if "memory" in parser_sections:
        bench_memory(args.runs)
    if "latency" in parser_sections:
        bench_latency(args.latency_ms, args.runs)


if __name__ == "__main__":
    main()
