"""The gate every request of a tap passes at the moment it is sent: rate-limit pacing and
the credential's first test, shared by every stream (and worker) of a tap.

One `RateGate` per tap. Every request passes it (`acquire` immediately before sending,
`release` with the answer after). When the API reports its quota (`X-RateLimit-Remaining` /
`X-RateLimit-Reset`), the gate keeps the remaining budget, less the requests still in
flight (one probe request at a time while it is unknown), and once it is spent holds every
request until the reset time; a 429 with `Retry-After` closes it for that long. A hold
only ever grows: an answer that arrives late, from a request sent before the quota ran
out, cannot reopen the gate before the reset an earlier answer announced.

No hold is longer than `max_wait` seconds: an API that asks for more (a reset far in the
future, `Retry-After: 86400`) ends the run with an error saying what it asked for.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import typing as t

from rest_taps.common.errors import WaitTooLongError


class RateGate:
    """Paces the requests of a tap on the API's rate-limit headers."""

    def __init__(
        self,
        logger: logging.Logger | None = None,
        max_wait: float = 300,
        *,
        alone_until_accepted: bool = False,
    ) -> None:
        self.max_wait = max_wait
        self._alone = alone_until_accepted  # one request at a time until one is accepted
        self._refused: BaseException | None = None
        self._until = 0.0  # no request before this time (Unix seconds)
        self._budget: int | None = None  # requests left in the window, if known
        self._reset = 0.0  # when the window resets
        self._in_flight = 0
        self._cond = threading.Condition()
        self._logger = logger or logging.getLogger(__name__)

    def close_until(self, when: float, reason: str) -> None:
        """Hold every request until `when` (Unix seconds)."""
        with self._cond:
            self._close(when, reason)

    def _close(self, when: float, reason: str) -> None:
        wait = when - time.time()
        if wait > self.max_wait:
            msg = (
                f"The API asks to wait {_seconds(wait)} s ({reason}), longer than "
                f"max_wait_seconds ({self.max_wait:g}); the run stops here."
            )
            raise WaitTooLongError(msg)
        if when > self._until:
            self._until = when
            self._logger.info("Rate limit: holding requests for %.2f s (%s)", wait, reason)
            self._cond.notify_all()

    def acquire(self, paced: bool = False) -> float:
        """Wait until a request may be sent and count it as in flight; returns seconds waited.

        `paced` requests (on an API that reports its quota) go one at a time while the
        quota of the current window is unknown: the first answer tells how many may follow.
        Once the credential was refused, raises the refusal instead.
        """
        started = time.monotonic()
        with self._cond:
            while True:
                if self._refused is not None:
                    raise copy.copy(self._refused)
                now = time.time()
                if self._until > now:
                    self._cond.wait(self._until - now)
                    continue
                if self._budget is not None and self._budget <= 0:
                    if self._reset > now:
                        self._close(self._reset, "quota spent until X-RateLimit-Reset")
                        continue
                    self._budget = None  # the window has reset
                one_at_a_time = self._alone or (paced and self._budget is None)
                if one_at_a_time and self._in_flight:
                    self._cond.wait()
                    continue
                break
            if self._budget is not None:
                self._budget -= 1
            self._in_flight += 1
        return time.monotonic() - started

    def release(
        self,
        headers: t.Mapping[str, str] | None = None,
        names: tuple[str, str] | None = None,
        *,
        accepted: bool = False,
        refused: BaseException | None = None,
    ) -> None:
        """A request is done; learn the remaining quota from its headers (`names`), and
        whether its answer `accepted` the credential or `refused` it (the error every
        request not yet sent then raises)."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()
            if refused is not None and self._refused is None:
                self._refused = refused
            elif accepted:
                self._alone = False
            if headers is None or names is None:
                return
            remaining, reset = (headers.get(name) for name in names)
            try:
                left, until = int(float(remaining or "")), float(reset or "")
            except (ValueError, OverflowError):
                return
            if until < self._reset:
                return  # an answer from a window that is over: it knows less
            budget = left - self._in_flight
            if self._budget is not None and until == self._reset:
                budget = min(budget, self._budget)  # a late answer knows less
            self._budget, self._reset = budget, until
            if left <= 0:
                self._close(until, "X-RateLimit-Remaining 0 until X-RateLimit-Reset")


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value < 1e15 else f"{value:g}"
