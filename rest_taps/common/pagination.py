"""One paginator per pagination style of the five APIs.

A stream declares a paginator *template* as a class attribute, e.g.
``paginator = PageNumberPaging(page_size=20)``; every run takes a fresh copy bound to
the stream's records path (`new`). Each paginator both reads the next token from a
response (the SDK's `get_next` / `has_more`) and writes the current token into the next
request (`apply`), so streams never handle paging parameters themselves.

`stop_condition`, when set, ends paging after the current page: the base stream uses it
for newest-first incremental streams once a page reaches below the bookmark.

Paging that does not move on ends the run with one line instead of running forever: a
next token seen before (cursors cycling A, B, A; a start position going back), a page
whose records repeat an earlier page's (an API that ignores its paging parameters), a
"more items" answer with no next position, or more pages than `max_pages`.
"""

from __future__ import annotations

import copy
import typing as t
from urllib.parse import urljoin

import msgspec
from singer_sdk.pagination import BaseAPIPaginator

from rest_taps.common.errors import PaginationError
from rest_taps.common.http import origin
from rest_taps.common.records import RecordsPath, json_body

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest

T = t.TypeVar("T")


def _dig(body: t.Any, path: str) -> t.Any:
    """`body` at a dotted path, or None where any step is missing."""
    node = body
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


class Paging(BaseAPIPaginator[T]):
    """Base of the paginators: a template that makes per-run copies."""

    #: Record fields that are paging metadata and are removed from records.
    metadata_fields: tuple[str, ...] = ()
    #: Whether the next token may legitimately equal an earlier one (scroll ids).
    tokens_repeat: bool = False
    #: Whether the token of every later page is known without its answer (`following`):
    #: such pages can be asked for ahead of time.
    predictable: bool = False

    def __init__(self, start_value: T) -> None:
        super().__init__(start_value)
        self.records: RecordsPath | None = None
        self.stop_condition: t.Callable[[requests.Response], bool] | None = None
        self.where = "Paging"
        self.max_pages = 1_000_000

    def new(
        self,
        records: RecordsPath,
        stop_condition: t.Callable[[requests.Response], bool] | None = None,
        *,
        where: str = "Paging",
        max_pages: int = 1_000_000,
    ) -> t.Self:
        """A fresh paginator for one run over one endpoint; `where` names it in errors."""
        fresh = copy.copy(self)
        fresh.records = records
        fresh.stop_condition = stop_condition
        fresh.where = where
        fresh.max_pages = max_pages
        fresh._seen_tokens = {_key(self._value)}
        fresh._seen_pages = {}
        return fresh

    def continue_if_empty(self, response: requests.Response) -> bool:
        """Page on after a page that yields no record: a client-side filter may have kept
        none of its records while later pages hold newer ones. Paging ends where the
        style says (`has_more`, the next token) or where the stop condition says."""
        return True

    def page_records(self, response: requests.Response) -> list[t.Any]:
        """The elements of `response`'s records container (one per record, deleted
        items included, before filtering)."""
        assert self.records is not None, "call new() before paging"
        return self.records.elements(json_body(response))

    def advance(self, response: requests.Response) -> None:
        """Advance to the next page, unless this one is the last (or the stop condition
        says so); fail on paging that does not move on."""
        self.check_page(response)
        if (self.stop_condition is not None and self.stop_condition(response)) or (
            not self.has_more(response)
        ):
            self._finished = True
            return
        token = self.get_next(response)
        if token is None:
            self._finished = True
            return
        if not self.tokens_repeat:
            if _key(token) in self._seen_tokens:
                msg = f"{self.where}: the API's next page token repeats an earlier one ({token!r})"
                raise PaginationError(f"{msg}: its paging runs in a loop; the run stops here.")
            self._seen_tokens.add(_key(token))
        self._value = token

    def check_page(self, response: requests.Response) -> None:
        """Count the page and fail if it repeats an earlier one (once per response: the
        stream checks a page before its records go out, `advance` after)."""
        if response.__dict__.get(_CHECKED) is self:
            return
        response.__dict__[_CHECKED] = self
        self._page_count += 1
        if self._page_count > self.max_pages:
            msg = f"{self.where}: more than {self.max_pages} pages (max_pages); the run stops here."
            raise PaginationError(msg)
        records = self.page_records(response)
        if not records:
            return
        fingerprint = _fingerprint(records)
        earlier = self._seen_pages.setdefault(fingerprint, self._page_count)
        if earlier != self._page_count:
            msg = (
                f"{self.where}: page {self._page_count} repeats page {earlier}: the API ignores "
                "the paging parameters or pages in a loop; the run stops here."
            )
            raise PaginationError(msg)

    def apply(self, request: HTTPRequest, token: T | None) -> None:
        """Write `token` (the current page value) into `request`."""
        raise NotImplementedError

    def following(self, token: T) -> T:
        """The token of the page after the one of `token` (`predictable` paging only)."""
        raise NotImplementedError


