"""Streams of one tap synced at the same time, with one writer and honest STATE.

`StreamRunner` syncs each top-level stream (with its child streams, a *family*) on a thread
of its own. What keeps a concurrent run as safe as a serial one:

- **One request budget.** Every HTTP request of the tap, from any stream, page prefetch or
  child prefetch, holds one of `max_concurrent_requests` slots while it is on the wire
  (`RequestSlots`), and passes the tap's one rate-limit gate.
- **One writer.** Every message goes through the tap's writer under its lock: each line is
  whole, and a stream's SCHEMA precedes its RECORDs because one thread writes both in turn.
- **STATE never ahead of records.** A family only changes its own part of the state, and
  publishes a copy of it after writing the records that part covers; a STATE message is
  the latest copy of every family, written under the writer's lock. Whatever STATE a target
  last read, every record it covers came before it: a run killed at any moment and resumed
  from that STATE loses nothing.

With `max_concurrent_requests: 1` the tap syncs serially, in the SDK's own order.
"""

from __future__ import annotations

import copy
import threading
import typing as t
from concurrent.futures import FIRST_EXCEPTION, wait

from rest_taps.common.errors import RunHaltedError
from rest_taps.common.workers import WorkerPool

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import TapState
    from singer_sdk.streams import Stream

    from rest_taps.common.tap import BaseTap


class RequestSlots:
    """At most `size` requests on the wire at once, whoever sends them."""

    def __init__(self, size: int) -> None:
        self._slots = threading.BoundedSemaphore(size)

    def __enter__(self) -> None:
        self._slots.acquire()

    def __exit__(self, *_: object) -> None:
        self._slots.release()


def family(stream: Stream) -> list[Stream]:
    """`stream` and its descendants."""
    members = [stream]
    for child in stream.child_streams:
        members += family(child)
    return members


class StateBoard:
    """The STATE the tap may claim: per family, the copy it last published."""

    def __init__(self, tap: BaseTap) -> None:
        self._tap = tap
        self.published: TapState = copy.deepcopy(tap.state)
        self.published.setdefault("bookmarks", {})

    def publish(self, streams: t.Iterable[Stream]) -> None:
        """Copy the state of `streams` (one family, called from its own thread, after
        its records were written) and write the STATE message of every family. What did
        not change since the family's last copy is not copied again."""
        bookmarks = self._tap.state["bookmarks"]
        published = self.published["bookmarks"]
        own = {
            s.name: _copy(bookmarks[s.name], published.get(s.name))
            for s in streams
            if s.name in bookmarks and bookmarks[s.name] != published.get(s.name)
        }
        with self._tap.output_lock:
            published.update(own)
            self._tap.state_writer.write_state(self.published)


def _copy(current: t.Any, before: t.Any) -> t.Any:
    """A copy of `current` that takes the entries equal in `before` (an earlier copy)."""
    if not (isinstance(current, dict) and isinstance(before, dict)):
        return copy.deepcopy(current)
    return {
        key: before[key] if key in before and before[key] == value else copy.deepcopy(value)
        for key, value in current.items()
    }


class StreamRunner:
    """Syncs the selected top-level streams of a tap on up to `workers` threads."""

    def __init__(self, tap: BaseTap, workers: int) -> None:
        self.tap = tap
        self.workers = workers
        self.failure: BaseException | None = None
        self._lock = threading.Lock()

    def roots(self) -> list[Stream]:
        """The streams the SDK would sync itself, in its order."""
        roots = []
        for stream in self.tap.streams.values():
            if not stream.selected and not stream.has_selected_descendents:
                self.tap.logger.info("Skipping deselected stream '%s'.", stream.name)
            elif stream.parent_stream_type is None:
                roots.append(stream)
        return roots

    def run(self) -> None:
        """Sync every family; the first failure is raised here (the others are left to
        end with the process: the caller writes what is safe and exits)."""
        tap = self.tap
        tap._reset_state_progress_markers()  # what the SDK's serial sync starts with
        tap._set_compatible_replication_methods()
        if tap.state:
            tap.state_writer.write_state(tap.state)
        roots = self.roots()
        for root in roots:
            for stream in family(root):
                if stream.selected:
                    _ = stream.stream_state  # its entry exists before threads start
        tap.state_board = StateBoard(tap)
        # What every thread shares, made once here rather than by whichever thread first
        # asks (a cached property is not locked on every Python version).
        _ = tap.request_slots, tap.halt, tap.worker_pool, tap.rate_gate, tap.output_lock
        pool = WorkerPool(self.workers, f"{tap.name}-stream")
        try:
            futures = [pool.submit(self._sync_family, root) for root in roots]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f.exception() for f in futures if f.done() and f.exception()]
            if self.failure is not None or failed:
                raise self.failure or t.cast("BaseException", failed[0])
        finally:
            pool.shutdown()
        tap.state_board = None
        tap.state_writer.write_state(tap.state)
        for stream in tap.streams.values():
            stream.log_sync_costs()

    def _sync_family(self, root: Stream) -> None:
        try:
            root.sync()
        except BaseException as exc:
            with self._lock:  # the first failure is the one to report, not its echoes
                if self.failure is None and not isinstance(exc, RunHaltedError):
                    self.failure = exc
            self.tap.halt.set()  # no other stream sends another request
            raise
        root.finalize_state_progress_markers()
        self.tap.state_board.publish(family(root))  # type: ignore[union-attr]
