"""tap-customer-messaging: Singer tap for the customer-messaging API."""

from __future__ import annotations

from singer_sdk import typing as th

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.tap import BaseTap
from rest_taps.customer_messaging.streams import STREAMS


class TapCustomerMessaging(BaseTap):
    """Activity logs, admins, tags, teams, segments, companies (and their segments), data
    attributes, contacts, conversations (and their parts), tickets."""

    name = "tap-customer-messaging"
    auth = AuthPlacement.bearer("access_token")
    stream_types = STREAMS
    config_jsonschema = config_schema(
        [
            credential_property(
                "access_token", 'OAuth access token, sent as "Authorization: Bearer <token>".'
            ),
            th.Property(
                "tickets_window_days",
                th.IntegerType(minimum=1, maximum=366),
                default=30,
                title="Tickets window (days)",
                description="The tickets search walks windows of at most this many days.",
            ),
        ]
    )
