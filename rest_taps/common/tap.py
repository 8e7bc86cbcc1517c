"""The base tap: settings, validation, sandbox mode, redaction and clean failure.

A tap subclass names itself, its credential placement and its streams:

    class TapErrorTracking(BaseTap):
        name = "tap-error-tracking"
        auth = AuthPlacement.header("api_key")
        stream_types = (Items, Occurrences, ...)
        config_jsonschema = config_schema([credential_property("api_key", "...")])

Its sandbox API is the `API` class of the `sandbox` module next to the tap's own module,
imported only in sandbox mode: a real run never loads the fake API.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import threading
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities
from singer_sdk.plugin_base import PluginBase
from singer_sdk.singerlib import StateMessage

from rest_taps.common import errors, redaction, settings
from rest_taps.common.concurrency import RequestSlots, StateBoard, StreamRunner
from rest_taps.common.errors import TapError
from rest_taps.common.failures import StreamFailures
from rest_taps.common.output import BufferedWriter, StateLines
from rest_taps.common.ratelimit import RateGate
from rest_taps.common.registry import DISTRIBUTION
from rest_taps.common.sampling import SchemaSampler
from rest_taps.common.workers import WorkerPool

if t.TYPE_CHECKING:
    from singer_sdk.authenticators import APIAuthenticatorBase
    from singer_sdk.helpers.capabilities import CapabilitiesEnum

    from rest_taps.common.auth import AuthPlacement
    from rest_taps.common.sandbox import SandboxAPI, SandboxServer
    from rest_taps.common.streams import BaseStream

#: `api_url` in sandbox mode, for validation only: requests go to the sandbox's own port.
SANDBOX_URL = "http://127.0.0.1"


class BaseTap(Tap):
    """Base of the five taps."""

    auth: t.ClassVar[AuthPlacement]
    stream_types: t.ClassVar[t.Sequence[type[BaseStream]]]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        errors.install_excepthook()
        logging.disable(logging.NOTSET)  # an earlier tap's failure in this process is over
        super().__init__(*args, **kwargs)
        if isinstance(self.message_writer, BufferedWriter):
            self._state_writer = StateLines(self.message_writer)  # type: ignore[assignment]

    #: msgspec writer (measured 1.35x faster than the default JSON writer) that does not
    #: flush stdout after every RECORD.
    message_writer_class = BufferedWriter

    #: The distribution that ships every tap (its version and Python versions).
    package_name = DISTRIBUTION
    #: What the taps support; no BATCH (records are evolved on the RECORD path only)
    #: and no ACTIVATE_VERSION setting.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
    ]

    # -- config ------------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Register the secrets first: nothing logged from here on may show them.
        redaction.install(self.auth.secrets(self._config))
        errors = settings.normalize(self._config, self.config_jsonschema)
        errors += settings.validate(self._config, self.config_jsonschema, self.auth.settings)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        if self._config.get("sandbox"):  # the sandbox has its own credentials and URL
            sandbox = self.sandbox_api()
            for name, value in {**sandbox.credentials, "api_url": SANDBOX_URL}.items():
                self._config.setdefault(name, value)
        return errors + super()._validate_config(raise_errors=raise_errors)

    # -- connection (sandbox or real API) ----------------------------------------------

    @classmethod
    def sandbox_api(cls) -> type[SandboxAPI]:
        """The tap's sandbox API class (imported on demand)."""
        package = cls.__module__.rpartition(".")[0]
        return importlib.import_module(f"{package}.sandbox").API

    @cached_property
    def sandbox(self) -> SandboxServer | None:
        """The in-process sandbox server, started on first use in sandbox mode."""
        if not self.config.get("sandbox"):
            return None
        from rest_taps.common.sandbox import SandboxServer

        api = self.sandbox_api()()
        server = SandboxServer(api).start()
        self.logger.info(
            "Sandbox mode: reading the synthetic %s API served at %s (api_url and "
            "credentials are ignored).",
            api.title,
            server.url,
        )
        return server

    @property
    def api_url(self) -> str:
        """Base URL requests go to: the sandbox's in sandbox mode, else `api_url`."""
        if self.sandbox is not None:
            return self.sandbox.url
        return str(self.config["api_url"]).rstrip("/")

    @property
    def credentials(self) -> t.Mapping[str, str]:
        """Credential settings: the sandbox's in sandbox mode, else the config's."""
        if self.sandbox is not None:
            return self.sandbox.api.credentials
        return self.config

    @cached_property
    def authenticator(self) -> APIAuthenticatorBase:
        """One authenticator for every stream of the tap."""
        return self.auth.authenticator(self.credentials)

    @property
    def max_workers(self) -> int:
        """Requests on the wire at once (`max_concurrent_requests`)."""
        return max(1, int(settings.number(self.config, "max_concurrent_requests")))

    @cached_property
    def request_slots(self) -> RequestSlots:
        """The budget every request of the tap draws from, whichever thread sends it."""
        return RequestSlots(self.max_workers)

    @cached_property
    def output_lock(self) -> t.ContextManager:
        """Held while a message is written or a STATE message composed."""
        return getattr(self.message_writer, "lock", None) or threading.RLock()

    @property
    def concurrent(self) -> bool:
        """Whether streams sync at the same time (not with another writer than ours,
        which could interleave lines)."""
        return self.max_workers > 1 and isinstance(self.message_writer, BufferedWriter)

    def _last_state(self) -> None:
        """Write the state that covers what was written, and nothing after it."""
        message = StateMessage(value=self.safe_state())
        with self.output_lock:
            if isinstance(self.message_writer, BufferedWriter):
                self.message_writer.close(message)
            else:
                self.message_writer.write_message(message)

    #: While streams sync concurrently: the STATE each family has published.
    state_board: StateBoard | None = None

    @cached_property
    def halt(self) -> threading.Event:
        """Set when a stream has failed: the run is ending, no stream sends more."""
        return threading.Event()

    @cached_property
    def stream_failures(self) -> StreamFailures:
        """The streams that failed in this run (each stops alone unless the setting
        `stream_failures` is `stop`)."""
        return StreamFailures(self.logger, stop_all=self.config.get("stream_failures") == "stop")

    @cached_property
    def worker_pool(self) -> WorkerPool:
        """The bounded pool of workers that requests run on besides the main thread."""
        return WorkerPool(self.max_workers, f"{self.name}-worker")

    @cached_property
    def rate_gate(self) -> RateGate:
        """One rate-limit gate for every stream and worker of the tap."""
        return RateGate(self.logger, settings.number(self.config, "max_wait_seconds"))

    # -- streams and sync ----------------------------------------------------------------

    def discover_streams(self) -> list[BaseStream]:
        """The tap's streams; with no input catalog, their schemas learn from the API."""
        streams = [stream_type(tap=self) for stream_type in self.stream_types]
        if self.input_catalog is None and self._can_sample():
            SchemaSampler(self, streams).run()
        return streams

    def _can_sample(self) -> bool:
        """Whether discovery may read the API: evolution on and a usable connection."""
        if self.config.get("schema_evolution") == "off":
            return False
        if self.config.get("sandbox"):
            return True
        return not settings.validate(self.config, self.config_jsonschema, self.auth.settings)

    def custom_properties(self, streams: t.Mapping[str, BaseStream]) -> dict[str, dict[str, dict]]:
        """Stream name → {property: JSON schema} of fields the account defines itself.

        Some APIs describe an account's custom fields at endpoints of their own. A tap
        overrides this to read them (with `streams[name].read_ahead_of_sync()`, whose
        answers the sync then takes) and type them; discovery adds them to the declared
        schemas when it can reach the API. The default: none.
        """
        return {}

    #: The API refused the credential during discovery: a sync fails at once.
    rejected: TapError | None = None

    def sync_all(self) -> None:
        """Sync. A stream that fails stops alone (`rest_taps.common.failures`); the run
        then ends with one line per failed stream. A failure that stops the run ends it
        with one line. Either way after the state so far (which covers only records
        already written), and with exit status 1."""
        if self.rejected is not None:
            self._fail(str(self.rejected))
        _ = self.stream_failures  # made before threads start
        try:
            if self.concurrent:
                StreamRunner(self, self.max_workers).run()
            else:
                super().sync_all()
            if self.stream_failures.lines:
                self._fail(*self.stream_failures.summary())
        except TapError as exc:
            self._fail(str(exc))
        except Exception as exc:
            self.logger.debug("The unexpected error:", exc_info=True)
            self._fail(f"The run stopped on an unexpected error: {errors.one_line(exc)}")
        finally:
            if "worker_pool" in self.__dict__:
                self.worker_pool.shutdown()

    def safe_state(self) -> dict:
        """The state that covers only records already written: while streams sync
        concurrently, what each has published; else the tap's state."""
        board = self.state_board
        return board.published if board is not None else self.state

    def _handle_termination(self, signum: int, frame: t.Any) -> None:  # pragma: no cover
        """On SIGTERM, the last STATE is one that covers only records written."""
        self._last_state()
        PluginBase._handle_termination(self, signum, frame)

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        """The command line; a failed run with threads still winding down ends at once
        (an interpreter shutting down under daemon threads that write can abort).

        The objects imports made live as long as the process, and so do those left at
        the end: frozen (`gc.freeze`), no garbage collection walks them again, neither
        during the run nor at exit (where collecting them took ~0.2 s a run)."""
        gc.freeze()
        try:
            super().invoke(*args, **kwargs)
            gc.freeze()
        except SystemExit as exc:
            gc.freeze()
            if threading.active_count() > 1:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(exc.code if isinstance(exc.code, int) else 1)
            raise

    def _fail(self, *lines: str) -> t.NoReturn:
        if "worker_pool" in self.__dict__:
            self.worker_pool.shutdown()
        self._last_state()
        errors.last_word(self.logger, *(redaction.redact(line) for line in lines))
        sys.exit(1)
