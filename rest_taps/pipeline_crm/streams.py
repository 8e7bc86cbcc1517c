"""Streams of the pipeline CRM API, one short class per resource."""

from __future__ import annotations

import datetime as dt
import typing as t
from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from rest_taps.common.deletions import PRESENT, Deletions
from rest_taps.common.pagination import StartCursorPaging
from rest_taps.common.streams import BaseStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

#: `since_timestamp` of a first run without `start_date`: everything.
SINCE_EVER = "1970-01-01 00:00:00"


def deleted_when(field: str, value: t.Any, time_field: str = "update_time") -> Deletions:
    """Records in the deleted state `field == value` (`PRESENT`: set), deleted at
    `time_field`; in recents, also the elements of deleted items."""
    return Deletions(empty_record=True, when={field: value}, time_fields=(time_field,))


class PipelineCrmStream(BaseStream):
    """Query `api_token`; bodies `{"success": true, "data": …}`; keyed by `id`."""

    schema = StreamSchema(SchemaDirectory(Path(__file__).parent / "schemas"))
    primary_keys = ("id",)
    records_jsonpath = "$.data[*]"


class PagedStream(PipelineCrmStream):
    """Start cursor: `start`/`limit=50`, on from `additional_data.pagination.next_start`."""

    paginator = StartCursorPaging(limit=50)


class RecentsStream(PagedStream):
    """One record type of `GET /v1/recents`: `items=<item_type>`, records changed at or
    after `since_timestamp` (the bookmark, else `start_date`), oldest first; the record
    is the `data` of each `{item, id, data}` element, `null` for an item deleted since."""

    path = "/v1/recents"
    records_jsonpath = "$.data[*].data"
    deletions = Deletions(empty_record=True)
    replication_key = "update_time"
    is_sorted = True
    item_type: t.ClassVar[str]
    #: A field some record types send instead of `update_time` (copied into it when
    #: `update_time` is missing, so the bookmark can advance).
    update_time_fallback: t.ClassVar[str | None] = None

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict:
        return {"items": self.item_type, "since_timestamp": self.bookmark(context) or SINCE_EVER}

    def replication_value_from_datetime(self, moment: dt.datetime) -> str:
        """`update_time` values are `YYYY-MM-DD HH:MM:SS` in UTC."""
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        fallback = self.update_time_fallback
        if fallback and fallback in row and "update_time" not in row:
            row["update_time"] = row[fallback]
        return super().post_process(row, context)


# -- recents --------------------------------------------------------------------------------


class Deals(RecentsStream):
    name = "deals"
    item_type = "deal"
    deletions = deleted_when("deleted", True)

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"deal_id": record["id"]}


class Files(RecentsStream):
    name = "files"
    item_type = "file"


class Filters(RecentsStream):
    name = "filters"
    item_type = "filter"


class Notes(RecentsStream):
    name = "notes"
    item_type = "note"
    deletions = deleted_when("active_flag", False)


class Activities(RecentsStream):
    name = "activities"
    item_type = "activity"


class Persons(RecentsStream):
    name = "persons"
    item_type = "person"
    deletions = deleted_when("delete_time", PRESENT, "delete_time")


class Pipelines(RecentsStream):
    name = "pipelines"
    item_type = "pipeline"


class Products(RecentsStream):
    name = "products"
    item_type = "product"


class Stages(RecentsStream):
    name = "stages"
    item_type = "stage"
    deletions = deleted_when("active_flag", False)


class Users(RecentsStream):
    """User records carry `modified` (and `created`), not `update_time`."""

    name = "users"
    item_type = "user"
    update_time_fallback = "modified"
    deletions = deleted_when("is_deleted", True, "modified")


# -- paged lists ------------------------------------------------------------------------------


class DealFields(PagedStream):
    name = "deal_fields"
    path = "/v1/dealFields"


class ActivityFields(PagedStream):
    name = "activity_fields"
    path = "/v1/activityFields"


class OrganizationFields(PagedStream):
    name = "organization_fields"
    path = "/v1/organizationFields"


class PersonFields(PagedStream):
    name = "person_fields"
    path = "/v1/personFields"


class ProductFields(PagedStream):
    name = "product_fields"
    path = "/v1/productFields"


class Leads(PagedStream):
    """UUID ids."""

    name = "leads"
    path = "/v1/leads"


class Organizations(PagedStream):
    name = "organizations"
    path = "/v1/organizations"
    deletions = deleted_when("delete_time", PRESENT, "delete_time")


class Roles(PagedStream):
    name = "roles"
    path = "/v1/roles"


class MailThreads(PagedStream):
    """The inbox's threads (`folder=inbox`)."""

    name = "mailThreads"
    path = "/v1/mailbox/mailThreads"
    deletions = deleted_when("deleted_flag", True)

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict:
        return {"folder": "inbox"}

    def get_child_context(self, record: dict, context: Context | None) -> dict:
        return {"thread_id": record["id"]}


# -- single-page lists (one request, no paging parameters) -----------------------------------


class Goals(PipelineCrmStream):
    """Ids are integers or strings."""

    name = "goals"
    path = "/v1/goals/find"
    records_jsonpath = "$.data.goals[*]"


class LeadLabels(PipelineCrmStream):
    """UUID ids."""

    name = "lead_labels"
    path = "/v1/leadLabels"


class ActivityTypes(PipelineCrmStream):
    name = "activity_types"
    path = "/v1/activityTypes"


class Currencies(PipelineCrmStream):
    name = "currencies"
    path = "/v1/currencies"


class PermissionSets(PipelineCrmStream):
    """UUID ids."""

    name = "permission_sets"
    path = "/v1/permissionSets"


# -- children -----------------------------------------------------------------------------------


class DealProducts(PagedStream):
    """The products of each deal the run emits; records carry `deal_id`."""

    name = "deal_products"
    path = "/v1/deals/{deal_id}/products"
    parent_stream_type = Deals


class Mail(PagedStream):
    """The messages of each inbox thread; records carry `thread_id`."""

    name = "mail"
    path = "/v1/mailbox/mailThreads/{thread_id}/mailMessages"
    deletions = deleted_when("deleted_flag", True)
    parent_stream_type = MailThreads


STREAMS = (
    Deals,
    DealFields,
    Goals,
    Files,
    Filters,
    LeadLabels,
    Leads,
    Notes,
    Activities,
    ActivityTypes,
    ActivityFields,
    Currencies,
    Mail,
    Organizations,
    OrganizationFields,
    PermissionSets,
    Persons,
    PersonFields,
    Pipelines,
    Products,
    ProductFields,
    Roles,
    Stages,
    Users,
    DealProducts,
    MailThreads,
)
