"""Wall time of every tap against an API that answers in `--latency-ms`, against two bounds.

For each tap, all streams sync (no catalog: discovery samples the API, then the sync) from
a sandbox in this process that sleeps `latency` before every answer. Printed per tap:

- requests: what the server received (discovery included);
- serial: requests x latency, what a tap that waits for each answer before asking the
  next would take at the least;
- critical: the longest chain of requests that must follow one another, x latency: one
  for discovery's probe, then, over the top-level streams, the pages of the stream
  (1 when its pages can be asked for ahead, by offset or page number) plus the longest
  such chain of one of its child streams for one parent;
- slots: requests x latency / max_concurrent_requests, the least time that many requests
  take with no more than that many in flight;
- start-up: from starting the tap to its first request;
- wall, serial / wall, wall / (critical + start-up), and wall / (the larger of critical
  and slots, + start-up): how far the run is from the tighter of its two limits.

Medians of `--runs` runs, run in rounds over the taps.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rest_taps.common.registry import tap_classes
from rest_taps.common.sandbox import SandboxServer, load_api
from rest_taps.common.settings import number

METRIC = re.compile(r"METRIC: (\{.*\})$")


@dataclass
class TapRun:
    requests: int
    chain: int
    startup: float
    wall: float


def sequential_pages(tap_name: str) -> dict[str, bool]:
    """Stream → whether its pages must be asked for one after another."""
    tap_cls = tap_classes()[tap_name]
    return {
        stream.name: not getattr(stream.paginator, "predictable", False)
        for stream in tap_cls.stream_types
    }


def chain_length(stderr: str, sequential: dict[str, bool], parents: dict[str, str]) -> int:
    """The longest chain of dependent requests, from the tap's request-count metrics."""
    pages: dict[str, int] = defaultdict(int)  # stream → most pages of one partition
    for line in stderr.splitlines():
        match = METRIC.search(line)
        if not match:
            continue
        metric = json.loads(match.group(1))
        if metric.get("metric") != "http_request_count":
            continue
        stream = metric["tags"]["stream"]
        count = metric["value"] if sequential.get(stream, True) else 1
        pages[stream] = max(pages[stream], count)

    def chain(stream: str) -> int:
        children = [c for c, p in parents.items() if p == stream]
        return pages.get(stream, 0) + max((chain(c) for c in children), default=0)

    roots = [s for s in sequential if s not in parents]
    return 1 + max((chain(s) for s in roots), default=0)


def run_tap(tap_name: str, latency_ms: float, settings: dict) -> TapRun:
    """One run of every stream of `tap_name` against a fresh sandbox with latency."""
    api = load_api(tap_name)()
    tap_cls = tap_classes()[tap_name]
    parents = {
        s.name: s.parent_stream_type.name
        for s in tap_cls.stream_types
        if s.parent_stream_type is not None
    }
    with SandboxServer(api, latency_ms=latency_ms) as server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps({"api_url": server.url, **api.credentials, **settings}))
        started = time.monotonic()
        proc = subprocess.run(
            [str(Path(sys.executable).parent / tap_name), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        if proc.returncode != 0:
            msg = f"{tap_name} exited {proc.returncode}: {proc.stderr[-500:]}"
            raise RuntimeError(msg)
        requests = list(server.requests)
    return TapRun(
        requests=len(requests),
        chain=chain_length(proc.stderr, sequential_pages(tap_name), parents),
        startup=requests[0].received - started if requests else wall,
        wall=wall,
    )


def bench_latency(latency_ms: float, runs: int, settings: dict | None = None) -> None:
    """Print the table for every tap."""
    names = list(tap_classes())
    results: dict[str, list[TapRun]] = {name: [] for name in names}
    for _ in range(runs):
        for name in names:
            results[name].append(run_tap(name, latency_ms, settings or {}))
    latency = latency_ms / 1000
    print(
        f"\nLatency: {latency_ms:g} ms added to every answer, all streams, "
        f"settings {settings or 'default'}, median of {runs} runs"
    )
    header = (
        f"{'tap':<24} {'requests':>8} {'serial s':>9} {'critical s':>10} {'slots s':>8} "
        f"{'start-up s':>10} {'wall s':>7} {'serial/wall':>11} {'wall/(crit+start)':>17} "
        f"{'wall/(max(crit,slots)+start)':>28}"
    )
    print(header)
    for name in names:
        rows = results[name]
        requests = statistics.median(r.requests for r in rows)
        chain = statistics.median(r.chain for r in rows)
        startup = statistics.median(r.startup for r in rows)
        wall = statistics.median(r.wall for r in rows)
        serial, critical = requests * latency, chain * latency
        slots = serial / number(settings or {}, "max_concurrent_requests")
        print(
            f"{name:<24} {requests:>8.0f} {serial:>9.1f} {critical:>10.1f} {slots:>8.2f} "
            f"{startup:>10.2f} {wall:>7.2f} {serial / wall:>11.2f} "
            f"{wall / (critical + startup):>17.2f} {wall / (max(critical, slots) + startup):>28.2f}"
        )
