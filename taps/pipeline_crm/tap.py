"""tap-pipeline-crm: Singer tap for the pipeline CRM API (seed 000)."""

from __future__ import annotations

from taps.common.auth import AuthPlacement
from taps.common.settings import config_schema, credential_property
from taps.common.tap import BaseTap
from taps.pipeline_crm.streams import STREAMS


class TapPipelineCrm(BaseTap):
    """Deals and their products, persons, organizations, activities, mail and settings."""

    name = "tap-pipeline-crm"
    auth = AuthPlacement.query("api_token")
    stream_types = STREAMS
    config_jsonschema = config_schema(
        [
            credential_property(
                "api_token", "API token, sent as query parameter `api_token` on every request."
            )
        ]
    )


if __name__ == "__main__":
    TapPipelineCrm.cli()
