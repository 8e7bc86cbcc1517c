"""Run a tap's sandbox API alone, for benchmarks and other clients.

python -m rest_taps.common.sandbox tap-error-tracking --port 8765 --records 100000
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from rest_taps.common.registry import tap_classes
from rest_taps.common.sandbox import SandboxServer, load_api


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m rest_taps.common.sandbox", description=__doc__)
    parser.add_argument("tap", help=f"tap name: {', '.join(tap_classes())}")
    parser.add_argument("--port", type=int, default=0, help="port (0 = a free one)")
    parser.add_argument("--records", type=int, default=None, help="volume of the main streams")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the data")
    parser.add_argument("--latency-ms", type=float, default=0, help="added per request")
    args = parser.parse_args(argv)

    api = load_api(args.tap)(records=args.records, seed=args.seed)
    server = SandboxServer(api, port=args.port, latency_ms=args.latency_ms)
    server.keep_log = False
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        credentials = " ".join(f"{k}={v}" for k, v in api.credentials.items())
        print(f"{server.url} {credentials}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
