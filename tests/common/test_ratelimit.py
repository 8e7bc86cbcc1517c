"""The rate gate under concurrency: holds only grow, and waits are capped."""

from __future__ import annotations

import threading
import time

import pytest

from rest_taps.common.errors import WaitTooLongError
from rest_taps.common.ratelimit import RateGate

NAMES = ("X-Remaining", "X-Reset")


def answer(remaining: int, reset_in: float) -> dict[str, str]:
    return {"X-Remaining": str(remaining), "X-Reset": str(time.time() + reset_in)}


@pytest.mark.parametrize("late_reset_in", [0.05, 30], ids=["older-reset", "newer-reset"])
def test_a_late_answer_cannot_reopen_the_gate(late_reset_in: float) -> None:
    """Two requests in flight; the first answer spends the quota until its reset. The
    second, late answer (another window, quota left) must not let a request through."""
    gate = RateGate()
    gate.acquire()
    gate.acquire()
    gate.release(answer(0, 0.4), NAMES)
    gate.release(answer(5, late_reset_in), NAMES)
    assert 0.35 <= gate.acquire() <= 0.7, "held until the first answer's reset"


def test_every_waiting_worker_is_held_until_the_reset() -> None:
    gate = RateGate()
    gate.acquire()
    gate.release(answer(0, 0.4), NAMES)
    waits: list[float] = []
    workers = [threading.Thread(target=lambda: waits.append(gate.acquire())) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(waits) == 4
    assert all(0.35 <= wait <= 0.8 for wait in waits)


@pytest.mark.parametrize("reset_in", [3600, float("inf")], ids=["an-hour", "inf"])
def test_a_reset_beyond_max_wait_fails_saying_what_the_api_asked(reset_in: float) -> None:
    gate = RateGate(max_wait=60)
    gate.acquire()
    with pytest.raises(WaitTooLongError, match=r"asks to wait \S+ s .*max_wait_seconds \(60\)"):
        gate.release({"X-Remaining": "0", "X-Reset": str(time.time() + reset_in)}, NAMES)


def test_a_retry_after_beyond_max_wait_fails() -> None:
    gate = RateGate(max_wait=10)
    with pytest.raises(WaitTooLongError, match="asks to wait 86400 s"):
        gate.close_until(time.time() + 86400, "429 Retry-After")
