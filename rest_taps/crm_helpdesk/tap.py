"""tap-crm-helpdesk: Singer tap for the CRM and helpdesk API."""

from __future__ import annotations

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.tap import BaseTap
from rest_taps.crm_helpdesk.streams import STREAMS


class TapCrmHelpdesk(BaseTap):
    """Contacts, companies, deals, notes, tasks, events, milestones, campaigns, documents,
    ticket filters and tickets."""

    name = "tap-crm-helpdesk"
    auth = AuthPlacement.basic("email", "api_key")
    stream_types = STREAMS
    config_jsonschema = config_schema(
        [
            credential_property("email", "Account e-mail, the HTTP Basic user name."),
            credential_property("api_key", "API key, the HTTP Basic password."),
        ]
    )
