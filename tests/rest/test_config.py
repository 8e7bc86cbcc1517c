"""Reading a `rest_api` config as the format documents it: defaults merged, shorthands,
both child forms, incremental forms, auth, selectors and paginators."""

from __future__ import annotations

import json

import pytest
import requests
from singer_sdk.streams.rest import HTTPRequest

from rest_taps.common.errors import PaginationError
from rest_taps.common.pagination import NextUrlPaging, SinglePage
from rest_taps.common.records import BadResponseError
from rest_taps.rest import paging
from rest_taps.rest.config import ConfigError, Problems, expand, read
from rest_taps.rest.selector import Selector, detect, find, parse


def api(*resources: object, **client: object) -> dict:
    return {
        "client": {"base_url": "https://api.example.com", **client},
        "resources": list(resources),
    }


def response(body: object, headers: dict | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    resp._content = json.dumps(body).encode()
    resp.headers.update(headers or {})
    resp.url = "https://api.example.com/v1/x"
    return resp


def walk(paginator: paging.Paging, bodies: list[object]) -> list[object]:
    """The page tokens a run sends, fed `bodies` as successive pages."""
    run = paginator.new(Selector("data"))
    tokens = [run.current_value]
    for body in bodies:
        run.advance(response(body))
        if run.finished:
            break
        tokens.append(run.current_value)
    return tokens


def test_resource_defaults_merge_as_the_format_says() -> None:
    config = {
        **api(
            "plain",
            {
                "name": "own",
                "primary_key": "uid",
                "endpoint": {"params": {"b": 2}, "json": {"y": 1}},
            },
            {"name": "path_only", "endpoint": "/v1/things"},
        ),
        "resource_defaults": {
            "primary_key": "id",
            "endpoint": {"params": {"a": 1, "b": 1}, "json": {"x": 1}, "data_selector": "data"},
        },
    }
    resources = {r.name: r for r in read(config).resources}
    assert resources["plain"].path == "plain", "a name alone is name and path"
    assert resources["plain"].params == {"a": 1, "b": 1}
    assert resources["own"].params == {"a": 1, "b": 2}, "params merge key by key"
    assert resources["own"].json == {"x": 1, "y": 1}, "and so does json"
    assert resources["own"].primary_key == ("uid",), "the resource's keys win"
    assert resources["plain"].primary_key == ("id",)
    assert resources["path_only"].path == "/v1/things"
    assert resources["path_only"].data_selector == "data"


def test_both_child_forms_name_the_same_parent() -> None:
    config = api(
        "issues",
        {
            "name": "comments",
            "endpoint": {
                "path": "issues/{number}/comments",
                "params": {"number": {"type": "resolve", "resource": "issues", "field": "n"}},
            },
        },
        {
            "name": "events",
            "include_from_parent": ["title"],
            "endpoint": {
                "path": "issues/{resources.issues.id}/events",
                "params": {"since": "{resources.issues.updated}"},
            },
        },
        {
            "name": "labels",
            "endpoint": {
                "path": "labels",
                "params": {"issue": {"type": "resolve", "resource": "issues", "field": "id"}},
            },
        },
    )
    resources = {r.name: r for r in read(config).resources}
    comments, events, labels = resources["comments"], resources["events"], resources["labels"]
    assert comments.path == "issues/{resources.issues.n}/comments"
    assert comments.parent.fields == {"resources.issues.n": "n"}
    assert events.parent.fields == {
        "resources.issues.id": "id",
        "resources.issues.updated": "updated",
    }
    assert events.parent.include == ("title",)
    assert events.parent.key("title") == "_issues_title"
    assert labels.params == {"issue": "{resources.issues.id}"}, "a resolved query param"
    assert read(config).resources[0].name == "issues", "parents first"


def test_incremental_in_both_forms() -> None:
    config = api(
        {
            "name": "a",
            "endpoint": {
                "incremental": {
                    "cursor_path": "updated",
                    "start_param": "since",
                    "end_param": "until",
                    "initial_value": 5,
                    "end_value": 9,
                    "row_order": "desc",
                }
            },
        },
        {
            "name": "b",
            "endpoint": {
                "params": {
                    "from": {"type": "incremental", "cursor_path": "$.ts", "initial_value": "x"}
                }
            },
        },
    )
    a, b = read(config).resources
    assert (a.incremental.start_param, a.incremental.end_param) == ("since", "until")
    assert a.incremental.newest_first
    assert b.incremental.cursor_path == "ts"
    assert b.incremental.start_param == "from"
    assert "from" not in b.params


@pytest.mark.parametrize(
    ("auth", "placement", "settings", "name"),
    [
        ({"type": "bearer"}, "bearer", ("token",), ""),
        ({"type": "api_key", "name": "key", "location": "query"}, "query", ("api_key",), "key"),
        ({"type": "api_key"}, "header", ("api_key",), "Authorization"),
        ({"type": "http_basic"}, "basic", ("username", "password"), ""),
        ({"type": "basic"}, "basic", ("username", "password"), ""),
    ],
)
def test_auth_types(auth: dict, placement: str, settings: tuple, name: str) -> None:
    read_auth = read(api("x", auth=auth)).auth
    assert (read_auth.placement, read_auth.settings, read_auth.name) == (placement, settings, name)


def test_a_file_may_hold_the_secret() -> None:
    assert read(api("x", auth={"type": "bearer", "token": "t0k"})).file_secrets == {"token": "t0k"}


def test_what_a_file_cannot_carry_leaves_the_resource_out() -> None:
    config = api(
        {"name": "ok", "endpoint": {"paginator": {"type": "json_link", "bogus": 1}}},
        {"name": "custom", "endpoint": {"paginator": {"type": "custom"}}},
        {"name": "child", "endpoint": {"path": "c/{resources.custom.id}"}},
    )
    result = read(config)
    assert [r.name for r in result.resources] == ["ok"]
    assert any("'custom'" in line for line in result.problems.skipped)
    assert any("its parent 'custom' is left out" in line for line in result.problems.skipped)
    assert result.problems.warnings == ["resource 'ok': paginator 'json_link' ignores bogus"]


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"resources": ["x"]}, "'client' must be an object"),
        (api(), "'resources' must be a non-empty list"),
        (api("x", "x"), "resource 'x' is defined twice"),
        (api({"name": "x", "endpoint": {"method": "FETCH"}}), "method 'FETCH'"),
        (api({"name": "x", "endpoint": {"path": "{resources.x}"}}), "is not {resources."),
        (
            api({"name": "x", "endpoint": {"incremental": {"cursor_path": "a.b"}}}),
            "must name a top-level field",
        ),
    ],
)
def test_a_malformed_config_names_the_place(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        read(config)
    assert fragment in str(caught.value)


def test_placeholders_keep_a_value_alone_as_it_is() -> None:
    values = {"resources.p.id": 7, "incremental.start_value": "2024"}
    assert expand("p/{resources.p.id}/c", values) == "p/7/c"
    assert expand({"id": "{resources.p.id}"}, values, keep_type=True) == {"id": 7}
    assert expand("{{literal}}", values) == "{literal}"


def test_selectors_select_as_the_format_does() -> None:
    body = {"result": [{"item": {"id": 1}}, {"item": {"id": 2}}], "one": {"id": 3}}
    assert Selector("result.*.item").extract(body) == [{"id": 1}, {"id": 2}]
    assert Selector("result[*].item").extract(body) == [{"id": 1}, {"id": 2}]
    assert Selector("one").extract(body) == [{"id": 3}], "one object, one record"
    assert Selector("$").extract([{"id": 4}]) == [{"id": 4}]
    assert Selector("$").extract({"id": 5}) == [{"id": 5}]
    assert Selector("result[-1].item").extract(body) == [{"id": 2}]
    assert Selector("data").extract({"data": None}) == []
    assert find(parse("$['a b'].c"), {"a b": {"c": 1}}) == [1]
    with pytest.raises(BadResponseError, match="no records container at data"):
        Selector("data").extract({"items": []})


def test_records_are_found_where_no_selector_says() -> None:
    assert detect([{"id": 1}]) == ()
    assert detect({"meta": {"tags": []}, "page": {"results": [{"id": 1}]}}) == ("page", "results")
    assert detect({"meta": {"tags": []}}) == ("meta", "tags")
    assert detect({"id": 1}) == ()
    found = Selector(None)
    assert found.extract({"links": [], "items": [{"id": 1}]}) == [{"id": 1}]
    assert found.extract({"links": [], "items": [{"id": 2}]}) == [{"id": 2}]


def build(config: object) -> paging.Paging:
    built = paging.build(config, "resource 'x'", Problems())
    assert built is not None
    return built


def test_page_number_stops_at_total_maximum_or_an_empty_page() -> None:
    pages = [{"data": [n], "pages": 3} for n in range(5)]
    total = build({"type": "page_number", "base_page": 1, "total_path": "pages"})
    assert walk(total, pages) == [1, 2, 3]
    maximum = build({"type": "page_number", "total_path": None, "maximum_page": 2})
    assert walk(maximum, pages) == [0, 1], "maximum_page is not read"
    empty = build("page_number")
    assert walk(empty, [*pages[:2], {"data": []}]) == [0, 1, 2], "no total: an empty page ends"
    given = build({"type": "page_number", "total_path": "count"})
    with pytest.raises(PaginationError, match="total_path"):
        walk(given, pages)


def test_offset_and_has_more() -> None:
    offset = build({"type": "offset", "limit": 2, "total_path": "n"})
    assert walk(offset, [{"data": [n, n], "n": 5} for n in range(5)]) == [0, 2, 4]
    more = build({"type": "offset", "limit": 1, "has_more_path": "more", "total_path": None})
    assert walk(more, [{"data": [1], "more": True}, {"data": [2], "more": False}]) == [0, 1]
    request = HTTPRequest(url="https://api.example.com/v1/x")
    offset.apply(request, 4)
    assert request.params == {"limit": 2, "offset": 4}


def test_cursor_into_the_body_and_the_header_cursor() -> None:
    cursor = build({"type": "cursor", "cursor_path": "next", "cursor_body_path": "page.after"})
    assert walk(cursor, [{"data": [1], "next": "b"}, {"data": [2], "next": None}]) == [None, "b"]
    request = HTTPRequest(url="https://api.example.com/v1/x", data={"q": 1})
    cursor.apply(request, "b")
    assert request.data == {"q": 1, "page": {"after": "b"}}
    header = build({"type": "header_cursor", "cursor_key": "X-Next", "cursor_param": "c"})
    run = header.new(Selector("data"))
    run.advance(response({"data": [1]}, {"X-Next": "k2"}))
    assert run.current_value == "k2"


def test_found_paging_follows_what_the_first_page_shows() -> None:
    links = walk(paging.AutoPaging(), [{"data": [1], "next": "/v1/x?p=2"}, {"data": [2]}])
    assert links == [None, ("NextUrlPaging", "https://api.example.com/v1/x?p=2")]
    cursors = walk(
        paging.AutoPaging(), [{"data": [1], "meta": {"next_cursor": "c2"}}, {"data": [2]}]
    )
    assert cursors == [None, ("CursorPaging", "c2")]
    assert walk(paging.AutoPaging(), [{"data": [1]}]) == [None], "else one page"


def test_a_path_ending_in_a_placeholder_reads_one_entity() -> None:
    config = api(
        "posts",
        {"name": "post", "endpoint": "posts/{resources.posts.id}"},
        {"name": "comments", "endpoint": "posts/{resources.posts.id}/comments"},
        {"name": "own", "endpoint": {"path": "x/{resources.posts.id}", "data_selector": "d"}},
        paginator="json_link",
    )
    resources = {r.name: r for r in read(config).resources}
    assert resources["post"].data_selector == "$"
    assert isinstance(resources["post"].paginator, SinglePage)
    assert resources["comments"].data_selector is None
    assert isinstance(resources["comments"].paginator, NextUrlPaging), "the client's"
    assert resources["own"].data_selector == "d"
