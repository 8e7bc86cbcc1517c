"""tap-error-tracking: Singer tap for the error-tracking API."""

from __future__ import annotations

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.tap import BaseTap
from rest_taps.error_tracking.streams import STREAMS


class TapErrorTracking(BaseTap):
    """Items, occurrences, metrics, deploys, environments, RQL jobs, projects, teams, users."""

    name = "tap-error-tracking"
    auth = AuthPlacement.header("api_key")
    stream_types = STREAMS
    config_jsonschema = config_schema(
        [credential_property("api_key", "API key, sent as header `api_key` on every request.")]
    )
