"""Sending one request so that a hostile or broken server can cost nothing but an error.

- **A total deadline.** `requests`' timeout bounds each socket read, so a body dripped one
  byte at a time never times out. Each request here has a watchdog: when the request
  (connecting, headers, the whole body) outlasts `request_timeout`, it shuts the request's
  socket down and the request fails as a time-out (retried like one).
- **A bounded body.** Bodies are read in chunks, decompressed as they come, and a body
  larger than `max_response_mb` once decompressed (a gzip bomb, say) ends the run.
- **Redirects stay at home.** A redirect is followed only within the origin of `api_url`
  (same scheme, host and port), at most `MAX_REDIRECTS` times: the credential, in a header
  or the query string, never reaches another host and never travels downgraded to plain
  HTTP. Any other redirect ends the run with a line saying where it pointed.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import typing as t
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 1 << 16

_current = threading.local()


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def describe_request(request: requests.PreparedRequest | None) -> str:
    """`GET /v1/items`: method and path, never the query string (it may hold a token)."""
    if request is None:
        return "request"
    return f"{request.method} {urlsplit(request.url or '').path}"


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """The `Retry-After` of a response in seconds (whole seconds or an HTTP date); `inf`
    for a value too large to be a number of seconds."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else 0.0  # `inf` stays inf: over any cap
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ResponseTooLargeError(Exception):
    """A body larger than allowed once decompressed."""


class RedirectRefusedError(Exception):
    """A redirect that would take the request (and its credential) elsewhere."""


class DeadlineExceededError(requests.exceptions.Timeout):
    """The request as a whole took longer than its deadline (retried like a time-out)."""


# -- the watchdog: every connection says which request it serves -------------------------


class _Watched:
    """Connection mixin: registers itself with the request the current thread sends."""

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.connection = self
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections a watchdog can cut."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _Watchdog:
    """One daemon thread that fires each watch whose deadline has passed (a thread per
    request would cost more than a request on loopback)."""

    def __init__(self) -> None:
        self._deadlines: list[tuple[float, int, _Watch]] = []
        self._cond = threading.Condition()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, watch: _Watch, seconds: float) -> None:
        with self._cond:
            heapq.heappush(self._deadlines, (time.monotonic() + seconds, next(self._count), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._deadlines and self._deadlines[0][2].done:
                    heapq.heappop(self._deadlines)  # ended in time
                if not self._deadlines:
                    self._cond.wait()
                    continue
                wait = self._deadlines[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._deadlines)[2].fire()


_watchdog = _Watchdog()


class _Watch:
    """Cuts the connection of one request when its deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.connection: HTTPConnection | None = None
        self.fired = False
        self.done = False
        self._seconds = seconds

    def fire(self) -> None:
        if self.done:
            return
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watch:
        _current.watch = self
        _watchdog.watch(self, self._seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True
        _current.watch = None


def new_session() -> requests.Session:
    """A session whose requests can be given a total deadline."""
    session = requests.Session()
    adapter = WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(
    session: requests.Session,
    request: requests.PreparedRequest,
    *,
    timeout: float,
    max_bytes: int,
) -> requests.Response:
    """Send `request` and read its whole body within `timeout` seconds in all, keeping at
    most `max_bytes` of (decompressed) body; redirects are not followed."""
    try:
        with _Watch(timeout) as watch:
            response = session.send(request, timeout=timeout, stream=True, allow_redirects=False)
            chunks, size = [], 0
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    response.close()
                    limit = max_bytes / (1 << 20)
                    msg = f"the response body is larger than {limit:g} MB (max_response_mb)"
                    raise ResponseTooLargeError(msg)
                chunks.append(chunk)
            response._content = b"".join(chunks)
    except (requests.exceptions.RequestException, OSError) as exc:
        if watch.fired:
            msg = f"the request took longer than request_timeout ({timeout:g} s) in all"
            raise DeadlineExceededError(msg) from None
        raise exc from None
    return response


def redirect_target(response: requests.Response, home: str) -> str | None:
    """Where a redirect response points, if it is one; refused unless within `home`'s
    origin, over the same scheme."""
    if response.status_code not in REDIRECT_STATUSES or "Location" not in response.headers:
        return None
    target = urljoin(response.url, response.headers["Location"])
    if origin(target) != origin(home):
        scheme, host, port = origin(target)
        where = f"{scheme}://{host}" + (f":{port}" if port else "")
        msg = (
            f"was redirected ({response.status_code}) to {where}, outside the API's origin; "
            "the credential is never sent elsewhere, so the run stops"
        )
        raise RedirectRefusedError(msg)
    return target
