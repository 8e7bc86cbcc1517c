"""The shared base on a minimal tap and sandbox: retries, Retry-After, auth placements,
rate-limit pacing, redaction and config validation, all over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import email.utils
import io
import itertools
import json
import logging
import subprocess
import sys
import threading
import time
import typing as t

import pytest

from rest_taps.common import redaction
from rest_taps.common.auth import AuthPlacement
from rest_taps.common.pagination import PageNumberPaging
from rest_taps.common.ratelimit import RateGate
from rest_taps.common.sandbox import Request, Response, SandboxAPI, SandboxServer, route
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.streams import BaseStream
from rest_taps.common.tap import BaseTap
from tests.support import ROOT, sync

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "thing_id": {"type": ["integer", "null"]}},
}


class ThingsAPI(SandboxAPI):
    """Ten things, five a page; `/v1/things/{id}/parts` answers 404 for thing 3."""

    title = "things"
    credentials: t.ClassVar[dict[str, str]] = {"token": "tok-1234", "user": "someone"}

    def __init__(self, placement: AuthPlacement | None = None, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.placement = placement or AuthPlacement.header("token")
        self.quota: tuple[int, float] | None = None  # (requests, window seconds)
        self._window: tuple[float, int] = (0.0, 0)
        self.throttled = 0  # 429s served to a client that did not wait

    def authorized(self, request: Request) -> bool:
        token = self.credentials["token"]
        kind = self.placement.placement
        if kind == "query":
            return request.query.get("token") == token
        if kind == "header":
            return request.headers.get("token") == token
        if kind == "bearer":
            return request.headers.get("authorization") == f"Bearer {token}"
        pair = base64.b64encode(f"{self.credentials['user']}:{token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {pair}"

    def expected_counts(self) -> dict[str, int]:
        return {"things": 10, "parts": 9}

    def _paced(self, body: t.Any) -> Response:
        if self.quota is None:
            return Response(body)
        limit, window = self.quota
        start, used = self._window
        now = time.time()
        if now >= start + window:
            start, used = now, 0
        if used >= limit:
            self.throttled += 1
            return Response({"error": "rate limited"}, 429)
        used += 1
        self._window = (start, used)
        headers = {
            "X-RateLimit-Remaining": str(limit - used),
            "X-RateLimit-Reset": f"{start + window:.3f}",
        }
        return Response(body, headers=headers)

    @route("GET", "/v1/things")
    def things(self, request: Request) -> Response:
        page = int(request.query.get("page", "1"))
        ids = list(range(1, 11))[(page - 1) * 5 : page * 5]
        return self._paced({"data": [{"id": i} for i in ids]})

    @route("GET", "/v1/things/{thing_id}/parts")
    def parts(self, request: Request, thing_id: str) -> Response:
        if thing_id == "3":
            return Response({"error": "thing 3 was deleted"}, 404)
        return self._paced({"data": [{"id": int(thing_id) * 100}]})


class Things(BaseStream):
    name = "things"
    path = "/v1/things"
    records_jsonpath = "$.data[*]"
    primary_keys = ("id",)
    schema = SCHEMA
    paginator = PageNumberPaging(page_size=5)

    def get_child_context(self, record: dict, context: t.Any) -> dict:
        return {"thing_id": record["id"]}


class Parts(BaseStream):
    name = "parts"
    path = "/v1/things/{thing_id}/parts"
    records_jsonpath = "$.data[*]"
    primary_keys = ("id",)
    schema = SCHEMA
    parent_stream_type = Things


def make_tap(placement: AuthPlacement) -> type[BaseTap]:
    class ThingsTap(BaseTap):
        name = "tap-things"
        auth = placement
        stream_types = (Things, Parts)
        config_jsonschema = config_schema(
            [credential_property(s, "a credential") for s in placement.settings]
        )

    return ThingsTap


HEADER_TAP = make_tap(AuthPlacement.header("token"))


@pytest.fixture
def server():
    with SandboxServer(ThingsAPI()) as srv:
        yield srv


def config(server: SandboxServer, **extra: t.Any) -> dict:
    return {"api_url": server.url, "token": "tok-1234", "backoff_factor": 0, **extra}


def gaps(server: SandboxServer, path: str) -> list[float]:
    times = [r.received for r in server.requests_to(path)]
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize(
    "placement",
    [
        AuthPlacement.query("token"),
        AuthPlacement.header("token"),
        AuthPlacement.bearer("token"),
        AuthPlacement.basic("user", "token"),
    ],
    ids=["query", "header", "bearer", "basic"],
)
def test_auth_placements(placement: AuthPlacement) -> None:
    with SandboxServer(ThingsAPI(placement)) as srv:
        conf = {"api_url": srv.url, **ThingsAPI.credentials}
        result = sync(make_tap(placement), conf)
        assert result.counts == {"things": 10, "parts": 9}
        assert len(srv.requests_to("/v1/things/*")) == 10, "one request a child"
        assert pages_asked(srv) == [1, 2, 3], "2 full pages, 1 empty page (no page twice)"


def pages_asked(server: SandboxServer) -> list[int]:
    """The pages of `/v1/things` asked for, in order, up to the first page past the end
    (pages asked for ahead beyond it are dropped unread), after checking none was asked
    twice."""
    pages = sorted(int(r.query["page"]) for r in server.requests_to("/v1/things"))
    assert len(set(pages)) == len(pages), f"a page asked for twice: {pages}"
    return pages[:3]


def test_a_serial_run_asks_for_no_page_past_the_end(server: SandboxServer) -> None:
    result = sync(HEADER_TAP, config(server, max_concurrent_requests=1))
    assert result.counts == {"things": 10, "parts": 9}
    assert len(server.requests) == 3 + 10, "2 full pages, 1 empty page, 10 children"


def test_children_carry_the_parent_key_and_skip_a_deleted_parent(server: SandboxServer) -> None:
    result = sync(HEADER_TAP, config(server))
    parts = result.records("parts")
    assert [(p["thing_id"], p["id"]) for p in parts] == [
        (i, i * 100) for i in range(1, 11) if i != 3
    ]
    assert result.state["bookmarks"]["parts"] == {}, "full-table child: no per-parent state"


def test_backoff_is_exponential_with_factor(server: SandboxServer) -> None:
    server.inject("/v1/things", kind="status", status=503, times=3)
    result = sync(HEADER_TAP, config(server, backoff_factor=0.2), streams=["things"])
    assert result.counts == {"things": 10}
    waits = gaps(server, "/v1/things")[:3]
    for wait, expected in zip(waits, (0.2, 0.4, 0.8), strict=True):
        assert expected <= wait <= expected * 1.25 + 0.25


def test_retry_after_is_honoured(server: SandboxServer) -> None:
    server.inject("/v1/things", kind="status", status=429, retry_after=2)
    server.inject("/v1/things", kind="status", status=503, retry_after=1)
    sync(HEADER_TAP, config(server, backoff_factor=30), streams=["things"])
    first, second = gaps(server, "/v1/things")[:2]
    assert 2.0 <= first <= 3.1, "Retry-After: 2 (plus < 1 s jitter), not backoff_factor"
    assert 1.0 <= second <= 2.1


@pytest.mark.parametrize(("offset", "low", "high"), [(3, 2.0, 5.2), (-60, 0.0, 0.6)])
def test_retry_after_as_an_http_date(
    server: SandboxServer, offset: float, low: float, high: float
) -> None:
    """A date in the future is waited for; one in the past means retry now. (An HTTP date
    has whole seconds: the next whole second plus `offset` is `offset` to `offset + 1` s
    away.)"""
    when = email.utils.formatdate(int(time.time()) + 1 + offset, usegmt=True)
    server.inject("/v1/things", kind="status", status=503, retry_after=when)
    sync(HEADER_TAP, config(server, backoff_factor=30), streams=["things"])
    (first,) = gaps(server, "/v1/things")[:1]
    assert low <= first <= high


def test_retries_stop_at_max_retries(server: SandboxServer) -> None:
    server.inject("/v1/things", kind="status", status=500, times=-1)
    with pytest.raises(SystemExit) as exc:
        sync(HEADER_TAP, config(server, max_retries=1), streams=["things"])
    assert exc.value.code == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_client_errors_are_not_retried(server: SandboxServer, status: int) -> None:
    server.inject("/v1/things", kind="status", status=status)
    with pytest.raises(SystemExit):
        sync(HEADER_TAP, config(server), streams=["things"])
    assert len(server.requests) == 1


def test_timeouts_are_retried(server: SandboxServer) -> None:
    server.inject("/v1/things", kind="slow", delay=1.0)
    result = sync(HEADER_TAP, config(server, request_timeout=0.3), streams=["things"])
    assert result.counts == {"things": 10}
    first = [r for r in server.requests_to("/v1/things") if r.query["page"] == "1"]
    assert len(first) == 2, "the timed-out page, then again"


def test_null_container_is_an_empty_page_and_missing_one_an_error(server: SandboxServer) -> None:
    server.inject("/v1/things", kind="body", body={"data": None})
    result = sync(HEADER_TAP, config(server), streams=["things"])
    assert result.counts == {}
    server.inject("/v1/things", kind="body", body={"rows": []})
    with pytest.raises(SystemExit):
        sync(HEADER_TAP, config(server), streams=["things"])


def test_rate_limit_pacing_waits_until_reset(server: SandboxServer) -> None:
    class PacedThings(Things):
        rate_limit_headers = ("X-RateLimit-Remaining", "X-RateLimit-Reset")

    class PacedParts(Parts):
        parent_stream_type = PacedThings
        rate_limit_headers = PacedThings.rate_limit_headers

    class PacedTap(HEADER_TAP):  # type: ignore[valid-type, misc]
        stream_types = (PacedThings, PacedParts)

    server.api.quota = (5, 0.6)
    started = time.monotonic()
    result = sync(PacedTap, config(server))
    elapsed = time.monotonic() - started
    assert result.counts == {"things": 10, "parts": 9}
    assert server.api.throttled == 0, "the tap waited instead of running into 429"
    assert elapsed >= 0.6 * 2, "12 requests at 5 per 0.6 s need at least two waits"
    assert elapsed < 0.6 * 3 + 1.0, "and no more waiting than the windows need"


def test_rate_gate_holds_every_caller_until_reset() -> None:
    gate = RateGate()
    names = ("X-Remaining", "X-Reset")
    assert gate.acquire() < 0.05
    gate.release({"X-Remaining": "0", "X-Reset": str(time.time() + 0.3)}, names)
    assert 0.25 <= gate.acquire() <= 0.5, "the quota is spent: wait for the reset"
    gate.release({"X-Remaining": "3", "X-Reset": str(time.time() + 5)}, names)
    assert gate.acquire() < 0.05


def test_rate_gate_counts_requests_in_flight() -> None:
    gate = RateGate()
    names = ("X-Remaining", "X-Reset")
    reset = str(time.time() + 0.3)
    for _ in range(3):
        gate.acquire()  # not paced: no probe request first
    gate.release({"X-Remaining": "2", "X-Reset": reset}, names)  # 2 more in flight
    assert 0.25 <= gate.acquire() <= 0.5, "2 left, 2 in flight: the next one must wait"


def test_paced_requests_probe_one_at_a_time_while_the_quota_is_unknown() -> None:
    gate = RateGate()
    names = ("X-Remaining", "X-Reset")
    gate.acquire(paced=True)
    timer = threading.Timer(
        0.2, gate.release, ({"X-Remaining": "5", "X-Reset": str(time.time() + 9)}, names)
    )
    timer.start()
    assert 0.15 <= gate.acquire(paced=True) <= 0.45, "waits for the first answer"
    assert gate.acquire(paced=True) < 0.05, "then the budget is known"
    timer.join()


def test_redactor_masks_messages_arguments_and_tracebacks() -> None:
    redaction.install(["s3cr3t-value/+="])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    try:
        logger.error("url http://h/x?token=%s", "s3cr3t-value%2F%2B%3D")
        try:
            raise RuntimeError("boom s3cr3t-value/+=")  # noqa: TRY301
        except RuntimeError:
            logger.exception("failed with s3cr3t-value/+=")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "s3cr3t" not in text
    assert text.count("***") >= 3
    assert "RuntimeError: boom ***" in text


def test_concurrent_children_keep_the_serial_order() -> None:
    with SandboxServer(ThingsAPI(), latency_ms=30) as srv:
        conf = {"api_url": srv.url, "token": "tok-1234", "backoff_factor": 0}
        started = time.monotonic()
        serial = sync(HEADER_TAP, {**conf, "max_concurrent_requests": 1})
        serial_seconds = time.monotonic() - started
        started = time.monotonic()
        parallel = sync(HEADER_TAP, {**conf, "max_concurrent_requests": 8})
        parallel_seconds = time.monotonic() - started

    def sequence(result: t.Any) -> list[tuple]:
        return [
            (
                m["type"],
                m.get("stream"),
                json.dumps(m.get("record") or m.get("value"), sort_keys=True),
            )
            for m in result.messages
            if m["type"] in {"RECORD", "STATE"}
        ]

    assert sequence(parallel) == sequence(serial), "same records, states and order"
    assert parallel.counts == {"things": 10, "parts": 9}
    assert parallel_seconds < serial_seconds / 2


def test_a_429_in_one_worker_holds_every_worker() -> None:
    with SandboxServer(ThingsAPI()) as srv:
        srv.inject("/v1/things/5/parts", kind="status", status=429, retry_after=1)
        conf = {"api_url": srv.url, "token": "tok-1234", "max_concurrent_requests": 8}
        result = sync(HEADER_TAP, conf)
        assert result.counts == {"things": 10, "parts": 9}
        throttled = srv.requests_to("/v1/things/5/parts")[0].received
        during = [r.path for r in srv.requests if throttled + 0.1 < r.received < throttled + 1.0]
        assert during == [], "no worker sent anything while Retry-After held the gate"


def test_an_uncaught_error_prints_one_masked_line() -> None:
    """Not a traceback (which no log filter sees): one line, the secret masked."""
    code = (
        "from rest_taps.common import errors, redaction\n"
        "redaction.install(['Zq8 a+b/c&d=s3cr3t'])\n"
        "errors.install_excepthook()\n"
        "raise RuntimeError('boom with Zq8 a+b/c&d=s3cr3t inside')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "ERROR: the run stopped on an unexpected error: RuntimeError: boom with *** inside"
    ]
