"""The sandbox HTTP server: a synthetic API on 127.0.0.1, with fault injection.

A `SandboxAPI` subclass describes one API: its credentials, its routes (methods marked
with `@route`) and its deterministic data. `SandboxServer` serves it over real HTTP/1.1
with keep-alive on a free port, records every request it receives, and injects faults
switched on per path (`inject`) so tests exercise the taps' retry and error handling
against a real socket.
"""

from __future__ import annotations

import functools
import json
import math
import re
import socket
import sys
import threading
import time
import typing as t
import zlib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import msgspec

from rest_taps.common.sandbox import data

_encode = msgspec.json.Encoder().encode


@dataclass
class Request:
    """One request as the API sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: t.Any = None
    received: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Response:
    """What a route returns: a JSON body, a status and extra headers."""

    body: t.Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = t.Callable[..., Response]


def route(method: str, *patterns: str) -> t.Callable[[Handler], Handler]:
    """Mark an API method as the handler of `method` on each of `patterns` (paths where
    `{name}` captures a segment)."""

    def mark(func: Handler) -> Handler:
        func.__dict__.setdefault("_routes", []).extend((method.upper(), p) for p in patterns)
        return func

    return mark


class SandboxAPI:
    """Base of each API's sandbox: routing, authentication, error shapes and data.

    Subclasses set `credentials` (setting name → the value this sandbox accepts),
    implement `authorized`, fill `tables` with the records each stream reads, and give
    each route a method decorated with `@route` that takes the `Request` (and path
    captures as keyword arguments).

    `tables` maps a stream name to the records the API holds for it: a list, or for a
    child resource a dict of parent key → list. Routes serve from it, so a test can
    serve records nobody here wrote (`replace`) and drift mode can alter values in
    place. With `drift=True` the API answers with values of other JSON types than its
    documented ones (`rest_taps.common.sandbox.data.drift_tables`) in every field but the
    `stable_fields` of a stream: the input the taps' schema evolution must absorb.
    """

    #: Human name of the API, for logs.
    title = "API"
    #: Setting name → accepted value. The tap uses these in sandbox mode.
    credentials: t.ClassVar[dict[str, str]] = {}
    #: Default volume of the main streams (the `--records` scale).
    default_records = 1000
    #: Stream → fields drift mode never alters (keys, replication keys, parent keys,
    #: paging fields): the tap may rely on their types.
    stable_fields: t.ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, records: int | None = None, seed: int = 0, *, drift: bool = False) -> None:
        self.records = self.default_records if records is None else records
        self.seed = seed
        self.drift = drift
        self.tables: dict[str, t.Any] = {}
        self.lock = threading.RLock()
        self._drifted = False
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for name in dir(type(self)):
            func = getattr(type(self), name)
            for method, pattern in getattr(func, "_routes", ()):
                regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
                self._routes.append((method, re.compile(f"^{regex}$"), getattr(self, name)))

    def replace(self, stream: str, records: list[dict]) -> None:
        """Serve exactly `records` (values verbatim) as the records of `stream`.

        A child resource's sandbox overrides this to file the records under parents it
        serves. Subclasses that cache views of their tables drop them in `changed`.
        """
        with self.lock:
            self.tables[stream] = [dict(record) for record in records]
            self.changed()

    def changed(self) -> None:
        """The tables changed: forget any view derived from them."""

    def expected_counts(self) -> dict[str, int]:
        """Stream name → records a full sync (no start_date) reads from this data."""
        return {
            stream: sum(map(len, rows.values())) if isinstance(rows, dict) else len(rows)
            for stream, rows in self.tables.items()
        }

    def authorized(self, request: Request) -> bool:
        """Whether the request carries this API's credential."""
        return True

    def error(self, status: int, message: str) -> Response:
        """An error response in this API's shape."""
        return Response({"error": message}, status)

    def handle(self, request: Request) -> Response:
        """Route one request."""
        matched_path = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            matched_path = True
            if method != request.method:
                continue
            if not self.authorized(request):
                return self.error(401, "Unauthorized: the credential was rejected")
            with self.lock:
                if self.drift and not self._drifted:
                    self._drifted = True
                    data.drift_tables(self.tables, self.stable_fields)
                    self.changed()
                return handler(request, **match.groupdict())
        if matched_path:
            return self.error(405, f"Method {request.method} not allowed")
        return self.error(404, f"No route for {request.path}")


