"""Key values in another form than declared are converted when nothing is lost.

The crm-helpdesk sandbox serves some integer ids as decimal strings (`"822"`), as older
versions of that API do: a run with the tap's defaults emits them as integers, warns once
per stream, and loses no record. The conversions themselves are checked one by one.
"""

from __future__ import annotations

import typing as t

import pytest

from rest_taps.common.keys import KeyForms, conversion
from rest_taps.common.sandbox import SandboxServer
from rest_taps.crm_helpdesk.sandbox import DECIMAL_STRING_IDS
from tests.support import api_class, config_for, parse_messages, run_cli

INTEGER = {"type": ["integer"]}
STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": ["number"]}

CONVERTED = [
    (INTEGER, False, "822", 822),
    (INTEGER, False, "-5", -5),
    (INTEGER, False, 822.0, 822),
    (INTEGER, True, "2024-03-30T05:35:09Z", 1711776909),
    (INTEGER, True, "2024-03-30 05:35:09", 1711776909),
    (INTEGER, True, "1711776909", 1711776909),
    (STRING, False, 822, "822"),
    (DATE_TIME, False, 1711776909, "2024-03-30T05:35:09Z"),
    (DATE_TIME, False, 1711776909123, "2024-03-30T05:35:09.123Z"),
    (NUMBER, False, "8.5", 8.5),
    (NUMBER, False, "822", 822),
]
KEPT = [
    (INTEGER, False, "0822"),  # not the same text back: another key
    (INTEGER, False, "822.5"),
    (INTEGER, False, "abc"),
    (INTEGER, False, True),
    (INTEGER, False, 822.5),
    (INTEGER, True, "2024-03-30T05:35:09.5Z"),  # not whole seconds
    (STRING, False, 8.5),
    (STRING, False, False),
    (DATE_TIME, False, "yesterday"),
    (NUMBER, False, "1e3"),
    (NUMBER, False, "8.50"),
]


@pytest.mark.parametrize(("schema", "bookmark", "sent", "emitted"), CONVERTED)
def test_a_key_in_another_form_is_converted(
    schema: dict, bookmark: bool, sent: t.Any, emitted: t.Any
) -> None:
    forms = KeyForms("s", [conversion("k", schema, bookmark=bookmark)])  # type: ignore[list-item]
    record = {"k": sent, "other": sent}
    warned: list[str] = []
    forms.conform(record, warned.append)
    forms.conform({"k": sent}, warned.append)
    assert record == {"k": emitted, "other": sent}
    assert type(record["k"]) is type(emitted)
    assert len(warned) == 1
    assert warned[0].startswith("Stream 's': key property 'k' arrived as ")


@pytest.mark.parametrize(("schema", "bookmark", "sent"), KEPT)
def test_a_key_that_does_not_convert_losslessly_is_left_alone(
    schema: dict, bookmark: bool, sent: t.Any
) -> None:
    forms = KeyForms("s", [conversion("k", schema, bookmark=bookmark)])  # type: ignore[list-item]
    record = {"k": sent}
    warned: list[str] = []
    forms.conform(record, warned.append)
    assert record == {"k": sent}
    assert type(record["k"]) is type(sent)
    assert warned == []


def test_a_union_of_types_takes_every_value_as_it_is() -> None:
    assert conversion("k", {"type": ["integer", "string"]}) is None


def test_decimal_string_ids_arrive_as_integers_with_one_warning_per_stream() -> None:
    api = api_class("crm_helpdesk")(records=120)
    with SandboxServer(api) as server:
        proc = run_cli("tap-crm-helpdesk", config_for(server), discover=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = parse_messages(proc.stdout)
    for stream in DECIMAL_STRING_IDS:
        served = [row["id"] for row in api.tables[stream]]
        assert any(isinstance(key, str) for key in served), stream
        emitted = [record["id"] for record in result.records(stream)]
        assert sorted(emitted) == sorted(int(key) for key in served), stream
        assert all(type(key) is int for key in emitted), stream
        warnings = [
            line
            for line in proc.stderr.splitlines()
            if f"Stream '{stream}': key property 'id' arrived as str" in line
        ]
        assert len(warnings) == 1, (stream, warnings)
        assert "WARNING" in warnings[0]
