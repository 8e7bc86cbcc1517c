"""A `rest_api` config's paginators, as paginators of the shared base.

Each paginator type of the config format is read with its documented parameters and
defaults, and becomes a `rest_taps.common.pagination.Paging`: the base's loop detection,
page limit and read-ahead hold for all of them.

- `single_page`: one request.
- `json_link` (`next_url_path`, default `next`) and `header_link` (`links_next_key`,
  default `next`): the next page's URL, from the body or the `Link` header.
- `cursor` (`cursor_path`, default `cursors.next`; `cursor_param`, default `cursor`, or
  `cursor_body_path`; `has_more_path`; `stop_after_empty_page`, default false): a value
  of the body sent back; and `header_cursor` (`cursor_key`, `cursor_param`).
- `offset` (`limit`, `offset`, `offset_param`, `limit_param`, or their `*_body_path`;
  `total_path`, default `total`; `maximum_offset`; `has_more_path`;
  `stop_after_empty_page`, default true) and `page_number` (`base_page`, `page`,
  `page_param`, `page_body_path`, `total_path`, `maximum_page`, `has_more_path`,
  `stop_after_empty_page`): a number that steps by `limit` or by one. Paging stops at an
  empty page, at `total` (items for offset, pages for page number), at the maximum, or
  when `has_more_path` says false. A `total` the body lacks ends paging on the other
  rules when `total_path` is the default, and the run when it was given. A page number
  paginator may also give `limit` (or `page_size`): a page shorter than that is the last.

The string shorthand (`"json_link"`, `"cursor"`, ...) is the type with its defaults. No
paginator (or `auto`) finds the paging from the first response, as the format does: a
`Link` header's next page, a next-page URL in the body (a key named `next`, or its
`href` / `url`), a next cursor there (sent back as `cursor`), else one page.
"""

from __future__ import annotations

import typing as t

from rest_taps.common.errors import PaginationError
from rest_taps.common.pagination import NextUrlPaging, Paging, SinglePage
from rest_taps.common.records import BadResponseError, json_body
from rest_taps.rest.selector import find, first, parse

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.streams.rest import HTTPRequest

    from rest_taps.rest.config import Problems


def _set_in_body(request: HTTPRequest, dotted: str, value: t.Any) -> None:
    """Put `value` at the dotted path `dotted` of the request's JSON body."""
    body = dict(request.data or {})  # type: ignore[arg-type]
    node = body
    *parents, last = dotted.split(".")
    for key in parents:
        node[key] = dict(node.get(key) or {})
        node = node[key]
    node[last] = value
    request.data = body


