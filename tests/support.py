"""Test helpers: run a tap against a sandbox over real HTTP and read what it wrote."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import typing as t
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rest_taps.common.registry import tap_class, tap_classes
from rest_taps.common.sandbox import SandboxAPI, SandboxServer

ROOT = Path(__file__).resolve().parent.parent
#: Real example records of the APIs, if present (a folder kept outside the repository).
VENDOR_EXAMPLES = Path(
    os.environ.get("VENDOR_EXAMPLES", ROOT.parent / "shared" / "vendor-examples")
)


def unix(moment: str) -> int:
    """Unix seconds of an RFC 3339 time as the taps emit it."""
    return int(dt.datetime.fromisoformat(moment).timestamp())


def sql_time(moment: str) -> str:
    """An RFC 3339 time as the taps emit it, as `YYYY-MM-DD HH:MM:SS` in UTC."""
    return dt.datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M:%S")


def available_taps() -> list[str]:
    """Packages of every tap of the distribution (`error_tracking`, ...)."""
    return [cls.__module__.split(".")[1] for cls in tap_classes().values()]


def vendor_examples(package: str) -> dict[str, list[dict]]:
    """Stream → the real example records of `package`'s API, from `VENDOR_EXAMPLES`
    (the folder whose files are all named after streams of the tap); {} if none."""
    if not VENDOR_EXAMPLES.is_dir():
        return {}
    streams = {stream.name for stream in tap_class(package).stream_types}
    for folder in sorted(p for p in VENDOR_EXAMPLES.iterdir() if p.is_dir()):
        files = {path.stem: path for path in folder.glob("*.json")}
        if files and set(files) <= streams:
            return {name: json.loads(path.read_text()) for name, path in sorted(files.items())}
    return {}


def api_class(package: str) -> type[SandboxAPI]:
    return tap_class(package).sandbox_api()


@dataclass
class SyncResult:
    """The Singer messages of one run."""

    messages: list[dict] = field(default_factory=list)

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(m["stream"] for m in self.messages if m["type"] == "RECORD"))

    @property
    def schemas(self) -> dict[str, dict]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict:
        return self.states[-1] if self.states else {}

    def by_stream(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = defaultdict(list)
        for m in self.messages:
            if m["type"] == "RECORD":
                out[m["stream"]].append(m["record"])
        return out


def parse_messages(text: str) -> SyncResult:
    return SyncResult([json.loads(line) for line in text.splitlines() if line.strip()])


def config_for(server: SandboxServer, **extra: t.Any) -> dict:
    """Config pointing a tap at a test-owned sandbox server (not sandbox mode)."""
    return {
        "api_url": server.url,
        **server.api.credentials,
        "backoff_factor": 0,
        **extra,
    }


def serial_config(server: SandboxServer, **extra: t.Any) -> dict:
    """`config_for` with one request at a time: for tests of the exact requests of an API's
    paging protocol, as a serial run sends them (tests/test_concurrency.py proves that a
    concurrent run sends the same records)."""
    return config_for(server, max_concurrent_requests=1, **extra)


def drift_config(package: str) -> dict:
    """Config for a sandbox of `package` in drift mode, served for the rest of the test
    session (the SDK's test classes are made at collection time)."""
    server = SandboxServer(api_class(package)(drift=True)).start()
    return config_for(server)


def declared_catalog(tap_cls: type, config: dict, streams: t.Iterable[str] | None = None) -> dict:
    """The tap's catalog of declared schemas (read without asking the API), as an
    earlier discovery would give it, with only `streams` selected (all when None)."""
    tap = tap_cls(config={**config, "schema_evolution": "off"}, validate_config=False)
    catalog = tap.catalog_dict
    wanted = None if streams is None else set(streams)
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = wanted is None or entry["tap_stream_id"] in wanted
    return catalog


def sync(
    tap_cls: type,
    config: dict,
    state: dict | None = None,
    streams: t.Iterable[str] | None = None,
    *,
    discover: bool = False,
) -> SyncResult:
    """Run a tap in-process and return what it wrote to stdout.

    The run gets the declared catalog, as under Meltano (which discovers once, then
    runs with the catalog), so the requests a test sees are the sync's own; with
    `discover=True` the tap gets no catalog and discovers (sampling the API) itself.
    """
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    catalog = None if discover else declared_catalog(tap_cls, config, streams)
    with contextlib.redirect_stdout(out):
        tap = tap_cls(config=config, state=state, catalog=catalog)
        tap.sync_all()
        out.flush()
    return parse_messages(raw.getvalue().decode())


def run_until_killed(
    tap_name: str,
    config: dict,
    kill_at: t.Callable[[bytes], bool],
    catalog: dict | None = None,
    timeout: float = 120,
) -> tuple[SyncResult, bool]:
    """Run a tap's console script (with `catalog`, else discovering) and SIGKILL it at the
    first line of its output for which `kill_at` is true (or after `timeout` seconds);
    what it wrote (whole lines), and whether the kill came at such a line."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(Path(sys.executable).parent / tap_name)]
        for name, value in (("config", config), ("catalog", catalog)):
            if value is not None:
                path = Path(tmp, f"{name}.json")
                path.write_text(json.dumps(value))
                args += [f"--{name}", str(path)]
        # Its output block-buffered, as into any pipe: what it flushes is all a reader gets.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        assert proc.stdout is not None
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines, killed = [], False
        for line in proc.stdout:
            lines.append(line)
            if kill_at(line):
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
        timer.cancel()
        proc.wait(30)
        lines += proc.stdout.read().splitlines(keepends=True)
    whole = b"".join(line for line in lines if line.endswith(b"\n")).decode()
    return parse_messages(whole), killed


def run_cli(
    tap_name: str,
    config: dict,
    state: dict | None = None,
    timeout: float = 120,
    *,
    catalog: dict | None = None,
    discover: bool = False,
    env_config: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a tap's console script as a user would; returns the finished process.

    Like `sync`, the run gets `catalog`, else the declared catalog, unless `discover`.
    With `env_config` it also reads settings from the environment (`--config ENV`).
    """
    if catalog is None and not discover:
        tap_cls = next(c for c in map(tap_class, available_taps()) if c.name == tap_name)
        catalog = declared_catalog(tap_cls, config)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp, "config.json")
        config_path.write_text(json.dumps(config))
        args = [str(Path(sys.executable).parent / tap_name), "--config", str(config_path)]
        if env_config:
            args += ["--config", "ENV"]
        if catalog is not None:
            catalog_path = Path(tmp, "catalog.json")
            catalog_path.write_text(json.dumps(catalog))
            args += ["--catalog", str(catalog_path)]
        if state is not None:
            state_path = Path(tmp, "state.json")
            state_path.write_text(json.dumps(state))
            args += ["--state", str(state_path)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
