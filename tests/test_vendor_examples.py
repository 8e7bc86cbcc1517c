"""Records nobody on this project wrote: each API's real example records, served by the
tap's sandbox at the paths the tap reads, must arrive whole (every field with its value,
a value of another type than declared under its variant property), and every RECORD must
validate against the latest SCHEMA of its stream.

The records are real example records, read from the folder `VENDOR_EXAMPLES` names
(`tests.support`), if present; they are never copied into the repository. Without them
these tests are skipped.
"""

from __future__ import annotations

import pytest

from rest_taps.common.sandbox import SandboxServer
from tests.fidelity import invalid_records, missing_records, repeated_schemas, responses_seen
from tests.support import (
    VENDOR_EXAMPLES,
    api_class,
    available_taps,
    config_for,
    sync,
    tap_class,
    vendor_examples,
)


@pytest.mark.parametrize("package", available_taps())
def test_real_records_arrive_whole(package: str) -> None:
    examples = vendor_examples(package)
    if not examples:
        pytest.skip(f"no example records of this API in {VENDOR_EXAMPLES}")
    api = api_class(package)(records=30)
    for stream, records in examples.items():
        api.replace(stream, records)
    tap_cls = tap_class(package)
    with SandboxServer(api) as server, responses_seen() as seen:
        result = sync(tap_cls, config_for(server), streams=examples, discover=True)
    assert invalid_records(result.messages) == []
    assert repeated_schemas(result.messages) == []
    paging = {s.name: s.paginator.metadata_fields for s in tap_cls.stream_types}
    for stream, records in examples.items():
        assert result.counts.get(stream) == len(records), stream
        # Paging metadata is not data; a child's parent reference is set to the parent
        # the sandbox files it under.
        leave_out = {*paging[stream], *seen.context_keys[stream]}
        missing = missing_records(records, result.records(stream), leave_out)
        assert not missing, f"{stream}: {len(missing)} records arrived incomplete: {missing[0]}"