def _flag(value: t.Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    return None


class _HasMore:
    """`has_more_path`: a boolean of the body that says whether more pages follow."""

    has_more_path: tuple[str | int, ...] | None
    where: str

    def _more(self, response: requests.Response) -> bool:
        if self.has_more_path is None:
            return True
        found = find(self.has_more_path, json_body(response))
        more = _flag(found[0]) if found else None
        if more is None:
            msg = f"{self.where}: the response has no true/false at has_more_path"
            raise PaginationError(f"{msg} ({found[0] if found else 'missing'!r:.40}).")
        return more


class RangePaging(_HasMore, Paging[int]):
    """`offset` and `page_number`: a number that steps from `start`."""

    predictable = True

    def __init__(
        self,
        *,
        param: str | None,
        body_path: str | None,
        start: int,
        step: int,
        base: int,
        total_path: str | None,
        total_given: bool,
        maximum: int | None,
        stop_after_empty_page: bool,
        has_more_path: str | None,
        extra: dict[str, t.Any],
        extra_body: dict[str, t.Any],
        page_size: int | None = None,
    ) -> None:
        super().__init__(start)
        self.param = param
        self.body_path = body_path
        self.step = step
        self.base = base
        self.total_path = parse(total_path) if total_path else None
        self.total_given = total_given
        self.maximum = maximum
        self.stop_after_empty_page = stop_after_empty_page
        self.has_more_path = parse(has_more_path) if has_more_path else None
        self.extra = extra
        self.extra_body = extra_body
        self.page_size = page_size

    def has_more(self, response: requests.Response) -> bool:
        records = self.page_records(response)
        if self.stop_after_empty_page and not records:
            return False
        if self.page_size is not None and len(records) < self.page_size:
            return False
        following = self._value + self.step
        total = self._total(response)
        if total is not None and following >= total + self.base:
            return False
        if self.maximum is not None and following >= self.maximum:
            return False
        return self._more(response)

    def _total(self, response: requests.Response) -> int | None:
        if self.total_path is None:
            return None
        value = first(self.total_path, json_body(response))
        if value is None and not self.total_given:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            msg = f"{self.where}: the response's total_path holds no whole number ({value!r:.40})"
            raise PaginationError(f"{msg}; the run stops here.") from None

    def get_next(self, response: requests.Response) -> int | None:
        return self.following(self._value)

    def following(self, token: int) -> int:
        return token + self.step

    def apply(self, request: HTTPRequest, token: int | None) -> None:
        value = self._value if token is None else token
        request.params.update(self.extra)
        for path, extra in self.extra_body.items():
            _set_in_body(request, path, extra)
        if self.body_path:
            _set_in_body(request, self.body_path, value)
        elif self.param:
            request.params[self.param] = value


class CursorPaging(_HasMore, Paging[t.Any]):
    """`cursor`: the value at `cursor_path` sent back as `cursor_param` (or into the
    body at `cursor_body_path`) until it is empty."""

    def __init__(
        self,
        *,
        cursor_path: str,
        cursor_param: str | None,
        cursor_body_path: str | None,
        stop_after_empty_page: bool,
        has_more_path: str | None,
    ) -> None:
        super().__init__(None)
        self.cursor_path = parse(cursor_path)
        self.cursor_param = cursor_param
        self.cursor_body_path = cursor_body_path
        self.stop_after_empty_page = stop_after_empty_page
        self.has_more_path = parse(has_more_path) if has_more_path else None

    def has_more(self, response: requests.Response) -> bool:
        if self.stop_after_empty_page and not self.page_records(response):
            return False
        return self._more(response)

    def get_next(self, response: requests.Response) -> t.Any:
        return first(self.cursor_path, json_body(response)) or None

    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if token is None:
            return
        if self.cursor_body_path:
            _set_in_body(request, self.cursor_body_path, token)
        else:
            request.params[self.cursor_param or "cursor"] = token


class HeaderCursorPaging(Paging[str | None]):
    """`header_cursor`: the response header `cursor_key` sent back as `cursor_param`."""

    def __init__(self, cursor_key: str, cursor_param: str) -> None:
        super().__init__(None)
        self.cursor_key = cursor_key
        self.cursor_param = cursor_param

    def get_next(self, response: requests.Response) -> str | None:
        return response.headers.get(self.cursor_key) or None

    def apply(self, request: HTTPRequest, token: str | None) -> None:
        if token:
            request.params[self.cursor_param] = token


#: Type → (parameters it reads, the builder).
_PARAMETERS: dict[str, frozenset[str]] = {
    "single_page": frozenset(),
    "json_link": frozenset({"next_url_path"}),
    "json_response": frozenset({"next_url_path"}),
    "header_link": frozenset({"links_next_key"}),
    "header_cursor": frozenset({"cursor_key", "cursor_param"}),
    "cursor": frozenset(
        {
            "cursor_path",
            "cursor_param",
            "cursor_body_path",
            "stop_after_empty_page",
            "has_more_path",
        }
    ),
    "offset": frozenset(
        {
            "limit",
            "offset",
            "offset_param",
            "limit_param",
            "offset_body_path",
            "limit_body_path",
            "total_path",
            "maximum_offset",
            "stop_after_empty_page",
            "has_more_path",
        }
    ),
    "page_number": frozenset(
        {
            "base_page",
            "page",
            "page_param",
            "page_body_path",
            "total_path",
            "maximum_page",
            "stop_after_empty_page",
            "has_more_path",
            "limit",
            "page_size",
        }
    ),
}
TYPES = tuple(_PARAMETERS)


class AutoPaging(Paging[t.Any]):
    """Paging found from the first response (see the module docstring); the token says
    which kind it is, so that the stream's request knows where it goes."""

    def __init__(self) -> None:
        super().__init__(None)
        self._inner: Paging | None = None

    def advance(self, response: requests.Response) -> None:
        if self._inner is None:
            self._inner = _detect(response).new(
                t.cast(t.Any, self.records),
                self.stop_condition,
                where=self.where,
                max_pages=self.max_pages,
            )
        self._inner.advance(response)
        self._finished = self._inner.finished
        self._value = (type(self._inner).__name__, self._inner.current_value)

    def get_next(self, response: requests.Response) -> t.Any:
        """Unused: `advance` asks the paginator found."""
        raise NotImplementedError

    def apply(self, request: HTTPRequest, token: t.Any) -> None:
        if not token:
            return
        kind, value = token
        if kind == NextUrlPaging.__name__:
            NextUrlPaging().apply(request, value)
        elif kind == CursorPaging.__name__ and value is not None:
            request.params["cursor"] = value


def _next_link(body: t.Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], t.Any]:
    """The first `next` value of a body (or its `href` / `url`), and where it is."""
    if not isinstance(body, dict):
        return (), None
    for key, value in body.items():
        if "next" in key.lower():
            if isinstance(value, dict):
                for inner, link in value.items():
                    if inner.lower() in {"href", "url"} and isinstance(link, str | int | float):
                        return (*path, key, inner), link
            elif isinstance(value, str | int | float) and not isinstance(value, bool):
                return (*path, key), value
        if isinstance(value, dict):
            found = _next_link(value, (*path, key))
            if found[0]:
                return found
    return (), None


