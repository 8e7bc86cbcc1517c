"""tap-web-experiments: Singer tap for the web-experiments API."""

from __future__ import annotations

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.tap import BaseTap
from rest_taps.web_experiments.streams import STREAMS


class TapWebExperiments(BaseTap):
    """Accounts, feeds, users, smartcode, campaigns, widgets, thresholds, integrations, labels."""

    name = "tap-web-experiments"
    auth = AuthPlacement.header("api_key")
    stream_types = STREAMS
    config_jsonschema = config_schema(
        [credential_property("api_key", "API key, sent as header `api_key` on every request.")]
    )
