"""The CPU path of tap-rest beside the hand-written error-tracking tap, on the same items.

    .venv/bin/python -m benchmarks.rest [--records N] [--runs N]

One standalone error-tracking sandbox (a separate process) serves the `items` pages; both
taps read them with a catalog that lacks a third of the stream's properties (so every
record carries fields added at run time): tap-error-tracking its declared catalog, as in
`benchmarks.run`, and tap-rest the catalog its discovery makes from the first page, given
the API's `rest_api` config (rest_taps/rest/examples/error_tracking.json, its `items`
resource, with the `base_page: 1` the API pages from). Prints the medians of interleaved
runs, the ratio of tap-rest's time to the hand-written tap's, and the same ratio of the
CPU seconds (user + system) the two processes used.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import typing as t
from pathlib import Path

from benchmarks.run import ROOT, Run, measure, sandbox, table, tap_command, timed

EXAMPLE = ROOT / "rest_taps" / "rest" / "examples" / "error_tracking.json"
HAND = "tap-error-tracking > /dev/null (a third undeclared)"
REST = "tap-rest, the API's config > /dev/null (a third undeclared)"


def items_config() -> dict:
    """The API's config with its `items` resource alone, paging from page 1."""
    config = json.loads(EXAMPLE.read_text())
    config["resources"] = [r for r in config["resources"] if r["name"] == "items"]
    config["resources"][0]["endpoint"]["paginator"]["base_page"] = 1
    return config


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def counted(command: list[str], cpu: list[float]) -> t.Callable[[], Run]:
    """A contender that also notes the CPU seconds of each of its runs in `cpu`."""

    def run() -> Run:
        before = cpu_seconds()
        result = timed([command])
        cpu.append(cpu_seconds() - before)
        return result

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with (
        sandbox("tap-error-tracking", args.records) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        key = server.credentials["api_key"]
        hand = tap_command(
            "tap-error-tracking", {"api_url": server.url, "api_key": key}, {"items"}, work
        )
        rest_config = {"api_url": server.url, "api_key": key, "rest_api": items_config()}
        rest = tap_command("tap-rest", rest_config, {"items"}, work, sampled=True)
        cpu: dict[str, list[float]] = {HAND: [], REST: []}
        rows = measure(
            [
                (HAND, args.records, counted(hand, cpu[HAND])),
                (REST, args.records, counted(rest, cpu[REST])),
            ],
            args.runs,
        )
    title = f"Extract: items, {args.records} records, 100 a page (median of {args.runs})"
    table(title, rows, HAND)
    seconds = {name: run.seconds for name, _, run in rows}
    print(f"\ntap-rest / tap-error-tracking, time: {seconds[REST] / seconds[HAND]:.3f}")
    used = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"tap-rest / tap-error-tracking, CPU seconds: {used[REST] / used[HAND]:.3f}")


if __name__ == "__main__":
    main()
