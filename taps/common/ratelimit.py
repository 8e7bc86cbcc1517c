"""Rate-limit pacing shared by every stream (and worker) of a tap.

One `RateGate` per tap: when a response says the quota is spent (`X-RateLimit-Remaining:
0`) or a 429 carries `Retry-After`, the gate closes until the reset time, and every
request of the tap waits at the gate before it is sent, so one worker's rate-limit wait
slows them all.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

MAX_WAIT = 3600.0  # never sleep longer than an hour on a header's word


class RateGate:
    """A point in time before which no request is sent."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        self._logger = logger or logging.getLogger(__name__)

    def close_until(self, when: float, reason: str) -> None:
        """Hold every request until `when` (Unix seconds)."""
        when = min(when, time.time() + MAX_WAIT)
        with self._lock:
            if when > self._until:
                self._until = when
                self._logger.info(
                    "Rate limit: holding requests for %.2f s (%s)", when - time.time(), reason
                )

    def wait(self) -> float:
        """Sleep until the gate is open; returns the seconds slept."""
        delay = self._until - time.time()
        if delay <= 0:
            return 0.0
        time.sleep(delay)
        return delay

    def observe(self, headers: t.Mapping[str, str], remaining: str, reset: str) -> None:
        """Close the gate until `reset` when `remaining` says the quota is spent."""
        left = headers.get(remaining)
        if left is None or left.strip() not in {"0", "0.0"}:
            return
        try:
            until = float(headers.get(reset, ""))
        except ValueError:
            return
        self.close_until(until, f"{remaining}: 0, {reset}: {headers.get(reset)}")
