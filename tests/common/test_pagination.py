"""Unit tests of the paginators and the records path."""

from __future__ import annotations

import json
import re

import pytest
import requests
from singer_sdk.streams.rest import HTTPRequest

from rest_taps.common.errors import PaginationError
from rest_taps.common.pagination import (
    BodyCursorPaging,
    NextCursorPaging,
    NextUrlPaging,
    OffsetPaging,
    PageNumberPaging,
    RecordCursorPaging,
    ScrollPaging,
    SinglePage,
    StartCursorPaging,
)
from rest_taps.common.records import BadResponseError, RecordsPath, json_body


def response(body: object) -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    resp._content = json.dumps(body).encode()
    return resp


def walk(paginator, bodies: list[object]) -> list[object]:
    """Feed `bodies` as successive pages; return the tokens the requests would carry."""
    tokens = [paginator.current_value]
    for body in bodies:
        paginator.advance(response(body))
        if paginator.finished:
            break
        tokens.append(paginator.current_value)
    return tokens


def request(params: dict | None = None, data: object = None) -> HTTPRequest:
    return HTTPRequest(url="http://127.0.0.1/v1/x", params=dict(params or {}), data=data)


def test_records_path_forms() -> None:
    assert RecordsPath("$.result.items[*]").extract({"result": {"items": [1, 2]}}) == [1, 2]
    assert RecordsPath("$.result[*].item").extract({"result": [{"item": {"id": 1}}]}) == [{"id": 1}]
    assert RecordsPath("$.data.*.data").extract({"data": [{"data": {"id": 7}}]}) == [{"id": 7}]
    assert RecordsPath("$[*]").extract([{"id": 1}]) == [{"id": 1}]
    assert RecordsPath("$.data[*]").extract({"data": None}) == [], "null container: empty page"
    with pytest.raises(BadResponseError, match=r"no records container at \$\.data\[\*\]"):
        RecordsPath("$.data[*]").extract({"items": []})
    # one object is one record; a list object under the container's name is its list
    assert RecordsPath("$.data[*]").extract({"data": {"id": 1}}) == [{"id": 1}]
    assert RecordsPath("$[*]").extract({"id": 1}) == [{"id": 1}]
    parts = {"parts": {"type": "part.list", "parts": [{"id": 1}, {"id": 2}], "total_count": 2}}
    assert RecordsPath("$.parts[*]").extract(parts) == [{"id": 1}, {"id": 2}]
    assert RecordsPath("$.parts[*]").extract({"parts": {"parts": "x"}}) == [{"parts": "x"}]
    with pytest.raises(BadResponseError, match="not a list or an object"):
        RecordsPath("$.data[*]").extract({"data": "oops"})
    # an element whose inner record is null: an error, or what `empty` makes of it
    recents = {"data": [{"id": 1, "data": {"id": 1}}, {"item": "deal", "id": 2, "data": None}]}
    with pytest.raises(BadResponseError, match="not an object"):
        RecordsPath("$.data[*].data").objects(recents)
    gone = RecordsPath("$.data[*].data").objects(recents, lambda e: {"gone": e["id"]})
    assert gone == [{"id": 1}, {"gone": 2}]
    with pytest.raises(ValueError, match="exactly one wildcard"):
        RecordsPath("$.data")


def test_json_body_rejects_non_json_and_decodes_once() -> None:
    bad = requests.Response()
    bad._content = b"<html>oops</html>"
    with pytest.raises(BadResponseError, match="not JSON"):
        json_body(bad)
    good = response({"a": 1})
    assert json_body(good) is json_body(good)


def test_page_number_stops_at_the_first_short_page() -> None:
    p = PageNumberPaging(page_size=2).new(RecordsPath("$.result.items[*]"))
    pages = [{"result": {"items": items}} for items in ([1, 2], [3, 4], [5], [6, 7])]
    assert walk(p, pages) == [1, 2, 3]
    req = request()
    p.apply(req, 3)
    assert req.params == {"page": 3}


def test_page_number_stop_condition_ends_paging() -> None:
    full = {"result": {"items": [1, 2]}}
    p = PageNumberPaging(page_size=2).new(RecordsPath("$.result.items[*]"), lambda _: True)
    assert walk(p, [full, full]) == [1]


