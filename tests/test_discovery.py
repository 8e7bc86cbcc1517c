"""Discovery that reads the API, and a sync without a catalog that reads nothing twice.

A catalog (`--discover`) lists what the API's first pages send besides the declared
schema; a tap that syncs without a catalog discovers the same way and then takes the
answers discovery read (custom field definitions, first pages) instead of asking again.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.fidelity import responses_seen
from tests.support import api_class, available_taps, config_for, sync, tap_class


@pytest.mark.parametrize("package", available_taps())
def test_a_catalog_lists_every_property_the_first_pages_send(package: str) -> None:
    with SandboxServer(api_class(package)(records=60)) as server, responses_seen() as seen:
        tap = tap_class(package)(config=config_for(server), setup_mapper=False)  # --discover
        catalog = {entry["stream"]: entry["schema"] for entry in tap.catalog_dict["streams"]}
    declared = {
        name: s.schema
        for name, s in tap_class(package)(
            config={"sandbox": True, "schema_evolution": "off"}
        ).streams.items()
    }
    assert seen.records, "discovery read the API"
    added = 0
    for stream, records in seen.records.items():
        properties = catalog[stream]["properties"]
        for record in records:
            missing = set(record) - set(properties)
            assert not missing, f"{stream}: the catalog lacks {sorted(missing)}"
        added += len(set(properties) - set(declared[stream]["properties"]))
    assert added, "the sandbox sends properties the declared schemas lack"


@pytest.mark.parametrize("package", available_taps())
def test_a_sync_without_a_catalog_asks_for_no_page_twice(package: str) -> None:
    with SandboxServer(api_class(package)(records=60)) as server:
        result = sync(tap_class(package), config_for(server), discover=True)
        requests = [
            (r.method, r.path, json.dumps(r.query, sort_keys=True), json.dumps(r.body))
            for r in server.requests
        ]
    assert result.counts == server.api.expected_counts()
    repeated = [request for request, n in Counter(requests).items() if n > 1]
    assert not repeated, f"asked for twice: {repeated[:3]}"
