"""What a user hands a tap on its command line, checked before anything runs.

- A config, catalog or state file that is missing, unreadable or not a JSON object ends
  the run with one line naming the file and where it is broken (`read_json`).
- A state that is a whole STATE message (`{"type": "STATE", "value": {...}}`, a line of a
  tap's output), or Meltano's state object (`{"singer_state": {...}}`, what `meltano state
  get` prints), is unwrapped, with a warning; bookmarks of streams the tap does not have
  (another tap's state, say) are left out, with a warning naming them, so they are not
  carried into every later state (`checked_state`).
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from rest_taps.common.errors import TapError

if t.TYPE_CHECKING:
    import logging

#: What each file given on the command line must hold besides being a JSON object.
REQUIRED_KEYS = {"catalog": "streams"}


class InputFileError(TapError):
    """A file given on the command line cannot be used."""


def read_json(path: str, what: str) -> str:
    """The text of `path`, the `what` file (config, catalog, state), once it is known to
    hold a JSON object."""
    name = f"{what.capitalize()} file '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{name} was not found.") from None
    except UnicodeDecodeError as exc:
        msg = f"{name} is not JSON: it is not UTF-8 text (byte {exc.start + 1})."
        raise InputFileError(msg) from None
    except OSError as exc:
        raise InputFileError(f"{name} cannot be read: {exc.strerror}.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = (
            "it is empty"
            if not text.strip()
            else f"{exc.msg.lower()} at line {exc.lineno}, column {exc.colno}"
        )
        raise InputFileError(f"{name} is not JSON: {where}.") from None
    if not isinstance(value, dict):
        msg = f"{name} must hold a JSON object ({{...}}), not {_json_type(value)}."
        raise InputFileError(msg)
    key = REQUIRED_KEYS.get(what)
    if key is not None and not isinstance(value.get(key), list):
        msg = f"{name} has no '{key}' list: is it a {what} (such as `--discover` writes)?"
        raise InputFileError(msg)
    return text


def _json_type(value: t.Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


def checked_state(
    state: dict[str, t.Any], streams: t.Collection[str], logger: logging.Logger
) -> dict[str, t.Any]:
    """`state` as the tap takes it: a STATE message's value, Meltano's `singer_state`;
    bookmarks of `streams` only."""
    if state.get("type") == "STATE" and isinstance(state.get("value"), dict):
        logger.warning(
            "The state given is a whole STATE message; the tap reads its value. (A state "
            'file holds that value alone: {"bookmarks": ...}.)'
        )
        state = state["value"]
    elif set(state) == {"singer_state"} and isinstance(state["singer_state"], dict):
        logger.warning(
            "The state given is Meltano's state object; the tap reads its 'singer_state'."
        )
        state = state["singer_state"]
    bookmarks = state.get("bookmarks")
    if isinstance(bookmarks, dict):
        unknown = sorted(name for name in bookmarks if name not in streams)
        if unknown:
            logger.warning(
                "The state has bookmarks of streams this tap does not have (%s): they are "
                "ignored and left out of the state it writes. Is it another tap's state?",
                ", ".join(unknown),
            )
            kept = {name: value for name, value in bookmarks.items() if name in streams}
            state = {**state, "bookmarks": kept}
    return state