def test_offset_exactly_full_last_page_is_followed_by_one_empty_page() -> None:
    p = OffsetPaging(limit=2).new(RecordsPath("$._data[*]"))
    assert walk(p, [{"_data": [1, 2]}, {"_data": [3, 4]}, {"_data": []}]) == [0, 2, 4]
    assert p.finished
    req = request()
    p.apply(req, 4)
    assert req.params == {"limit": 2, "offset": 4}


def test_start_cursor_follows_next_start_while_more_items() -> None:
    def page(more: bool, next_start: int | None = None) -> dict:
        pagination = {"start": 0, "limit": 50, "more_items_in_collection": more}
        if next_start is not None:
            pagination["next_start"] = next_start
        return {"data": [next_start], "additional_data": {"pagination": pagination}}

    p = StartCursorPaging(limit=50).new(RecordsPath("$.data[*]"))
    assert walk(p, [page(True, 50), page(True, 100), page(False)]) == [0, 50, 100]
    req = request()
    p.apply(req, 100)
    assert req.params == {"start": 100, "limit": 50}


def test_next_cursor_until_null_or_absent() -> None:
    p = NextCursorPaging().new(RecordsPath("$.segments[*]"))
    bodies = [
        {"segments": [1], "pages": {"next": "c1"}},
        {"segments": [2], "pages": {"next": "c2"}},
        {"segments": [3], "pages": {"next": None}},
    ]
    assert walk(p, bodies) == [None, "c1", "c2"]
    p2 = NextCursorPaging().new(RecordsPath("$.segments[*]"))
    assert walk(p2, [{"segments": [], "pages": {}}]) == [None]
    req = request()
    p.apply(req, None)
    assert req.params == {}
    p.apply(req, "c2")
    assert req.params == {"next": "c2"}


def test_scroll_allows_a_repeated_scroll_param_and_stops_at_empty_data() -> None:
    p = ScrollPaging().new(RecordsPath("$.data[*]"))
    bodies = [
        {"data": [1], "scroll_param": "s"},
        {"data": [2], "scroll_param": "s"},
        {"data": [], "scroll_param": "s"},
    ]
    assert walk(p, bodies) == [None, "s", "s"]
    assert p.finished
    req = request()
    p.apply(req, "s")
    assert req.params == {"scroll_param": "s"}


def test_body_cursor_writes_pagination_into_the_post_body() -> None:
    p = BodyCursorPaging(per_page=150).new(RecordsPath("$.data[*]"))
    bodies = [
        {"data": [1], "pages": {"next": {"starting_after": "abc"}}},
        {"data": [2], "pages": {}},
    ]
    assert walk(p, bodies) == [None, "abc"]
    req = request(data={"query": {"field": "updated_at"}})
    p.apply(req, None)
    assert req.data == {"query": {"field": "updated_at"}, "pagination": {"per_page": 150}}
    p.apply(req, "abc")
    assert req.data["pagination"] == {"per_page": 150, "starting_after": "abc"}


def test_record_cursor_reads_the_last_record_and_stops() -> None:
    p = RecordCursorPaging(page_size=2).new(RecordsPath("$.data[*]"))
    bodies = [
        {"data": [{"id": 1}, {"id": 2, "cursor": "c1"}]},
        {"data": [{"id": 3}, {"id": 4, "cursor": "c2"}]},
        {"data": [{"id": 5}]},
    ]
    assert walk(p, bodies) == [None, "c1", "c2"]
    assert p.finished
    empty_after_full = RecordCursorPaging(page_size=2).new(RecordsPath("$.data[*]"))
    assert walk(empty_after_full, [{"data": [{"id": 1, "cursor": "c"}]}, {"data": []}]) == [
        None,
        "c",
    ]
    assert p.metadata_fields == ("cursor",)
    req = request()
    p.apply(req, "c1")
    assert req.params == {"page_size": 2, "cursor": "c1"}


def test_single_page() -> None:
    p = SinglePage().new(RecordsPath("$[*]"))
    assert walk(p, [[1, 2]]) == [None]
    req = request()
    p.apply(req, None)
    assert req.params == {}


