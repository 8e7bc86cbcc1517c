"""A canary for the SDK's private names the base classes rely on.

The taps override or call a few private members of singer-sdk (the SDK offers no public
hook for them). If a release renames one, an override would silently stop being called:
these tests fail first. `PRIVATE` is the one list of that surface; a private member the
base classes define that the SDK also defines must be in it.
"""

from __future__ import annotations

import inspect

import pytest
from singer_sdk import RESTStream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers._state import StateWriter
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.plugin_base import PluginBase

from rest_taps.common.output import BufferedWriter
from rest_taps.common.pagination import Paging
from rest_taps.common.streams import BaseStream
from rest_taps.common.tap import BaseTap

#: SDK class → its private members the base classes override or call, with the
#: parameters they are called with.
PRIVATE: dict[type, dict[str, tuple[str, ...]]] = {
    RESTStream: {
        "_request": ("prepared_request", "context"),
        "_prepare_request": ("context", "page"),
        "_write_request_duration_log": ("endpoint", "response", "context", "extra_tags"),
        "_write_record_message": ("record",),
        "_write_schema_message": (),
        "_write_state_message": (),
        "_write_starting_replication_value": ("context",),
        "_increment_stream_state": ("latest_record", "context"),
        "_process_record": ("record", "child_context", "partition_context"),
        "_stream_maps": (),
        "_stream_version": (),
        "_tap": (),
    },
    Tap: {
        "_reset_state_progress_markers": (),
        "_set_compatible_replication_methods": (),
        "_validate_config": ("raise_errors",),
        "_state_writer": (),
        "_config": (),
        "_handle_termination": ("signum", "frame"),
    },
    PluginBase: {"_handle_termination": ("signum", "frame")},
    BaseAPIPaginator: {"_value": (), "_finished": (), "_page_count": ()},
}

OURS = {
    RESTStream: BaseStream,
    Tap: BaseTap,
    BaseAPIPaginator: Paging,
    MsgSpecWriter: BufferedWriter,
}


def instance_attributes(cls: type) -> set[str]:
    """Private attributes an SDK class sets on its instances (in `__init__`)."""
    inits = [c.__dict__["__init__"] for c in cls.__mro__ if "__init__" in c.__dict__]
    source = "".join(inspect.getsource(f) for f in inits if inspect.isfunction(f))
    return {
        name
        for name in PRIVATE.get(cls, {})
        if f"self.{name} " in source or f"self.{name}:" in source
    }


@pytest.mark.parametrize(
    ("sdk", "name"), [(sdk, name) for sdk, names in PRIVATE.items() for name in names]
)
def test_the_sdk_still_has_it(sdk: type, name: str) -> None:
    member = inspect.getattr_static(sdk, name, None)
    if member is None:
        assert name in instance_attributes(sdk), f"{sdk.__name__}.{name} is gone from the SDK"
        return
    expected = PRIVATE[sdk][name]
    if callable(member) and expected:
        parameters = tuple(inspect.signature(member).parameters)
        assert parameters[1:] == expected, f"{sdk.__name__}.{name}{parameters}"


@pytest.mark.parametrize(("sdk", "ours"), list(OURS.items()))
def test_every_private_override_is_on_the_list(sdk: type, ours: type) -> None:
    listed = {name for cls, names in PRIVATE.items() if issubclass(ours, cls) for name in names}
    overridden = {
        name
        for cls in ours.__mro__
        if cls.__module__.startswith("rest_taps.")
        for name in cls.__dict__
        if name.startswith("_")
        and not name.startswith("__")
        and name != "_abc_impl"
        and hasattr(sdk, name)
    }
    assert overridden <= listed, f"add to PRIVATE: {sorted(overridden - listed)}"


def test_the_state_writer_writes_through_the_tap_writer() -> None:
    """`StateWriter` keeps the message writer it is given: STATE goes through our lock."""
    assert "_message_writer" in inspect.getsource(StateWriter.__init__)
