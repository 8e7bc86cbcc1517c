"""A bounded pool of daemon worker threads.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, so a
run that fails while a worker sleeps in a retry's backoff would hang until that worker
woke up. These workers are daemon threads: once the run has written what is safe to
write, a fatal error ends the process at once.
"""

from __future__ import annotations

import queue
import threading
import typing as t
from concurrent.futures import Future

T = t.TypeVar("T")
_current = threading.local()  # the pool whose worker runs on this thread, if any


class WorkerPool:
    """`submit` work to at most `workers` daemon threads, started as needed."""

    def __init__(self, workers: int, name: str) -> None:
        self.workers = workers
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Future, t.Callable, tuple] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: t.Callable[..., T], *args: t.Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            self._queue.put((future, fn, args))
            # `_idle`: idle threads less the work queued for them (negative: a backlog)
            if self._idle <= 0 and len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1
        return future

    def in_worker(self) -> bool:
        """Whether the calling thread is one of this pool's workers (which must not wait
        for work of the same pool: it could be queued behind the waiting worker)."""
        return getattr(_current, "pool", None) is self

    def _work(self) -> None:
        _current.pool = self
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to whoever waits on the future
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Cancel the work not yet started and let the threads end (not waiting)."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
            for _ in self._threads:
                self._queue.put(None)


class _Failed(t.NamedTuple):
    error: BaseException


_END = object()


def read_ahead(items: t.Iterator[T], depth: int, name: str) -> t.Iterator[T]:
    """`items`, produced on a thread of their own up to `depth` ahead of the consumer.

    An exception of the producer is raised to the consumer where the item would have
    been; a consumer that stops early stops the producer at its next item.
    """
    handoff: queue.Queue[t.Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: t.Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer
            put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
