"""Streams of the CRM and helpdesk API, one short class per resource."""

from __future__ import annotations

from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from rest_taps.common.pagination import RecordCursorPaging
from rest_taps.common.streams import BaseStream


class CrmHelpdeskStream(BaseStream):
    """HTTP Basic (`email` / `api_key`); records in `data`; keyed by `id`; full table.

    The API has no time filter and no sort order on any endpoint, so every stream is
    full table (see the README).
    """

    schema = StreamSchema(SchemaDirectory(Path(__file__).parent / "schemas"))
    primary_keys = ("id",)
    records_jsonpath = "$.data[*]"


class RecordCursorStream(CrmHelpdeskStream):
    """`page_size=100`, then `cursor=<the last record's cursor>`; stops at an empty page
    or a last record without `cursor`. The `cursor` field never reaches a record."""

    paginator = RecordCursorPaging(page_size=100)


class Contacts(RecordCursorStream):
    name = "contacts"
    path = "/v1/contacts"


class Companies(RecordCursorStream):
    name = "companies"
    path = "/v1/companies"


class Deals(RecordCursorStream):
    name = "deals"
    path = "/v1/deals"


class Notes(CrmHelpdeskStream):
    name = "notes"
    path = "/v1/notes"


class Tasks(CrmHelpdeskStream):
    name = "tasks"
    path = "/v1/tasks"


class Events(CrmHelpdeskStream):
    name = "events"
    path = "/v1/events"


class Milestone(CrmHelpdeskStream):
    name = "milestone"
    path = "/v1/milestone"


class Campaigns(RecordCursorStream):
    name = "campaigns"
    path = "/v1/campaigns"


class Documents(CrmHelpdeskStream):
    name = "documents"
    path = "/v1/documents"


class TicketFilters(CrmHelpdeskStream):
    name = "ticket_filters"
    path = "/v1/ticket_filters"


class Tickets(CrmHelpdeskStream):
    name = "tickets"
    path = "/v1/tickets"


STREAMS = (
    Contacts,
    Companies,
    Deals,
    Notes,
    Tasks,
    Events,
    Milestone,
    Campaigns,
    Documents,
    TicketFilters,
    Tickets,
)
