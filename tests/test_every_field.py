"""Never lose a field: every field an API sends reaches the output with its value.

Run against every tap's sandbox, whose records carry fields its declared schemas lack,
in its documented shapes and in drift mode (values of other types than documented): the
records of every response, decoded apart from the tap, must each arrive whole in an
emitted RECORD (a drifted value under its variant property), and every RECORD must
validate against the latest SCHEMA its stream announced before it.
"""

from __future__ import annotations

import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.fidelity import invalid_records, missing_records, responses_seen
from tests.support import api_class, available_taps, config_for, sync, tap_class


@pytest.mark.parametrize("package", available_taps())
@pytest.mark.parametrize("drift", [False, True], ids=["documented", "drift"])
@pytest.mark.parametrize("discover", [True, False], ids=["discovered", "catalog"])
def test_every_field_arrives(package: str, drift: bool, discover: bool) -> None:
    api = api_class(package)(records=120, drift=drift)
    with SandboxServer(api) as server, responses_seen() as seen:
        result = sync(tap_class(package), config_for(server), discover=discover)
    assert result.counts == api.expected_counts()
    assert invalid_records(result.messages) == []
    assert set(seen.records) == set(result.counts)
    for stream, sent in seen.records.items():
        missing = missing_records(sent, result.records(stream))
        assert not missing, f"{stream}: {len(missing)} records arrived incomplete: {missing[0]}"