_CHECKED = "_rest_taps_paging"


def _key(token: t.Any) -> str:
    return msgspec.json.encode(token).decode()


def _fingerprint(records: list[t.Any]) -> int:
    """Tells pages apart: their size and their first and last records."""
    encode = msgspec.json.encode
    return hash((len(records), encode(records[0]), encode(records[-1])))


class PageNumberPaging(Paging[int]):
    """`page=1, 2, …`; the last page is the first one shorter than `page_size`."""

    predictable = True

    def __init__(self, page_size: int, param: str = "page", start: int = 1) -> None:
        super().__init__(start)
        self.page_size = page_size
        self.param = param

    def has_more(self, response: requests.Response) -> bool:
        return len(self.page_records(response)) >= self.page_size

    def get_next(self, response: requests.Response) -> int | None:
        return self.following(self._value)

    def following(self, token: int) -> int:
        return token + 1

    def apply(self, request: HTTPRequest, token: int | None) -> None:
        request.params[self.param] = token


class OffsetPaging(Paging[int]):
    """`limit=<n>&offset=<k>` from 0; the last page is shorter than `limit`.

    A last page that is exactly full is followed by one empty page, which ends paging
    without losing or repeating a record.
    """

    predictable = True

    def __init__(
        self, limit: int, limit_param: str = "limit", offset_param: str = "offset"
    ) -> None:
        super().__init__(0)
        self.limit = limit
        self.limit_param = limit_param
        self.offset_param = offset_param

    def has_more(self, response: requests.Response) -> bool:
        return len(self.page_records(response)) >= self.limit

    def get_next(self, response: requests.Response) -> int | None:
        return self.following(self._value)

    def following(self, token: int) -> int:
        return token + self.limit

    def apply(self, request: HTTPRequest, token: int | None) -> None:
        request.params[self.limit_param] = self.limit
        request.params[self.offset_param] = token or 0


class StartCursorPaging(Paging[int]):
    """`start=<n>&limit=<l>`, continued from `additional_data.pagination.next_start`."""

    def __init__(
        self, limit: int = 50, pagination_path: str = "additional_data.pagination"
    ) -> None:
        super().__init__(0)
        self.limit = limit
        self.pagination_path = pagination_path

    def _pagination(self, response: requests.Response) -> dict:
        return _dig(json_body(response), self.pagination_path) or {}

    def has_more(self, response: requests.Response) -> bool:
        return bool(self._pagination(response).get("more_items_in_collection"))

    def get_next(self, response: requests.Response) -> int | None:
        next_start = self._pagination(response).get("next_start")
        if next_start is None:
            msg = (
                f"{self.where}: the API says more items exist but gives no next_start; "
                "the run stops here rather than end the stream early."
            )
            raise PaginationError(msg)
        return next_start

    def apply(self, request: HTTPRequest, token: int | None) -> None:
        request.params["start"] = token or 0
        request.params["limit"] = self.limit


class NextCursorPaging(Paging[str | None]):
    """An opaque cursor at `path` in the body, sent back as query parameter `param`."""

    def __init__(self, param: str = "next", path: str = "pages.next") -> None:
        super().__init__(None)
        self.param = param
        self.path = path

    def get_next(self, response: requests.Response) -> str | None:
        return _dig(json_body(response), self.path) or None

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        if token:
            request.params[self.param] = token


