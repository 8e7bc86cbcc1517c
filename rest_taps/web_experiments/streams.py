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


class AccountSettingsStream(WebExperimentsStream):
    """A resource of which the account has one: `_data` is that object, with no `uid`
    (one the API sends is kept); its `uid` is the account's (`account_key`), the same on
    every run, so a loader keeps one row per account."""

    primary_keys = ("uid",)
    account_key = "uid"


class Smartcode(AccountSettingsStream):
    name = "smartcode"
    path = "/v1/accounts/current/smartcode"


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


class Thresholds(AccountSettingsStream):
    name = "thresholds"
    path = "/v1/accounts/current/thresholds"


class Integrations(AccountSettingsStream):
    name = "integrations"
    path = "/v1/accounts/current/integrations"


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
