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


def test_requests_go_one_at_a_time_until_an_answer_accepts_the_credential() -> None:
    gate = RateGate(alone_until_accepted=True)
    gate.acquire()
    timer = threading.Timer(0.2, gate.release)  # an answer that accepts nothing (a 500)
    timer.start()
    assert 0.15 <= gate.acquire() <= 0.45, "the second waits for the first answer"
    gate.release(accepted=True)
    assert gate.acquire() < 0.05, "after an accepted answer, requests overlap"
    assert gate.acquire() < 0.05
    timer.join()


def test_after_a_refusal_no_request_passes() -> None:
    gate = RateGate(alone_until_accepted=True)
    gate.acquire()
    refusal = PermissionError("the credential was rejected")
    waiting: list[BaseException] = []

    def wait_to_send() -> None:
        try:
            gate.acquire()
        except PermissionError as exc:
            waiting.append(exc)

    workers = [threading.Thread(target=wait_to_send) for _ in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(0.1)
    gate.release(refused=refusal)
    for worker in workers:
        worker.join(5)
    assert [str(exc) for exc in waiting] == [str(refusal)] * 3, "every waiting request"
    with pytest.raises(PermissionError):
        gate.acquire()