def test_templates_are_not_mutated_by_runs() -> None:
    template = PageNumberPaging(page_size=1)
    run = template.new(RecordsPath("$[*]"))
    run.advance(response([1]))
    assert run.current_value == 2
    assert template.current_value == 1
    assert not template.finished


# -- paging that does not move on -----------------------------------------------------------


def start_page(records: list, more: bool, next_start: int | None) -> dict:
    pagination: dict = {"more_items_in_collection": more}
    if next_start is not None:
        pagination["next_start"] = next_start
    return {"data": records, "additional_data": {"pagination": pagination}}


@pytest.mark.parametrize(
    ("paginator", "bodies", "message"),
    [
        (  # cursors cycling A, B, A
            NextCursorPaging(),
            [{"segments": [i], "pages": {"next": c}} for i, c in enumerate("ABA")],
            "next page token repeats an earlier one ('A')",
        ),
        (  # a start position that goes back to the beginning
            StartCursorPaging(),
            [start_page([1], True, 50), start_page([2], True, 0)],
            "next page token repeats an earlier one (0)",
        ),
        (  # more items, but no next position
            StartCursorPaging(),
            [start_page([1], True, None)],
            "says more items exist but gives no next_start",
        ),
        (  # page parameters the API ignores: the same page again and again
            PageNumberPaging(page_size=2),
            [{"segments": [1, 2]}] * 3,
            "page 2 repeats page 1",
        ),
        (  # a scroll that never ends: the scroll id may repeat, the page may not
            ScrollPaging(),
            [{"segments": [1], "scroll_param": "s"}] * 3,
            "page 2 repeats page 1",
        ),
    ],
    ids=["cycling-cursor", "start-going-back", "no-next-start", "ignored-page", "endless-scroll"],
)
def test_paging_that_does_not_move_on_fails_naming_the_stream(
    paginator: object, bodies: list, message: str
) -> None:
    run = paginator.new(
        RecordsPath("$.segments[*]" if "segments" in json.dumps(bodies[0]) else "$.data[*]"),
        where="Stream 'x'",
    )
    with pytest.raises(PaginationError, match=re.escape(message)) as raised:
        walk(run, bodies)
    assert str(raised.value).startswith("Stream 'x': ")


def test_a_page_cap_ends_endless_distinct_pages() -> None:
    run = PageNumberPaging(page_size=1).new(RecordsPath("$[*]"), max_pages=3, where="Stream 'x'")
    with pytest.raises(PaginationError, match=r"more than 3 pages \(max_pages\)"):
        walk(run, [[i] for i in range(10)])


def linked(body: object, url: str, link: str | None = None) -> requests.Response:
    resp = response(body)
    resp.url = url
    if link:
        resp.headers["Link"] = f'<{link}>; rel="next"'
    return resp


def test_next_url_paging_follows_links_within_the_origin() -> None:
    paging = NextUrlPaging(path=lambda body: body.get("next")).new(RecordsPath("$.data[*]"))
    paging.advance(linked({"data": [1], "next": "/v1/x?page=2"}, "http://127.0.0.1:9/v1/x"))
    assert paging.current_value == "http://127.0.0.1:9/v1/x?page=2", "relative: joined"
    request = HTTPRequest(url="http://127.0.0.1:9/v1/x", params={"page": 1, "lang": "en"})
    NextUrlPaging().apply(request, paging.current_value)
    assert (request.url, request.params) == (paging.current_value, {}), "the link as it is"
    paging.advance(linked({"data": [2], "next": None}, paging.current_value))
    assert paging.finished
    header = NextUrlPaging().new(RecordsPath("$.data[*]"))
    header.advance(linked({"data": [1]}, "http://127.0.0.1:9/v1/x", "http://127.0.0.1:9/v1/x?p=2"))
    assert header.current_value == "http://127.0.0.1:9/v1/x?p=2"
    header.advance(linked({"data": [2]}, header.current_value))
    assert header.finished, "no Link header: the last page"


def test_next_url_paging_refuses_another_origin() -> None:
    paging = NextUrlPaging(path=lambda body: body["next"]).new(RecordsPath("$.data[*]"))
    away = {"data": [1], "next": "https://elsewhere.example.com/v1/x?page=2"}
    with pytest.raises(PaginationError, match="another origin"):
        paging.advance(linked(away, "http://127.0.0.1:9/v1/x"))
