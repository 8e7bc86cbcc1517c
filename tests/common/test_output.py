"""The lean output path writes exactly what the SDK's own writer would."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import StateMessage

from rest_taps.common.concurrency import StateBoard
from rest_taps.common.output import BufferedWriter, StateLines
from rest_taps.common.sandbox import SandboxServer
from rest_taps.error_tracking.tap import TapErrorTracking
from tests.support import api_class, config_for, serial_config, sync


class SDKWrittenTap(TapErrorTracking):
    """The same tap with the SDK's own writer: records take the SDK's record path."""

    message_writer_class = SingerWriter


def test_the_fast_path_writes_every_message_the_sdk_would() -> None:
    with SandboxServer(api_class("error_tracking")(records=30, drift=True)) as server:
        fast = sync(TapErrorTracking, serial_config(server), discover=True)
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
        else:  # SCHEMA, STATE
            assert ours == theirs


def test_a_state_line_is_the_sdks_and_is_written_once(capsysbinary: pytest.CaptureFixture) -> None:
    """A STATE line is byte for byte what the SDK's writer writes; an unchanged state
    writes no second line."""
    first = {"bookmarks": {"s": {"replication_key_value": "é", "learned": [{"p": None}]}}}
    second = {"bookmarks": {"s": {"replication_key_value": "f", "learned": [{"p": None}]}}}
    lines = StateLines(BufferedWriter())
    for state in (first, copy.deepcopy(first), second):
        lines.write_state(state)
    sdk = MsgSpecWriter()
    expected = [bytes(sdk.format_message(StateMessage(value=v))) for v in (first, second)]
    assert capsysbinary.readouterr().out.splitlines(keepends=True) == expected


def test_published_state_is_a_copy_that_later_changes_do_not_reach() -> None:
    """A family's published state stays as it was when published, though the unchanged
    parts of it are shared with the copy before."""
    tap = TapErrorTracking(config={"sandbox": True})
    stream = tap.streams["items"]
    tap.state["bookmarks"] = {}
    board = StateBoard(tap)
    live = tap.state["bookmarks"]["items"] = {"learned_schema": [{"name": "a"}], "value": 1}
    published = board.published["bookmarks"]
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):
        for value in (1, 2, 3):  # new, then only `value` changed, then both
            live["value"] = value
            board.publish([stream])
            was = copy.deepcopy(live)
            live["learned_schema"].append({"name": f"after {value}"})
            live["learned_schema"][0]["name"] += "!"
            assert published["items"] == was
