"""The base REST stream every tap's streams derive from.

It holds everything the five APIs have in common, so a tap's stream is a
declaration (path, records path, paginator, keys, replication key):

- retries of 429/500/502/503/504, connection errors and time-outs, at most `max_retries`,
  waiting `backoff_factor * 2**(n-1)` s (plus < 1 s jitter), or `Retry-After` when given;
- 401/403 end the run at once with a message naming the credential setting; other 4xx
  are not retried; a child's 404 (deleted parent) skips that parent with a warning;
- bodies that are not JSON, or lack the records' container, end the run with a message
  naming stream and path; a `null` container is an empty page;
- optional rate-limit pacing on `X-RateLimit-Remaining` / `X-RateLimit-Reset`;
- runtime schema evolution (`rest_taps.common.evolution`): every property the API sends
  reaches the target with its value, announced by a widened SCHEMA before the record that
  needs it, remembered in the stream's state for later runs;
- client-side incremental filtering for APIs without a server-side time filter, with
  early stop for newest-first endpoints;
- declared time properties emitted as RFC 3339 in UTC (`rest_taps.common.times`), or as
  the API sends them with `time_format: raw`; bookmarks read in any form a run wrote;
- messages that never carry a secret (URLs are shown as method and path only).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
import random
import threading
import time
import typing as t
from collections import deque
from functools import cached_property, partial
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlsplit

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._catalog import get_selected_schema
from singer_sdk.helpers._typing import is_datetime_type, is_integer_type
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from rest_taps.common import concurrency, http, logs, times
from rest_taps.common.deletions import DELETED_AT, DELETED_AT_SCHEMA, Deletions, is_deletion
from rest_taps.common.errors import (
    BadResponseBodyError,
    CredentialRejectedError,
    ParentNotFoundError,
    RequestFailedError,
    RunHaltedError,
    SchemaDriftError,
    StreamStoppedError,
    TapError,
    WaitTooLongError,
)
from rest_taps.common.evolution import Change, Evolution
from rest_taps.common.http import describe_request, retry_after_seconds
from rest_taps.common.keys import KeyForms, conversion
from rest_taps.common.output import BufferedWriter
from rest_taps.common.pagination import Paging, SinglePage
from rest_taps.common.records import BadResponseError, RecordsPath, account_key, json_body
from rest_taps.common.redaction import redact
from rest_taps.common.settings import number
from rest_taps.common.workers import read_ahead

if t.TYPE_CHECKING:
    from concurrent.futures import Future

    from backoff.types import Details
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from rest_taps.common.tap import BaseTap

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Key of a stream's state that remembers the schema changes runs have learned.
LEARNED_KEY = "learned_schema"
AUTH_STATUSES = frozenset({401, 403})
NETWORK_ERRORS = (
    ConnectionResetError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def api_error_detail(response: requests.Response) -> str:
    """The API's own error message, from the usual JSON error shapes, if any."""
    try:
        body = json_body(response)
    except BadResponseError:
        return ""
    if not isinstance(body, dict):
        return ""
    messages: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        messages += [str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)]
    error = body.get("error")
    if isinstance(error, dict):
        messages.append(str(error.get("message") or error))
    elif error:
        messages.append(str(error))
    if body.get("message"):
        messages.append(str(body["message"]))
    return redact("; ".join(messages))[:300]


def status_text(response: requests.Response) -> str:
    """`401 Unauthorized (the API's own message)`."""
    what = f"{response.status_code} {response.reason}"
    if detail := api_error_detail(response):
        what += f" ({detail})"
    return what


