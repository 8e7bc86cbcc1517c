"""tap-pipeline-crm: Singer tap for the pipeline CRM API."""

from __future__ import annotations

import typing as t

from rest_taps.common.auth import AuthPlacement
from rest_taps.common.settings import config_schema, credential_property
from rest_taps.common.tap import BaseTap
from rest_taps.pipeline_crm import fields
from rest_taps.pipeline_crm.streams import STREAMS

if t.TYPE_CHECKING:
    from rest_taps.common.streams import BaseStream


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

    def custom_properties(self, streams: t.Mapping[str, BaseStream]) -> dict[str, dict[str, dict]]:
        """The account's own fields of deals, persons, organizations and products, typed
        from the field definitions (`deal_fields`, ...)."""
        pairs = [(d, s) for d, s in fields.FIELD_STREAMS.items() if d in streams and s in streams]
        reads = [streams[d].read_ahead_of_sync() for d, _ in pairs]  # the sync takes them
        found: dict[str, dict[str, dict]] = {}
        for (_, stream), read in zip(pairs, reads, strict=True):  # read at the same time
            if properties := fields.custom_properties(read.result()):
                found[stream] = properties
        return found
