"""Discovery that learns from the API.

A declared schema says what the API documents; an account's API sends more (custom fields,
fields the documents omit, values of other types). When a tap runs without an input
catalog and can reach its API, discovery widens each stream's declared schema with what
the API actually sends before the catalog is made, so the catalog a user selects from
already lists those properties:

1. the account-defined fields the tap can read (`BaseTap.custom_properties`), typed;
2. the first page of every stream, one stream alone first, then the others
   concurrently, one attempt each, fitted into the schema by the same rules as runtime
   evolution (`rest_taps.common.evolution`). A child stream's first page is read under
   every parent of its parent's sample: a child learns from as many parents' records as
   its parent learns from records.

Runtime evolution covers whatever the sample missed. A failed read is not an error:
that stream keeps its declared schema (one warning for the run). Every read is a
request the sync would send: its answer, or its failed attempt, is the sync's own (a
sync retries a failed first page within the same `max_retries`, never afresh).
"""

from __future__ import annotations

import typing as t
from concurrent.futures import FIRST_COMPLETED, Future, wait

import requests
from singer_sdk.exceptions import RetriableAPIError

from rest_taps.common.errors import CredentialRejectedError, ParentNotFoundError, TapError
from rest_taps.common.redaction import redact

if t.TYPE_CHECKING:
    from rest_taps.common.streams import BaseStream
    from rest_taps.common.tap import BaseTap

_FAILURES = (
    TapError,
    RetriableAPIError,
    requests.exceptions.RequestException,
    OSError,
    ValueError,
)
#: Failures that say the API cannot be read at all: no further stream is tried.
_UNREACHABLE = (
    CredentialRejectedError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


class SchemaSampler:
    """Widens the schemas of a tap's streams with what its API sends."""

    def __init__(self, tap: BaseTap, streams: t.Sequence[BaseStream]) -> None:
        self.tap = tap
        self.streams = {stream.name: stream for stream in streams}
        self.samples: dict[str, list[dict]] = {}
        self.learned: dict[str, int] = {}
        self.failed = False

    def run(self) -> None:
        """Add custom fields, then sample one stream alone (a refused credential or an
        unreachable API shows there, before any other request), then the other parents
        together, and each child as soon as its parent's sample is in, every page a task
        of the tap's worker pool."""
        _ = self.tap.rate_gate, self.tap.request_slots  # one of each, made before workers
        self._custom_properties()
        probe = next((s for s in self.streams.values() if s.parent_stream_type is None), None)
        if probe is not None:
            self._fit(probe, self._page(probe, None))
        reading: dict[BaseStream, list[Future[list[dict]]]] = {}
        self._read_ready(reading)
        while reading:
            wait([f for futures in reading.values() for f in futures], return_when=FIRST_COMPLETED)
            for stream in [s for s, futures in reading.items() if all(f.done() for f in futures)]:
                self._fit(stream, [record for f in reading.pop(stream) for record in f.result()])
            self._read_ready(reading)
        if self.learned:
            counts = ", ".join(f"{name} {n}" for name, n in sorted(self.learned.items()))
            self.tap.logger.info(
                "Discovery read the API and added properties to %d streams' schemas "
                "(properties added: %s).",
                len(self.learned),
                counts,
            )

    def _read_ready(self, reading: dict[BaseStream, list[Future[list[dict]]]]) -> None:
        """Start reading the first pages of each stream not yet read whose parent's sample
        is in (a top-level stream's at once)."""
        if self.failed:
            return
        pool = self.tap.worker_pool
        for stream in self.streams.values():
            if stream.name in self.samples or stream in reading:
                continue
            if stream.parent_stream_type is None or self._parent(stream) in self.samples:
                contexts = self._contexts(stream)
                reading[stream] = [pool.submit(self._page, stream, c) for c in contexts]

    def _parent(self, stream: BaseStream) -> str:
        parent = stream.parent_stream_type
        return next(s.name for s in self.streams.values() if type(s) is parent)

    def _custom_properties(self) -> None:
        try:
            custom = self.tap.custom_properties(self.streams)
        except _FAILURES as exc:
            self._warn("the account's custom fields", exc)
            return
        for name, properties in custom.items():
            declared = self.streams[name].schema.setdefault("properties", {})
            added = [key for key in properties if key not in declared]
            for key in added:
                declared[key] = properties[key]
            if added:
                self.learned[name] = self.learned.get(name, 0) + len(added)

    def _contexts(self, stream: BaseStream) -> list[dict | None]:
        """Where to read a first page: no context, or each parent of the parent's sample
        but a deleted one (`generate_child_contexts`; a sync takes these answers, not
        asking again)."""
        if stream.parent_stream_type is None:
            return [None]
        parent = self.streams[self._parent(stream)]
        records = self.samples.get(parent.name, [])
        return [
            context
            for record in records
            for context in parent.generate_child_contexts(record, None)
            if context is not None
        ]

    def _page(self, stream: BaseStream, context: dict | None) -> list[dict]:
        """One first page of `stream` (runs on a worker); [] when it cannot be read."""
        if self.failed:
            return []
        try:
            return stream.sample(context)
        except ParentNotFoundError:
            return []  # a deleted parent: its children are not there to read
        except _FAILURES as exc:
            self._warn(f"stream '{stream.name}'", exc)
            return []

    def _fit(self, stream: BaseStream, records: list[dict]) -> None:
        """Widen the stream's schema to the sampled records."""
        self.samples[stream.name] = records
        evolution = stream.new_evolution()
        try:
            changes = sum(len(evolution.fit(record)) for record in records)
        except _FAILURES as exc:
            self._warn(f"stream '{stream.name}'", exc)
            return
        if changes:
            self.learned[stream.name] = self.learned.get(stream.name, 0) + changes

    def _warn(self, what: str, exc: BaseException) -> None:
        if self.failed:
            return
        if isinstance(exc, _UNREACHABLE):
            self.failed = True
            what = "the API"
            if isinstance(exc, CredentialRejectedError):
                self.tap.rejected = exc  # a sync would be refused too: it fails at once
        self.tap.logger.warning(
            "Discovery could not read %s (%s); the declared schema is used and runtime "
            "evolution adds what the API sends.",
            what,
            redact(f"{type(exc).__name__}: {exc}")[:300],
        )
