"""Streams of the customer-messaging API, one short class per resource."""

from __future__ import annotations

import datetime as dt
import functools
import threading
import typing as t
from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from rest_taps.common.pagination import BodyCursorPaging, NextCursorPaging, ScrollPaging
from rest_taps.common.settings import parse_datetime
from rest_taps.common.streams import BaseStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

DAY = 86_400


class CustomerMessagingStream(BaseStream):
    """Bearer token; keyed by `id`; paced on the API's rate-limit headers."""

    schema = StreamSchema(SchemaDirectory(Path(__file__).parent / "schemas"))
    primary_keys = ("id",)
    rate_limit_headers = ("X-RateLimit-Remaining", "X-RateLimit-Reset")
    #: Fixed query parameters of the endpoint.
    params: t.ClassVar[dict[str, str]] = {}
    #: Query parameter that carries the bookmark (Unix seconds) on every page, if any.
    since_param: str | None = None

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict:
        params: dict[str, t.Any] = dict(self.params)
        if self.since_param:
            params[self.since_param] = self.bookmark(context) or 0
        return params


def at_or_after(field: str, value: int) -> dict:
    """The search's lower bound: `field > value OR field = value`."""
    return {
        "operator": "OR",
        "value": [
            {"field": field, "operator": ">", "value": value},
            {"field": field, "operator": "=", "value": value},
        ],
    }


class SearchStream(CustomerMessagingStream):
    """`POST …/search` with the documented body: `updated_at` at or after the bookmark (or
    `start_date`, else 0), oldest first; `pagination` (150 a page, `starting_after`)
    is written into the body by the paginator."""

    http_method = "POST"
    replication_key = "updated_at"
    is_sorted = True
    paginator = BodyCursorPaging(per_page=150)

    def prepare_request_payload(self, context: Context | None, next_page_token: t.Any) -> dict:
        return {
            "query": self.search_query(context),
            "sort": {"field": self.replication_key, "order": "ascending"},
        }

    def search_query(self, context: Context | None) -> dict:
        return at_or_after(self.replication_key, self.bookmark(context) or 0)


class WindowedSearchStream(SearchStream):
    """Search in windows `[start, end)` of at most `window_setting` days, from the
    bookmark (or `start_date`) up to `end_date` or now, with the documented upper bound
    `updated_at < end_time`.

    With neither bookmark nor `start_date` there is no lower bound to walk from: one
    search over `[0, end)` finds the oldest record, and the windows start at its
    `updated_at` instead of at 1970 (hundreds of empty windows)."""

    window_setting = "tickets_window_days"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._windows = threading.local()  # each thread searches a window of its own

    def search_query(self, context: Context | None) -> dict:
        start, end = self._window
        key = self.replication_key
        return {
            "operator": "AND",
            "value": [at_or_after(key, start), {"field": key, "operator": "<", "value": end}],
        }

    def end(self) -> int:
        """The upper bound of the last window: `end_date`, else now."""
        end_date = self.config.get("end_date")
        return int((parse_datetime(end_date) if end_date else dt.datetime.now(dt.UTC)).timestamp())

    def windows(self, context: Context | None) -> t.Iterator[tuple[int, int]]:
        end = self.end()
        start = self.bookmark(context) or self.oldest(context, end)
        if start is None:
            return
        step = int(self.config.get(self.window_setting) or 30) * DAY
        while start < end:
            yield start, min(start + step, end)
            start += step

    def oldest(self, context: Context | None, end: int) -> int | None:
        """The oldest replication key value before `end` (one search request), if any;
        0 when records came without one (the windows then start at 0)."""
        self._window = (0, end)
        records = self.first_page(context)
        values = [r.get(self.replication_key) for r in records]
        found = [v for v in values if isinstance(v, int)]
        return min(found, default=0) if records else None

    def sample(self, context: Context | None) -> list[dict]:
        """The first page of the whole span the run would walk."""
        self._window = (self.bookmark(context) or 0, self.end())
        return super().sample(context)

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Window after window, in order; the windows' searches run ahead concurrently."""
        jobs = (functools.partial(self._window_records, w, context) for w in self.windows(context))
        return self.in_order_ahead(jobs)

    def _window_records(self, window: tuple[int, int], context: Context | None) -> list[dict]:
        self._window = window
        return list(super().get_records(context))

    @property
    def _window(self) -> tuple[int, int]:
        """The window this thread searches."""
        return getattr(self._windows, "current", (0, 0))

    @_window.setter
    def _window(self, window: tuple[int, int]) -> None:
        self._windows.current = window