class ScrollPaging(Paging[str | None]):
    """Scroll: send the body's `scroll_param` back until a page has no records.

    A scroll id may legitimately repeat from page to page, so an unchanged token is not a
    loop; a page that repeats an earlier page is.
    """

    tokens_repeat = True

    def __init__(self, param: str = "scroll_param", path: str = "scroll_param") -> None:
        super().__init__(None)
        self.param = param
        self.path = path

    def has_more(self, response: requests.Response) -> bool:
        return bool(self.page_records(response))

    def get_next(self, response: requests.Response) -> str | None:
        return _dig(json_body(response), self.path) or None

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        if token:
            request.params[self.param] = token


class BodyCursorPaging(Paging[str | None]):
    """Search pagination in a POST body.

    The body gets ``"pagination": {"per_page": n}`` and, after the first page,
    ``"starting_after": <pages.next.starting_after>``; paging stops when `pages.next`
    is absent.
    """

    def __init__(
        self,
        per_page: int = 150,
        path: str = "pages.next.starting_after",
        body_key: str = "pagination",
    ) -> None:
        super().__init__(None)
        self.per_page = per_page
        self.path = path
        self.body_key = body_key

    def get_next(self, response: requests.Response) -> str | None:
        return _dig(json_body(response), self.path) or None

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        body = dict(request.data or {})  # type: ignore[arg-type]
        pagination = {"per_page": self.per_page}
        if token:
            pagination["starting_after"] = token
        body[self.body_key] = pagination
        request.data = body


class RecordCursorPaging(Paging[str | None]):
    """`page_size=<n>`, then `cursor=<c>` from the `cursor` of the page's last record.

    Stops at an empty page or when the last record carries no cursor. The cursor field
    is paging metadata: the base stream removes it from every record.
    """

    def __init__(self, page_size: int = 100, field: str = "cursor", param: str = "cursor") -> None:
        super().__init__(None)
        self.page_size = page_size
        self.field = field
        self.param = param
        self.metadata_fields = (field,)

    def get_next(self, response: requests.Response) -> str | None:
        records = self.page_records(response)
        if not records or not isinstance(records[-1], dict):
            return None
        return records[-1].get(self.field) or None

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        request.params["page_size"] = self.page_size
        if token:
            request.params[self.param] = token


class SinglePage(Paging[None]):
    """One request, no paging parameters."""

    def __init__(self) -> None:
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        return False

    def get_next(self, response: requests.Response) -> None:
        return None

    def apply(self, request: HTTPRequest, token: None) -> None:
        pass


class NextUrlPaging(Paging[str | None]):
    """The next page's whole URL: from the body at `path` (a JSON link), or from the
    `Link` header's relation `rel` (a header link) when `path` is None. The next request
    goes to that URL as it is (its query carries the paging), and only within the origin
    of the first request: a link elsewhere ends the run rather than send the credential
    there.
    """

    def __init__(
        self,
        path: t.Callable[[t.Any], t.Any] | None = None,
        rel: str = "next",
    ) -> None:
        super().__init__(None)
        self.path = path
        self.rel = rel

    def get_next(self, response: requests.Response) -> str | None:
        if self.path is None:
            link = response.links.get(self.rel, {}).get("url")
        else:
            link = self.path(json_body(response))
        if not link:
            return None
        if not isinstance(link, str):
            msg = f"{self.where}: the next page's link is not a URL ({link!r:.60})"
            raise PaginationError(f"{msg}; the run stops here.")
        url = urljoin(response.url or response.request.url or "", link)
        if origin(url) != origin(response.url or response.request.url or ""):
            scheme, host, _ = origin(url)
            msg = (
                f"{self.where}: the next page's link leads to another origin "
                f"({scheme}://{host}); the run stops here rather than send the credential there."
            )
            raise PaginationError(msg)
        return url

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        if token:
            request.url = token
            request.params = {}