class BaseStream(RESTStream[t.Any]):
    """Base stream of all taps; subclasses declare, they do not plumb."""

    #: Where the records are in a response body (a simple JSONPath, one wildcard).
    records_jsonpath: str = "$[*]"
    #: Paging template; each run pages with a fresh copy.
    paginator: Paging = SinglePage()
    #: The API has no server-side time filter: drop records older than the bookmark.
    client_side_filter: bool = False
    #: With `client_side_filter`: pages come newest first, so stop after the first page
    #: that reaches below the bookmark (every later page is older still).
    newest_first: bool = False
    #: (remaining, reset) header names to pace on, or None.
    rate_limit_headers: tuple[str, str] | None = None
    #: How the API reports deleted items, if it does: they are written with
    #: `_sdc_deleted_at` (declared in the schema), and their children are not read.
    deletions: Deletions | None = None
    #: A key property the API does not send on a resource that exists once per account:
    #: filled (where missing) with a stable id of the account (`records.account_key`).
    account_key: str | None = None
    _tap: BaseTap

    def __init__(self, tap: BaseTap, **kwargs: t.Any) -> None:
        super().__init__(tap, **kwargs)
        self._records = RecordsPath(self.records_jsonpath)
        self._floor: t.Any = None
        self._page_below_floor = False
        self._extracted_at = dt.datetime.now(dt.UTC)
        self._sessions = threading.local()
        self._paging = threading.local()
        self._prefetched: dict[tuple, Future[list[dict]]] = {}
        # This instance's own copy of the declared schema: evolution widens it in place.
        declared = copy.deepcopy(self.schema)
        if self.deletions is not None:
            declared["properties"].setdefault(DELETED_AT, dict(DELETED_AT_SCHEMA))
        #: The top-level properties the stream declares as times.
        self._time_properties = frozenset(
            key for key, prop in declared["properties"].items() if times.is_time(prop)
        )
        if self.time_format == "raw":
            times.restore_raw(declared)
        self._schema = declared
        self.__dict__["schema"] = declared
        self._evolution: Evolution | None = None
        self._sampled: dict[tuple, requests.Response | Exception] = {}
        self._replayed = False
        #: Whether the current schema has been announced (a child stream syncs once per
        #: parent; its SCHEMA is written again only when the schema changed).
        self._announced = False
        self._warned: set[str] = set()
        logs.quiet(self.logger)
        #: This run's numbers, for the start, progress and end lines.
        self.run_log = logs.StreamRun(self.name, self.logger)

    # -- connection -----------------------------------------------------------------

    @property
    def url_base(self) -> str:
        return self._tap.api_url

    @property
    def authenticator(self) -> t.Any:
        return self._tap.authenticator

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return number(self.config, "request_timeout")

    @property
    def http_headers(self) -> dict:
        return {"Accept": "application/json"}

    @property
    def requests_session(self) -> requests.Session:
        """One HTTP session (and keep-alive connection pool) per thread."""
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = http.new_session()
            # Read proxy and CA settings from the environment once, not on every
            # request (requests' per-request lookup costs ~0.3 ms).
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(self.url_base))
            session.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        return session

    @cached_property
    def user_agent(self) -> str:
        return self.config.get("user_agent") or f"rest-taps/{self._tap.plugin_version}"

    # -- paging -------------------------------------------------------------------------

    def get_new_paginator(self) -> Paging:
        stop = self._stop_paging if self.client_side_filter and self.newest_first else None
        paging = self.paginator.new(
            self._records,
            stop_condition=stop,
            where=f"Stream '{self.name}'",
            max_pages=int(number(self.config, "max_pages")),
        )
        self._paging.current = paging  # this thread's run over the endpoint
        return paging

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        self.paginator.apply(request, page.next_page_token)
        return request

    def _stop_paging(self, response: requests.Response) -> bool:
        return self._page_below_floor

    # -- sending, retrying, validating ----------------------------------------------------

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        sampled = self._sampled.pop(_request_key(prepared_request), None)
        if isinstance(sampled, BaseException):  # discovery's attempt at this very request
            raise sampled  # failed: it counts as this request's first attempt
        if sampled is not None:  # discovery read this very page a moment ago
            return sampled
        request = prepared_request
        for _ in range(http.MAX_REDIRECTS + 1):
            response = self._send(request)
            try:
                target = http.redirect_target(response, self.url_base)
            except http.RedirectRefusedError as exc:
                raise RequestFailedError(f"{self._where(request)} {exc}.") from None
            if target is None:
                break
            request = self._redirected(request, response.status_code, target)
        else:
            hops = http.MAX_REDIRECTS
            msg = f"{self._where(prepared_request)} was redirected more than {hops} times."
            raise RequestFailedError(msg)
        self._write_request_duration_log(
            endpoint=self.path, response=response, context=context, extra_tags=None
        )
        self.validate_response(response)
        return response

    def _send(self, request: requests.PreparedRequest) -> requests.Response:
        """One request, with a total deadline and a bounded body. It takes a request slot
        first and passes the rate gate last, immediately before it leaves: a quota spent,
        a `Retry-After` or a refused credential learned while it waited for a slot holds
        it too. What its answer tells the gate, the gate knows before the slot is free."""
        tap = self._tap
        with tap.request_slots:
            tap.rate_gate.acquire(paced=self.rate_limit_headers is not None)
            response = None
            try:
                if tap.halt.is_set():
                    raise RunHaltedError(f"{self._where(request)}: not sent, the run is ending.")
                if tap.stream_failures.failed(self.name):
                    msg = f"{self._where(request)}: not sent, the stream has failed."
                    raise StreamStoppedError(msg)
                response = http.send(
                    self.requests_session,
                    request,
                    timeout=self.timeout,
                    max_bytes=int(number(self.config, "max_response_mb") * (1 << 20)),
                )
                if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
                    wait = retry_after_seconds(response)
                    if wait is not None:
                        tap.rate_gate.close_until(time.time() + wait, "429 Retry-After")
            except http.ResponseTooLargeError as exc:
                raise RequestFailedError(f"{self._where(request)}: {exc}.") from None
            finally:
                status = response.status_code if response is not None else 0
                tap.rate_gate.release(
                    response.headers if response is not None else None,
                    self.rate_limit_headers,
                    accepted=HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES,
                    refused=self._refusal(response) if status in AUTH_STATUSES else None,
                )
        return response

    def _redirected(
        self, request: requests.PreparedRequest, status: int, target: str
    ) -> requests.PreparedRequest:
        """The request again at `target` (same origin), credential applied afresh."""
        keep_body = status in {307, 308}
        method = request.method if keep_body or request.method == "GET" else "GET"
        credential = getattr(self.authenticator, "auth_params", None) or {}
        parts = urlsplit(target)
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in credential
        ]
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"content-length", "host", "authorization", "cookie"}
            and (keep_body or k.lower() != "content-type")
        }
        return self.build_prepared_request(
            method=method,
            url=parts._replace(query=urlencode(query)).geturl(),
            headers=headers,
            data=request.body if keep_body else None,
        )

    def _write_request_duration_log(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Count the request (the METRIC line is logged only when asked for: `logs`)."""
        self.run_log.request()
        super()._write_request_duration_log(*args, **kwargs)

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            return
        what = status_text(response)
        if status in RETRY_STATUSES:
            raise RetriableAPIError(what, response)
        if status in AUTH_STATUSES:
            raise self._refusal(response)
        where = self._where(response.request)
        if status == HTTPStatus.NOT_FOUND and self.parent_stream_type is not None:
            raise ParentNotFoundError(f"{where} returned {what}")
        raise RequestFailedError(f"{where} failed with {what} (not retried).")

    def _refusal(self, response: requests.Response) -> CredentialRejectedError:
        """The error of a 401/403: the credential was rejected (no request follows it)."""
        settings = " and ".join(f"'{s}'" for s in self._tap.auth.settings)
        msg = (
            f"{self._where(response.request)} was refused with {status_text(response)}: the "
            f"credential was rejected; check setting {settings}."
        )
        return CredentialRejectedError(msg)

    def request_decorator(self, func: t.Callable) -> t.Callable:
        """Retry what the module docstring lists; when retries run out, fail with one line."""
        retrying = backoff.on_exception(
            self.backoff_wait_generator,
            (RetriableAPIError, *NETWORK_ERRORS),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)
        attempts = self.backoff_max_tries()

        def send(prepared_request: requests.PreparedRequest, context: Context | None) -> t.Any:
            try:
                return retrying(prepared_request, context)
            except RetriableAPIError as exc:
                cause = str(exc)
            except NETWORK_ERRORS as exc:
                cause = f"{type(exc).__name__}: {redact(str(exc))}"
            msg = f"{self._where(prepared_request)} failed after {attempts} attempts: {cause}"
            raise RequestFailedError(msg) from None

        return send

    def backoff_max_tries(self) -> int:
        return int(number(self.config, "max_retries")) + 1

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """`backoff_factor * 2**(n-1)` before retry n (at most `max_wait_seconds`), or the
        response's `Retry-After`; an API asking for more than `max_wait_seconds` ends
        the run."""
        factor = number(self.config, "backoff_factor")
        cap = number(self.config, "max_wait_seconds")
        retry = itertools.count(1)

        def wait(exc: Exception) -> float:
            n = next(retry)
            response = getattr(exc, "response", None)
            retry_after = retry_after_seconds(response)
            if retry_after is None:
                return min(factor * 2 ** (n - 1), cap)
            if retry_after > cap:
                where = self._where(getattr(response, "request", None))
                msg = (
                    f"{where}: the API asks to wait {response.headers['Retry-After']} "
                    f"(Retry-After) before retrying, longer than max_wait_seconds ({cap:g}); "
                    "the run stops here."
                )
                raise WaitTooLongError(msg)
            return retry_after

        return self.backoff_runtime(value=wait)

    def backoff_jitter(self, value: float) -> float:
        """Up to one second more (a quarter of the wait when that is shorter)."""
        return value + random.uniform(0, min(1.0, value / 4))

    def backoff_handler(self, details: Details) -> None:
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        cause = (
            f"{response.status_code} {response.reason}"
            if response is not None
            else f"{type(exc).__name__}: {redact(str(exc))}"
        )
        self.logger.warning(
            "%s: retry %d of %d in %.2f s after %s",
            self._where(details["args"][0] if details.get("args") else None),
            details.get("tries", 0),
            self.backoff_max_tries() - 1,
            details.get("wait", 0.0),
            cause,
        )

    def _where(self, request: requests.PreparedRequest | None) -> str:
        return f"Stream '{self.name}': {describe_request(request)}"

    # -- records ------------------------------------------------------------------------

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        self._extracted_at = seen = dt.datetime.now(dt.UTC)
        deletions = self.deletions
        empty = None  # what an element without its record is: a deleted item, if declared
        if deletions is not None and deletions.empty_record:
            empty = partial(deletions.tombstone, keys=self.primary_keys or (), seen=seen)
        try:
            records = self._records.objects(json_body(response), empty)
        except BadResponseError as exc:
            msg = f"{self._where(response.request)}: {exc}"
            raise BadResponseBodyError(msg) from None
        paging = getattr(self._paging, "current", None)
        if paging is not None:  # a repeated page fails before its records go out
            paging.check_page(response)
        drop = self.paginator.metadata_fields
        if drop:
            records = [{k: v for k, v in r.items() if k not in drop} for r in records]
        if deletions is not None and deletions.when:
            records = [deletions.mark(r, seen) for r in records]
        if self.key_forms.conversions:
            for record in records:
                self.key_forms.conform(record, self.logger.warning)
        if self._floor is None:
            return records
        kept = [r for r in records if not self._below_floor(r)]
        self._page_below_floor = len(kept) < len(records)
        return kept

    @cached_property
    def key_forms(self) -> KeyForms:
        """Converts key and bookmark values sent in another form than declared
        (`rest_taps.common.keys`)."""
        properties = self.schema.get("properties", {})
        names = [*(self.primary_keys or ()), *([self.replication_key] * bool(self.replication_key))]
        timed = self._convert_times is not None  # times become RFC 3339 in `post_process`
        found = (
            conversion(name, properties[name], bookmark=name == self.replication_key)
            for name in dict.fromkeys(names)
            if name in properties and not (timed and times.is_time(properties[name]))
        )
        return KeyForms(self.name, [c for c in found if c is not None])

    def _below_floor(self, record: dict) -> bool:
        """Older than the bookmark? A value of another type is kept (and stops the run as
        key drift, with a clear line, when it is written)."""
        value = record.get(self.replication_key)  # type: ignore[arg-type]
        try:
            return value is not None and value < self._floor
        except TypeError:
            return False

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Child records carry their parent's key (`deal_id`, `company_id`, ...); an
        `account_key` the API did not send is the account's own; declared times become
        RFC 3339 (before schema evolution sees the record)."""
        if context:
            for key, value in context.items():
                row.setdefault(key, value)
        if self.account_key and row.get(self.account_key) is None:
            tap = self._tap
            secrets = tuple(str(tap.credentials[name]) for name in tap.auth.settings)
            row[self.account_key] = account_key(str(tap.config["api_url"]), secrets)
        if self._convert_times is not None:
            self._convert_times(row)
        return row

    def generate_child_contexts(
        self, record: dict, context: Context | None
    ) -> t.Iterable[Context | None]:
        """No child is read for a deleted item."""
        if is_deletion(record):
            return ()
        return super().generate_child_contexts(record, context)

    @property
    def time_format(self) -> str:
        """`rfc3339` (default) or `raw` (setting `time_format`)."""
        return str(self.config.get("time_format") or "rfc3339")

    @cached_property
    def _convert_times(self) -> t.Callable[[dict], None] | None:
        """Rewrites a record's declared times as RFC 3339, in place (None: nothing to do).
        Compiled from the schema the stream announces (a catalog's, if given)."""
        if self.time_format == "raw":
            return None
        return times.Converter(self.effective_schema).function

    @property
    def state_partitioning_keys(self) -> t.Sequence[str] | None:
        """Full-table children keep one small state, not one bookmark per parent."""
        if self.parent_stream_type is not None and not self.replication_key:
            return []
        return super().state_partitioning_keys

    @state_partitioning_keys.setter
    def state_partitioning_keys(self, value: t.Sequence[str] | None) -> None:
        self._state_partitioning_keys = value

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        prefetched = self._prefetched.pop(_context_key(context), None)
        if prefetched is not None:
            yield from prefetched.result()
            return
        self._floor = self.bookmark(context) if self.client_side_filter else None
        self._page_below_floor = False
        records = self._fetch(context)
        children = self._prefetchable_children()
        yield from self._prefetching(records, context, children) if children else records

    def read_ahead_of_sync(self, context: Context | None = None) -> Future[list[dict]]:
        """Every record of `context`, read now on the worker pool; this run's sync of the
        same context takes them instead of asking the API again."""
        future = self._tap.worker_pool.submit(self._fetch_all, context)
        self._prefetched[_context_key(context)] = future
        return future

    def first_page(self, context: Context | None) -> list[dict]:
        """The records of the first page only (one request, retried like any other)."""
        request = self._prepare_request(context=context, page=self.get_new_paginator())
        response = self.request_decorator(self._request)(request, context)
        return list(self.parse_response(response))

    def sample(self, context: Context | None) -> list[dict]:
        """The first page's records as the stream emits them (one attempt), for discovery.

        The answer is kept: if this run then syncs, its first request for the same page
        takes it instead of asking the API again; an attempt that failed is that
        request's first attempt (the sync retries it within the same `max_retries`, or
        fails with it). Records read ahead of the sync already (`read_ahead_of_sync`) are
        the sample themselves (a copy: fitting the sample must not touch the records the
        sync writes).
        """
        ahead = self._prefetched.get(_context_key(context))
        if ahead is not None:
            rows: t.Iterable[dict] = copy.deepcopy(ahead.result())
        else:
            request = self._prepare_request(context=context, page=self.get_new_paginator())
            key = _request_key(request)
            try:
                self._sampled[key] = self._request(request, context)
            except RunHaltedError:
                raise  # not sent: no attempt made
            except (RetriableAPIError, *NETWORK_ERRORS, TapError) as exc:
                self._sampled[key] = exc  # the sync's first attempt, not one more
                raise
            rows = self.parse_response(self._sampled[key])
        records = [self.post_process(dict(r), context) for r in rows]
        return [r for r in records if r is not None]

    def request_records(self, context: Context | None) -> t.Iterable[dict]:
        """Page after page, in order. With workers to spare, pages are read ahead on a
        thread of their own while this one writes (two pages at most: the next page's
        request goes out while the records of this one, and their children, are
        written), and pages whose token is known ahead are asked for ahead."""
        if not self._pool_to_spare:
            yield from super().request_records(context)
            return
        for extracted_at, records in read_ahead(self._pages(context), 2, f"{self.name}-pages"):
            self._extracted_at = extracted_at
            yield from records

    @property
    def _pool_to_spare(self) -> bool:
        """Whether this thread may hand requests to the worker pool and wait for them: not
        with one request at a time, nor on a worker of the pool (it could wait for work
        queued behind itself)."""
        tap = self._tap
        return tap.max_workers > 1 and not tap.worker_pool.in_worker()

    def _pages(self, context: Context | None) -> t.Iterator[tuple[dt.datetime, list[dict]]]:
        """(time extracted, records) of each page, in page order.

        With `predictable` paging the next pages' requests run ahead on the worker pool:
        one page at first (most streams have one); after each full page the window of
        pages in flight doubles, up to `max_concurrent_requests`. Paging ends where a
        serial run's would (a short or empty page, the stop condition); the answers asked
        for past the end are dropped unread.
        """
        paging = self.get_new_paginator()
        send = self.request_decorator(self._request)
        pool = self._tap.worker_pool
        ahead: deque[tuple[requests.PreparedRequest, Future]] = deque()
        token, window = paging.current_value, 1
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            try:
                while not paging.finished:
                    if paging.predictable:
                        while len(ahead) < window:
                            request = self._prepare_request(context=context, page=_Page(token))
                            ahead.append((request, pool.submit(send, request, context)))
                            token = paging.following(token)
                        request, future = ahead.popleft()
                        response = future.result()
                    else:
                        request = self._prepare_request(context=context, page=paging)
                        response = send(request, context)
                    counter.increment()
                    self.update_sync_costs(request, response, context)
                    records = list(self.parse_response(response))
                    yield self._extracted_at, records
                    paging.advance(response)
                    window = min(2 * window, self._tap.max_workers)
            finally:
                for _, future in ahead:
                    future.cancel()

    def in_order_ahead(self, jobs: t.Iterable[t.Callable[[], list[dict]]]) -> t.Iterator[dict]:
        """The records of `jobs` (independent request sequences: time windows, say), in
        the jobs' order, while up to `max_concurrent_requests` of them run ahead on the
        worker pool; one after another when there is no pool to spare."""
        if not self._pool_to_spare:
            for job in jobs:
                yield from job()
            return
        tap = self._tap
        ahead: deque[Future[list[dict]]] = deque()
        try:
            for job in jobs:
                ahead.append(tap.worker_pool.submit(job))
                if len(ahead) >= tap.max_workers:
                    yield from ahead.popleft().result()
            while ahead:
                yield from ahead.popleft().result()
        finally:
            for future in ahead:
                future.cancel()

    # -- failing alone ----------------------------------------------------------------------

    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        """A stream that failed keeps the bookmark it had: the progress of an unfinished
        read of unsorted records is dropped, not promoted."""
        if state or not self._tap.stream_failures.failed(self.name):
            super().finalize_state_progress_markers(state)
            return
        for child in self.child_streams:
            if child.selected:
                child.finalize_state_progress_markers()
        own = self.stream_state
        for part in (own, *own.get("partitions", ())):
            part.pop("progress_markers", None)
        self._write_state_message()

    def _fetch(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        try:
            yield from super().get_records(context)
        except ParentNotFoundError as exc:
            self.logger.warning("%s; the parent was deleted, skipping it.", exc)

    # -- concurrent child requests ------------------------------------------------------------

    def _prefetchable_children(self) -> list[BaseStream]:
        """Selected children whose requests can run ahead on the tap's worker pool."""
        if self._tap.max_workers < 2:
            return []
        return [
            child
            for child in self.child_streams
            if isinstance(child, BaseStream)
            and child.selected
            and not child.client_side_filter
            and not child.child_streams
        ]

    def _prefetching(
        self,
        records: t.Iterable[dict],
        context: Context | None,
        children: list[BaseStream],
    ) -> t.Iterator[dict]:
        """Yield parent records in order while their children's requests run ahead.

        For each parent record, every selected child's complete request (all its pages)
        is submitted to the worker pool; the record itself is handed on only once the
        look-ahead window is full, so at most `2 * max_concurrent_requests` parents are in
        flight. When the SDK then syncs a child for that parent, it takes the prefetched
        records: output order, state and messages are exactly those of a serial run.
        """
        pool, failures = self._tap.worker_pool, self._tap.stream_failures
        window: deque[dict] = deque()
        ahead = 2 * self._tap.max_workers
        for record in records:
            for child_context in self.generate_child_contexts(record, context):
                if child_context is None:
                    continue
                key = _context_key(child_context)
                for child in children:
                    if not failures.failed(child.name):  # a failed child is read no more
                        child._prefetched[key] = pool.submit(child._fetch_all, child_context)
            window.append(record)
            if len(window) > ahead:
                yield window.popleft()
        while window:
            yield window.popleft()

    def _fetch_all(self, context: Context | None) -> list[dict]:
        """Every record of one partition (runs on a worker thread); none once the stream
        has failed (its sync reads them no more)."""
        failures = self._tap.stream_failures
        if failures.failed(self.name):
            return []
        try:
            return list(self._fetch(context))
        except Exception as exc:  # known at once: the stream's other requests stop
            failures.isolate(self, exc)
            raise

    # -- output: schema evolution and the lean record path ---------------------------------------

    @property
    def schema_evolution(self) -> str:
        """`auto`, `include`, `exclude` or `off` (setting `schema_evolution`)."""
        return str(self.config.get("schema_evolution") or "auto")

    @property
    def TYPE_CONFORMANCE_LEVEL(self) -> TypeConformanceLevel:  # type: ignore[override]  # noqa: N802
        """Evolution keeps every value as sent; with it off, the SDK's conformance runs."""
        if self.schema_evolution == "off":
            return TypeConformanceLevel.RECURSIVE
        return TypeConformanceLevel.NONE

    def new_evolution(
        self, *, new_properties: bool = True, deselected: t.Collection[str] = ()
    ) -> Evolution:
        """An `Evolution` of this stream's (effective) schema."""
        return Evolution(
            self.name,
            self.effective_schema,
            keys=self.primary_keys or (),
            protected=(self.replication_key,) if self.replication_key else (),
            new_properties=new_properties,
            deselected=deselected,
        )

    @property
    def evolution(self) -> Evolution | None:
        """This run's schema evolution (None with `schema_evolution: off`).

        New top-level properties are added with `include`, left out with `exclude`, and
        with `auto` added only when every declared property is selected (a catalog that
        deselects some is a whitelist). A variant follows its base property's selection.
        """
        if self._evolution is None and self.schema_evolution != "off":
            deselected = {
                crumb[1] for crumb, chosen in self.mask.items() if len(crumb) == 2 and not chosen
            }
            mode = self.schema_evolution
            self._evolution = self.new_evolution(
                new_properties=mode == "include" or (mode == "auto" and not deselected),
                deselected=deselected,
            )
        return self._evolution

    def sync(self, context: Context | None = None) -> None:  # type: ignore[misc]
        """The SDK's sync, or a failure alone (`rest_taps.common.failures`): a failure that
        concerns only this stream is recorded and the other streams go on; a child stream
        that failed is not read again for later parents. A top-level stream logs the start
        and end lines of every selected stream of its family (itself and its child
        streams, which the SDK syncs once for each parent record)."""
        failures = self._tap.stream_failures
        if failures.failed(self.name):
            return
        family = (
            [s for s in concurrency.family(self) if isinstance(s, BaseStream) and s.selected]
            if self.parent_stream_type is None
            else []
        )
        for stream in family:
            stream.run_log.start(stream.how_it_reads())
        try:
            super().sync(context)
        except BaseException as exc:
            if not (isinstance(exc, Exception) and failures.isolate(self, exc)):
                for stream in family:
                    stream.run_log.end(failed=True)
                raise
        for stream in family:
            stream.run_log.end(failed=failures.failed(stream.name))

    def how_it_reads(self) -> str:
        """The start line's account of what this run reads: the mode and where it starts."""
        parent = self.parent_stream_type
        each = f", for each '{parent.name}' record" if parent else ""
        key = self.replication_key
        if not key:
            return f"full table{each}"
        state = self.stream_state
        if state.get("replication_key_value") is not None:
            since = f"from bookmark {state['replication_key_value']}"
        elif state.get("partitions"):
            since = "from each parent's bookmark"
        elif self.config.get("start_date"):
            since = f"from start_date {self.config['start_date']}"
        else:
            since = "from the first record (no bookmark, no start_date)"
        return f"incremental on '{key}' {since}{each}"

    def _write_schema_message(self) -> None:
        """Announce the schema, with the properties earlier runs learned (from state), once
        for each version of it: a child stream's sync for each parent repeats nothing (a
        repeated SCHEMA makes some targets flush their batch)."""
        evolution = self.evolution
        if evolution is not None and not self._replayed:
            self._replayed = True
            if evolution.replay(self.stream_state.get(LEARNED_KEY, ())):
                self._register_schema()
        if not self._announced:
            self._announced = True
            super()._write_schema_message()

    def _register_schema(self) -> None:
        """Make the tap's stream maps (and so SCHEMA messages) follow the evolved schema."""
        selected = get_selected_schema(self.name, self.effective_schema, self.mask)
        with self._tap.output_lock:  # the maps of streams syncing on other threads
            self._tap.mapper.register_raw_stream_schema(self.name, selected, self.primary_keys)
        self._stream_maps = None
        self._announced = False
        self.__dict__.pop("_fast_output", None)

    def _evolve(self, record: dict, evolution: Evolution) -> None:
        """Fit a record that does not fit: announce and remember what changed."""
        left_out = len(evolution.left_out)
        changes = evolution.fit(record)
        if len(evolution.left_out) > left_out and "left_out" not in self._warned:
            self._warned.add("left_out")
            why = (
                "schema_evolution is exclude"
                if self.schema_evolution == "exclude"
                else "some of its properties are deselected"
            )
            self.logger.info(
                "Stream '%s': properties the catalog does not list (%s) are left out, because "
                "%s. To keep them, add them to the catalog (Meltano: the `schema` extra) and "
                "select them, or set schema_evolution: include.",
                self.name,
                ", ".join(sorted(evolution.left_out)[:10]),
                why,
            )
        if not changes:
            return
        for change in changes:
            self.logger.debug(
                "Stream '%s': schema: '%s' %s", self.name, change.where(), change.note
            )
        self.run_log.schema_changed(changes)
        self._remember(changes)
        self._register_schema()
        self._write_schema_message()

    def _remember(self, changes: list[Change]) -> None:
        """Keep the changes in the stream's state: later runs announce them up front."""
        learned = self.stream_state.setdefault(LEARNED_KEY, [])
        learned.extend(change.to_state() for change in changes)

    @cached_property
    def _fast_output(self) -> bool:
        """Whether records can skip the SDK's mapping path (no maps, all selected)."""
        maps = self.stream_maps
        return (
            self.evolution is not None
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not (maps[0].flattening_options and maps[0].flattening_enabled)
            and maps[0].stream_alias == self.name
            and all(self.mask.values())
            and isinstance(self._tap.message_writer, BufferedWriter)
        )

    def _write_record_message(self, record: dict) -> None:
        evolution = self.evolution
        if evolution is not None and not evolution.fits(record):
            self._evolve(record, evolution)
        self.run_log.records += 1
        if not self._fast_output:
            super()._write_record_message(record)
            return
        message: dict[str, t.Any] = {"type": "RECORD", "stream": self.name, "record": record}
        if self._stream_version is not None:
            message["version"] = self._stream_version
        message["time_extracted"] = self._extracted_at
        self._tap.message_writer.write_record(message)
        self.state_manager.is_flushed = False

    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        """A record without a replication key value is emitted, but moves no bookmark
        (a deleted item's record has none: that is expected, and not warned about)."""
        key = self.replication_key
        if key and latest_record.get(key) is None:
            if is_deletion(latest_record):
                return
            if "no_replication_value" not in self._warned:
                self._warned.add("no_replication_value")
                self.logger.warning(
                    "Stream '%s': a record has no '%s'; it is emitted but does not move the "
                    "bookmark.",
                    self.name,
                    key,
                )
            return
        super()._increment_stream_state(latest_record, context=context)

    def _process_record(
        self,
        record: dict,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        if self.child_streams:
            missing = [key for key in self.primary_keys or () if record.get(key) is None]
            if missing:  # its children would be read for no parent
                msg = (
                    f"Stream '{self.name}': a record has no value for its key property "
                    f"'{missing[0]}', so its child streams cannot be read; the run stops here."
                )
                raise SchemaDriftError(msg)
            super()._process_record(record, child_context, partition_context)
            return
        for key, value in (partition_context or {}).items():
            record.setdefault(key, value)

    # -- bookmarks ----------------------------------------------------------------------

    def _write_state_message(self) -> None:
        """While streams sync concurrently, publish this family's state (see
        `rest_taps.common.concurrency`); else the SDK's STATE message."""
        board = self._tap.state_board
        if board is None:
            super()._write_state_message()
        elif not self.state_manager.is_flushed:
            board.publish(self._family)
            self.state_manager.is_flushed = True

    @cached_property
    def _family(self) -> list[BaseStream]:
        """The streams whose state this stream's thread changes: its top-level ancestor's
        family."""
        return next(
            members
            for root in self._tap.streams.values()
            if root.parent_stream_type is None and self in (members := concurrency.family(root))
        )

    def bookmark(self, context: Context | None) -> t.Any:
        """Where this run starts: the bookmark, else `start_date`, in the API's own form
        (for its query parameters and the client-side filter)."""
        if not self.replication_key:
            return None
        state_value = self.get_starting_replication_key_value(context)
        start = self.config.get("start_date")
        candidates = [self.to_replication_value(v) for v in (state_value, start) if v]
        return max(candidates) if candidates else None

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: a bookmark is the last record's value, in the records' form."""

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """A bookmark written in another form than the records now carry (Unix seconds or
        the API's text by an earlier version, RFC 3339 before `time_format: raw`) is
        rewritten in theirs first, so that the run's records compare with it."""
        key = self.replication_key
        state = self.get_context_state(context)
        moment = times.instant(state.get("replication_key_value"))
        if key in self._time_properties and moment is not None:
            as_text = self.time_format != "raw" and times.is_time(
                self.effective_schema["properties"].get(key, {})
            )
            state["replication_key_value"] = (
                times.rfc3339(moment) if as_text else self.replication_value_from_datetime(moment)
            )
        super()._write_starting_replication_value(context)

    def compare_start_date(self, value: str, start_date_value: str) -> t.Any:
        return max(self.to_replication_value(value), self.to_replication_value(start_date_value))

    def to_replication_value(self, value: t.Any) -> t.Any:
        """A bookmark or `start_date` in the API's own form. A bookmark may be in any form
        a run wrote (RFC 3339, Unix seconds, the API's own text)."""
        moment = times.instant(value)
        if moment is not None:
            return self.replication_value_from_datetime(moment)
        if self.replication_key in self._time_properties:
            msg = f"the bookmark {value!r} of stream '{self.name}' is not a time"
            raise ValueError(msg)
        return value

    def replication_value_from_datetime(self, moment: dt.datetime) -> t.Any:
        """A date-time as the API sends the replication key: Unix seconds or ISO 8601."""
        schema = times.api_schema(self.schema["properties"][self.replication_key])
        if is_integer_type(schema):
            return int(moment.timestamp())
        if is_datetime_type(schema):
            return moment.isoformat()
        msg = f"stream '{self.name}' must say how to compare {self.replication_key}"
        raise NotImplementedError(msg)


class _Page(t.NamedTuple):
    """A page token where the SDK expects a paginator (`current_value`)."""

    current_value: t.Any


def _request_key(request: requests.PreparedRequest) -> tuple:
    return (request.method, request.url, request.body)


def _context_key(context: Context | None) -> tuple:
    return tuple(sorted((context or {}).items()))
