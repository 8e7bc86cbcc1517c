"""The lean output path writes exactly what the SDK's own writer would."""

from __future__ import annotations

import datetime as dt

from singer_sdk.io_base import SingerWriter

from taps.common.sandbox import SandboxServer
from taps.error_tracking.tap import TapErrorTracking
from tests.support import api_class, config_for, sync


class SDKWrittenTap(TapErrorTracking):
    """The same tap with the SDK's own writer: records take the SDK's record path."""

    message_writer_class = SingerWriter


def test_the_fast_path_writes_every_message_the_sdk_would() -> None:
    with SandboxServer(api_class("error_tracking")(records=30, drift=True)) as server:
        fast = sync(TapErrorTracking, config_for(server, max_concurrent_requests=1), discover=True)
        sdk = sync(SDKWrittenTap, config_for(server), discover=True)
    assert len(fast.messages) == len(sdk.messages)
    for ours, theirs in zip(fast.messages, sdk.messages, strict=True):
        assert ours.keys() == theirs.keys(), ours.get("stream")
        if ours["type"] == "RECORD":
            assert ours["record"] == theirs["record"]
            assert ours.get("version") == theirs.get("version")
            extracted = dt.datetime.fromisoformat(ours["time_extracted"])
            assert extracted.tzinfo is not None
            assert abs(
                extracted - dt.datetime.fromisoformat(theirs["time_extracted"])
            ) < dt.timedelta(minutes=1)
        elif ours["type"] == "SCHEMA":
            assert ours == theirs
