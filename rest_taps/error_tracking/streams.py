"""Streams of the error-tracking API, one short class per resource."""

from __future__ import annotations

import datetime as dt
import typing as t
from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from rest_taps.common.deletions import Deletions
from rest_taps.common.pagination import PageNumberPaging
from rest_taps.common.settings import parse_datetime
from rest_taps.common.streams import BaseStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


class ErrorTrackingStream(BaseStream):
    """Header `api_key`; bodies `{"err": 0, "result": …}`; keyed by `id`."""

    schema = StreamSchema(SchemaDirectory(Path(__file__).parent / "schemas"))
    primary_keys = ("id",)


class NewestFirstStream(ErrorTrackingStream):
    """Newest first, no server-side time filter: the tap keeps records at or after the
    bookmark and stops paging after the first page that reaches below it."""

    client_side_filter = True
    newest_first = True


class Items(NewestFirstStream):
    name = "items"
    path = "/v1/items"
    records_jsonpath = "$.result.items[*]"
    replication_key = "last_occurrence_timestamp"
    paginator = PageNumberPaging(page_size=100)


class Occurrences(NewestFirstStream):
    name = "occurrences"
    path = "/v1/occurrences"
    records_jsonpath = "$.result.instances[*]"
    replication_key = "timestamp"
    paginator = PageNumberPaging(page_size=20)


class ItemsMetrics(ErrorTrackingStream):
    """`POST` with the window `[bookmark or start_date, end_date or now]`, both inclusive."""

    name = "items_metrics"
    path = "/v1/metrics/items"
    http_method = "POST"
    records_jsonpath = "$.result.metrics[*]"
    primary_keys = ("item_id", "timestamp")
    replication_key = "timestamp"

    def prepare_request_payload(self, context: Context | None, next_page_token: None) -> dict:
        end = self.config.get("end_date")
        end_time = parse_datetime(end) if end else dt.datetime.now(dt.UTC)
        return {"start_time": self.bookmark(context) or 0, "end_time": int(end_time.timestamp())}


class Deploys(NewestFirstStream):
    name = "deploys"
    path = "/v1/deploys"
    records_jsonpath = "$.result.deploys[*]"
    replication_key = "start_time"
    paginator = PageNumberPaging(page_size=20)


class Environments(ErrorTrackingStream):
    name = "environments"
    path = "/v1/environments"
    records_jsonpath = "$.result.environments[*]"
    paginator = PageNumberPaging(page_size=20)


class RqlJobs(ErrorTrackingStream):
    name = "rql_jobs"
    path = "/v1/rql/jobs"
    records_jsonpath = "$.result.jobs[*]"
    paginator = PageNumberPaging(page_size=20)


class TopActiveItems(ErrorTrackingStream):
    name = "top_active_items"
    path = "/v1/reports/top_active_items"
    records_jsonpath = "$.result[*].item"


class Projects(ErrorTrackingStream):
    """A deleted project stays listed, with a null `name`."""

    name = "projects"
    path = "/v1/projects"
    records_jsonpath = "$.result[*]"
    deletions = Deletions(when={"name": None}, time_fields=("date_modified",))


class Teams(ErrorTrackingStream):
    name = "teams"
    path = "/v1/teams"
    records_jsonpath = "$.result[*]"


class Users(ErrorTrackingStream):
    name = "users"
    path = "/v1/users"
    records_jsonpath = "$.result.users[*]"


STREAMS = (
    Items,
    Occurrences,
    ItemsMetrics,
    Deploys,
    Environments,
    RqlJobs,
    TopActiveItems,
    Projects,
    Teams,
    Users,
)
