"""Streams of the web-experiments API, one short class per resource."""

from __future__ import annotations

import typing as t
from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from taps.common.pagination import OffsetPaging
from taps.common.streams import BaseStream

if t.TYPE_CHECKING:
    import requests


class KeepPagingOffsets(OffsetPaging):
    """Offset paging that goes on past a page the client-side filter left empty.

    The SDK stops paging at the first page that yields no record; with a client-side
    filter and no order, a page of only older records says nothing about the next one.
    Whether there is a next page is still decided by `has_more` (a full raw page).
    """

    def continue_if_empty(self, response: requests.Response) -> bool:
        return True


class WebExperimentsStream(BaseStream):
    """Header `api_key`; records in `_data`; `limit=50&offset=<n>`; keyed by `id`."""

    schema = StreamSchema(SchemaDirectory(Path(__file__).parent / "schemas"))
    primary_keys = ("id",)
    records_jsonpath = "$._data[*]"
    paginator = OffsetPaging(limit=50)


class Accounts(WebExperimentsStream):
    name = "accounts"
    path = "/v1/accounts"


class AccountsFeeds(WebExperimentsStream):
    name = "accounts_feeds"
    path = "/v1/accounts/current/feeds"


class Users(WebExperimentsStream):
    name = "users"
    path = "/v1/accounts/current/users"


class Smartcode(WebExperimentsStream):
    name = "smartcode"
    path = "/v1/accounts/current/smartcode"
    primary_keys = ("uid",)


class Campaigns(WebExperimentsStream):
    """Incremental on `createdOn` (Unix seconds). The API has no time filter and no
    guaranteed order: the tap reads every page and keeps records at or after the bookmark."""

    name = "campaigns"
    path = "/v1/accounts/current/campaigns"
    replication_key = "createdOn"
    client_side_filter = True
    paginator = KeepPagingOffsets(limit=50)


class CustomWidgets(WebExperimentsStream):
    name = "custom_widgets"
    path = "/v1/accounts/current/changesets"


class Thresholds(WebExperimentsStream):
    name = "thresholds"
    path = "/v1/accounts/current/thresholds"
    primary_keys = ("uid",)


class Integrations(WebExperimentsStream):
    name = "integrations"
    path = "/v1/accounts/current/integrations"
    primary_keys = ("uid",)


class Labels(WebExperimentsStream):
    name = "labels"
    path = "/v1/accounts/current/labels"


STREAMS = (
    Accounts,
    AccountsFeeds,
    Users,
    Smartcode,
    Campaigns,
    CustomWidgets,
    Thresholds,
    Integrations,
    Labels,
)