# -- next cursor ---------------------------------------------------------------------------


class ActivityLogs(CustomerMessagingStream):
    """Oldest first from `created_at_after` (sent on every page)."""

    name = "activity_logs"
    path = "/v1/admins/activity_logs"
    records_jsonpath = "$.activity_logs[*]"
    paginator = NextCursorPaging()
    replication_key = "created_at"
    since_param = "created_at_after"
    is_sorted = True


class Segments(CustomerMessagingStream):
    name = "segments"
    path = "/v1/segments"
    records_jsonpath = "$.segments[*]"
    paginator = NextCursorPaging()


# -- one page ------------------------------------------------------------------------------


class Admins(CustomerMessagingStream):
    name = "admins"
    path = "/v1/admins"
    records_jsonpath = "$.admins[*]"


class Tags(CustomerMessagingStream):
    name = "tags"
    path = "/v1/tags"
    records_jsonpath = "$.data[*]"


class Teams(CustomerMessagingStream):
    name = "teams"
    path = "/v1/teams"
    records_jsonpath = "$.teams[*]"


class CompanyAttributes(CustomerMessagingStream):
    name = "company_attributes"
    path = "/v1/data_attributes"
    records_jsonpath = "$.data[*]"
    params: t.ClassVar[dict[str, str]] = {"model": "company"}
    primary_keys = ("name",)


class ContactAttributes(CustomerMessagingStream):
    name = "contact_attributes"
    path = "/v1/data_attributes"
    records_jsonpath = "$.data[*]"
    params: t.ClassVar[dict[str, str]] = {"model": "contact"}
    primary_keys = ("name",)


# -- scroll and its child ------------------------------------------------------------------


class Companies(CustomerMessagingStream):
    name = "companies"
    path = "/v1/companies/scroll"
    records_jsonpath = "$.data[*]"
    paginator = ScrollPaging()

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"company_id": record["id"]}


class CompanySegments(CustomerMessagingStream):
    """A company's segments; a segment belongs to many companies."""

    name = "company_segments"
    path = "/v1/companies/{company_id}/segments"
    records_jsonpath = "$.data[*]"
    parent_stream_type = Companies
    primary_keys = ("company_id", "id")


# -- search and its child ------------------------------------------------------------------


class Contacts(SearchStream):
    name = "contacts"
    path = "/v1/contacts/search"
    records_jsonpath = "$.data[*]"


class Conversations(SearchStream):
    name = "conversations"
    path = "/v1/conversations/search"
    records_jsonpath = "$.conversations[*]"

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"conversation_id": record["id"]}


class ConversationParts(CustomerMessagingStream):
    """The parts of each conversation the run emits: `conversation_parts` of the
    conversation object, a list object (`{"type": "conversation_part.list",
    "conversation_parts": [...]}`) or a flat list."""

    name = "conversation_parts"
    path = "/v1/conversations/{conversation_id}"
    records_jsonpath = "$.conversation_parts[*]"
    parent_stream_type = Conversations


class Tickets(WindowedSearchStream):
    name = "tickets"
    path = "/v1/tickets/search"
    records_jsonpath = "$.tickets[*]"


STREAMS = (
    ActivityLogs,
    Admins,
    Tags,
    Teams,
    Segments,
    Companies,
    CompanyAttributes,
    ContactAttributes,
    Contacts,
    Conversations,
    ConversationParts,
    CompanySegments,
    Tickets,
)