@dataclass
class Fault:
    """A fault served instead of (or before) the normal response.

    The kinds of a polite but failing server: ``status`` (an HTTP error, with an optional
    ``retry_after``: seconds, ``"inf"`` or an HTTP date), ``drop`` (close the connection
    without answering), ``bad_json`` (a 200 whose body is not JSON), ``body`` (a 200 with
    the given JSON ``body``), ``slow`` (wait ``delay`` seconds, then answer normally),
    ``headers`` (the normal answer plus ``headers``).

    And of a hostile one: ``redirect`` (``status`` 301/302/307/308 to ``location``, where
    ``{path}`` stands for the request's own path and query; by default itself),
    ``drip`` (the normal answer's body one byte every ``delay`` seconds), ``stall``
    (headers, then nothing for ``delay`` seconds), ``gzip_bomb`` (``size`` bytes of zeros,
    gzip-compressed), ``raw`` (a 200 with the bytes of ``body``), ``replay`` (the first
    ``period`` normal answers, then those again in turn, forever: cursors that cycle,
    paging parameters the server ignores).

    And of a quota shared with other clients: ``spent`` (the normal answer plus
    ``headers``, where ``{reset}`` stands for the Unix second, rounded up, ``delay``
    seconds from now; the quota is spent until then, and the server holds every other
    answer until then, counting in ``held`` the requests it held).
    """

    kind: str
    path: str  # exact path or fnmatch pattern
    method: str | None = None
    times: int = 1  # how many requests it hits; -1 = every one
    skip: int = 0  # matching requests answered normally before it starts
    busy: int = 0  # it hits only while at least this many other requests wait for answers
    status: int = 500
    retry_after: int | float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: t.Any = None
    location: str = ""
    size: int = 0
    period: int = 1
    hits: int = 0
    replies: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def matches(self, request: Request) -> bool:
        return (
            self.times != 0
            and (self.method is None or self.method == request.method)
            and (self.path == request.path or fnmatchcase(request.path, self.path))
        )