def _detect(response: requests.Response) -> Paging:
    if response.links.get("next"):
        return NextUrlPaging()
    try:
        path, value = _next_link(json_body(response))
    except BadResponseError:
        return SinglePage()
    if not path:
        return SinglePage()
    if isinstance(value, str) and value.startswith(("http://", "https://", "/")):
        return NextUrlPaging(path=lambda body: first(path, body))
    return CursorPaging(
        cursor_path=".".join(path),
        cursor_param="cursor",
        cursor_body_path=None,
        stop_after_empty_page=False,
        has_more_path=None,
    )


def is_auto(config: t.Any) -> bool:
    """Whether a `paginator` leaves paging to be found from the responses."""
    return config in (None, "auto") or (isinstance(config, dict) and config.get("type") == "auto")


def build(config: t.Any, where: str, problems: Problems) -> Paging | None:
    """The paginator a config's `paginator` describes; None (with a problem noted) when
    it cannot be built."""
    if isinstance(config, str):
        config = {"type": config}
    if not isinstance(config, dict):
        problems.fatal(
            f"rest_api: {where}: paginator must be a type name or an object, got {config!r:.60}"
        )
        return None
    kind = config.get("type")
    if kind not in _PARAMETERS:
        problems.skip(
            f"{where}: paginator type {kind!r} is not one of {', '.join(TYPES)} (a custom "
            "paginator is Python code, which a config file cannot carry)"
        )
        return None
    unknown = sorted(set(config) - _PARAMETERS[kind] - {"type"})
    if unknown:
        problems.warn(f"{where}: paginator {kind!r} ignores {', '.join(unknown)}")
    try:
        return _build(kind, config)
    except (TypeError, ValueError) as exc:
        problems.fatal(f"rest_api: {where}: paginator {kind!r}: {exc}.")
        return None


def _int(config: dict, key: str, default: int | None = None) -> int | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value:
        msg = f"{key} must be a whole number, got {value!r}"
        raise ValueError(msg)
    return int(value)


def _build(kind: str, config: dict) -> Paging:
    if kind == "single_page":
        return SinglePage()
    if kind in {"json_link", "json_response"}:
        steps = parse(config.get("next_url_path") or "next")
        return NextUrlPaging(path=lambda body: first(steps, body))
    if kind == "header_link":
        return NextUrlPaging(rel=config.get("links_next_key") or "next")
    if kind == "header_cursor":
        return HeaderCursorPaging(
            config.get("cursor_key") or "next", config.get("cursor_param") or "cursor"
        )
    has_more = config.get("has_more_path")
    if kind == "cursor":
        if config.get("cursor_param") and config.get("cursor_body_path"):
            msg = "give cursor_param or cursor_body_path, not both"
            raise ValueError(msg)
        return CursorPaging(
            cursor_path=config.get("cursor_path") or "cursors.next",
            cursor_param=config.get("cursor_param"),
            cursor_body_path=config.get("cursor_body_path"),
            stop_after_empty_page=bool(config.get("stop_after_empty_page", False)),
            has_more_path=has_more,
        )
    total_given = "total_path" in config
    total_path = config.get("total_path", "total")
    stop_empty = bool(config.get("stop_after_empty_page", True))
    if kind == "offset":
        limit = _int(config, "limit")
        if limit is None or limit < 1:
            msg = "needs a positive limit"
            raise ValueError(msg)
        limit_param = config.get("limit_param") or "limit"
        limit_body = config.get("limit_body_path")
        return RangePaging(
            param=config.get("offset_param") or "offset",
            body_path=config.get("offset_body_path"),
            start=_int(config, "offset", 0) or 0,
            step=limit,
            base=0,
            total_path=total_path,
            total_given=total_given,
            maximum=_int(config, "maximum_offset"),
            stop_after_empty_page=stop_empty,
            has_more_path=has_more,
            extra={} if limit_body else {limit_param: limit},
            extra_body={limit_body: limit} if limit_body else {},
        )
    base = _int(config, "base_page", 0) or 0
    page = _int(config, "page")
    if not (total_path or config.get("maximum_page") is not None or has_more or stop_empty):
        msg = "needs total_path, maximum_page, has_more_path or stop_after_empty_page"
        raise ValueError(msg)
    return RangePaging(
        param=config.get("page_param") or "page",
        body_path=config.get("page_body_path"),
        start=base if page is None else page,
        step=1,
        base=base,
        total_path=total_path,
        total_given=total_given,
        maximum=_int(config, "maximum_page"),
        stop_after_empty_page=stop_empty,
        has_more_path=has_more,
        extra={},
        extra_body={},
        page_size=_int(config, "limit") or _int(config, "page_size"),
    )
