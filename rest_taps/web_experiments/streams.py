"""Streams of the web-experiments API, one short class per resource."""

from __future__ import annotations

from pathlib import Path

from singer_sdk import SchemaDirectory, StreamSchema

from rest_taps.common.pagination import OffsetPaging
from rest_taps.common.streams import BaseStream


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
    paginator = OffsetPaging(limit=50)


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