@functools.cache
def gzip_zeros(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about a thousandth of `size`)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, packer.compress(bytes(size & ((1 << 20) - 1))), packer.flush()])


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: SandboxServer

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """A client that hangs up (a tap exiting with connections open) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # with keep-alive, Nagle costs ~48 ms a request
    server: _HTTPServer

    def log_message(self, format: str, *args: t.Any) -> None:
        pass  # quiet: tests and benchmarks read the tap's output, not the server's

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(Response({"error": "request body is not JSON"}, 400))
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        sandbox.record(request)
        if sandbox.latency:
            time.sleep(sandbox.latency)
        fault = sandbox.take_fault(request)
        if fault is not None and fault.kind == "spent":
            reset = sandbox.spend(fault)
            headers = {k: v.format(reset=reset) for k, v in fault.headers.items()}
            self._send(self._answer(request), headers)
            return
        sandbox.hold()
        if fault is None:
            self._send(self._answer(request))
            return
        if fault.kind == "slow":
            time.sleep(fault.delay)
            self._send(self._answer(request))
        elif fault.kind == "headers":
            self._send(self._answer(request), fault.headers)
        elif fault.kind in ("drip", "replay"):
            getattr(self, f"_{fault.kind}")(fault, request)
        else:
            self._hostile(fault)

    def _answer(self, request: Request) -> Response:
        try:
            return self.server.sandbox.api.handle(request)
        except Exception as exc:  # a bug in a sandbox route: answer 500, keep serving
            return Response({"error": f"sandbox error: {exc!r}"}, 500)

    def _hostile(self, fault: Fault) -> None:
        """The faults that need no normal answer."""
        if fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault.kind == "bad_json":
            self._send_raw(200, b"<html>Service temporarily unavailable</html>", "text/html")
        elif fault.kind == "body":
            self._send(Response(fault.body, 200, dict(fault.headers)))
        elif fault.kind == "raw":
            self._send_raw(200, fault.body, "application/json", fault.headers)
        elif fault.kind == "status":
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            self._send(self.server.sandbox.api.error(fault.status, "injected fault"), headers)
        elif fault.kind == "redirect":  # `{path}` in the location: the request's own target
            location = (fault.location or "{path}").format(path=self.path)
            headers = {"Location": location, **fault.headers}
            self._send_raw(fault.status, b"", "text/plain", headers)
        elif fault.kind == "stall":
            self._send_headers(200, "application/json", {"Content-Length": "1000"})
            time.sleep(fault.delay)
            self.close_connection = True
        elif fault.kind == "gzip_bomb":
            headers = {"Content-Encoding": "gzip"}
            self._send_raw(200, gzip_zeros(fault.size), "application/json", headers)
        else:
            msg = f"unknown fault kind {fault.kind!r}"
            raise ValueError(msg)

    def _drip(self, fault: Fault, request: Request) -> None:
        response = self._answer(request)
        payload = _encode(response.body)
        self._send_headers(
            response.status, "application/json", {"Content-Length": str(len(payload))}
        )
        for i in range(len(payload)):
            self.wfile.write(payload[i : i + 1])
            self.wfile.flush()
            time.sleep(fault.delay)

    def _replay(self, fault: Fault, request: Request) -> None:
        with fault.lock:
            recorded = len(fault.replies) >= fault.period
            reply = fault.replies[(fault.hits - 1) % fault.period] if recorded else None
        if reply is None:
            response = self._answer(request)
            reply = (response.status, _encode(response.body), dict(response.headers))
            with fault.lock:
                fault.replies.append(reply)
        self._send_raw(reply[0], reply[1], "application/json", reply[2])

    def _send(self, response: Response, extra_headers: dict[str, str] | None = None) -> None:
        headers = {**response.headers, **(extra_headers or {})}
        self._send_raw(response.status, _encode(response.body), "application/json", headers)

    def _send_raw(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_headers(
            status, content_type, {"Content-Length": str(len(payload)), **(headers or {})}
        )
        self.wfile.write(payload)

    def _send_headers(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


class SandboxServer:
    """Serves a `SandboxAPI` on 127.0.0.1 in a background thread."""

    def __init__(
        self, api: SandboxAPI, port: int = 0, latency_ms: float = 0, host: str = "127.0.0.1"
    ) -> None:
        self.api = api
        self.latency = latency_ms / 1000
        self.requests: list[Request] = []
        self.keep_log = True  # record requests (tests); off for long benchmark runs
        self._faults: list[Fault] = []
        self._spent: tuple[float, Fault | None] = (0.0, None)  # see `spend`
        self._waiting = 0  # requests received, not yet answered nor held
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _RequestHandler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the API (what a tap takes as `api_url`)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"sandbox-{self.api.title}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, path: str, kind: str = "status", **options: t.Any) -> Fault:
        """Switch on a fault for requests to `path` (see `Fault`)."""
        fault = Fault(kind=kind, path=path, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take_fault(self, request: Request) -> Fault | None:
        """The first active fault for `request`, counted as used."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.busy >= self._waiting or self._spent[0] > time.time():
                        continue  # not busy enough (this one counts), or already spent
                    fault.hits += 1
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def spend(self, fault: Fault) -> int:
        """The quota is spent for `fault.delay` seconds or a little more: returns when it
        resets (a whole Unix second, as APIs say it)."""
        reset = math.ceil(time.time() + fault.delay)
        with self._lock:
            self._spent = (reset, fault)
            self._waiting -= 1
        return reset

    def hold(self) -> None:
        """Wait, while a quota is spent, until it resets (counted as held)."""
        with self._lock:
            self._waiting -= 1
            reset, fault = self._spent
            if reset <= time.time() or fault is None:
                return
            fault.held += 1
        time.sleep(max(0.0, reset - time.time()))

    def record(self, request: Request) -> None:
        with self._lock:
            self._waiting += 1
            if self.keep_log:
                self.requests.append(request)

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        """Requests received for `path` (exact or fnmatch pattern)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (r.path == path or fnmatchcase(r.path, path))
            ]
