"""The taps of this distribution: its `tap-*` console scripts are the one list of taps.

Everything else that needs the list (the sandbox runner, the tests, the Meltano project
and `.env.example`, written by `scripts/project_files.py`) derives it from here.
"""

from __future__ import annotations

import importlib
import typing as t
from functools import cache
from importlib.metadata import distribution

if t.TYPE_CHECKING:
    from rest_taps.common.tap import BaseTap

DISTRIBUTION = "rest-taps"


@cache
def tap_classes() -> dict[str, type[BaseTap]]:
    """Command name (`tap-error-tracking`) → tap class, in the order pyproject lists them."""
    found = {}
    for entry in distribution(DISTRIBUTION).entry_points:
        if entry.group == "console_scripts" and entry.name.startswith("tap-"):
            module, _, attribute = entry.value.partition(":")
            found[entry.name] = getattr(importlib.import_module(module), attribute.split(".")[0])
    return found


def tap_class(name: str) -> type[BaseTap]:
    """A tap class by command name or package (`tap-error-tracking`, `error_tracking`)."""
    command = "tap-" + name.removeprefix("tap-").replace("_", "-")
    try:
        return tap_classes()[command]
    except KeyError:
        names = ", ".join(tap_classes())
        raise ValueError(f"no tap named {name!r}; the taps are {names}") from None
