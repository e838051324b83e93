"""Group commit for the event intake: one writer thread per web process stores waiting events together.

Every accepted event must be committed before its 200, and a commit costs an fsync (SQLite
`synchronous=FULL`, PostgreSQL's WAL flush) plus, on SQLite, a turn at the file's single write lock.
One commit per request made requests queue behind each other's commits. Here a request hands its
event to the process's writer and waits; the writer inserts the events waiting at that moment, up to
`MAX_BATCH`, in ONE transaction (`Journal.append_many`) and then wakes each request with its id, or with
the error. No request is answered before the commit that holds its event, so durability before the 200
is kept; while one commit runs, the next batch gathers.

Bounded: a full queue, a writer stuck on one batch longer than `wait_seconds`, or a request not served
within `wait_seconds` is `IntakeUnavailable` (the endpoint answers 503) — never a hang. An event still
queued when its request gives up is taken back out, so that 503 means "not stored"; an event already
in the running batch may still be stored (the 503 then errs on the side of at-least-once).

The thread starts with the first event, in the process that serves it (gunicorn forks workers after
the app is built: a thread started earlier would not exist in the worker). `close` drains the queue
and stops the thread (gunicorn's `worker_exit`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from service.core.events import TaskEvent
from service.plumbing.clock import utcnow
from service.store.db import is_outage
from service.store.journal import Journal

log = logging.getLogger(__name__)

WAIT_SECONDS = 5.0  # a request's longest wait for its commit; well under gunicorn's 30 s worker timeout
MAX_BATCH = 256  # events per transaction: bounds one INSERT's size and one commit's latency
MAX_QUEUE = 1024  # waiting events per process; more is a database that cannot keep up: 503 at once


class IntakeUnavailable(Exception):
    """The event was not (known to be) stored; `str(error)` says why, without any event data."""


class _Waiting:
    """One request's event; `done` is held until the writer has its id or error (a bare lock is the
    cheapest wake-up CPython has: measured ~5 µs less per request than threading.Event)."""

    __slots__ = ("done", "error", "event", "event_id", "status")

    def __init__(self, event: TaskEvent, status: str) -> None:
        self.event = event
        self.status = status
        self.done = threading.Lock()
        self.done.acquire()
        self.event_id: int | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """The per-process writer. `append` is called from request threads; one thread does the writing."""

    def __init__(
        self,
        journal: Journal,
        *,
        wait_seconds: float = WAIT_SECONDS,
        max_batch: int = MAX_BATCH,
        max_queue: int = MAX_QUEUE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._journal = journal
        self._wait_seconds = wait_seconds
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._clock = clock
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._queue: deque[_Waiting] = deque()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False
        self._writing_since: float | None = None  # monotonic start of the batch being written

    def append(self, event: TaskEvent, status: str) -> int:
        """Store `event` as `status` (pending or ignored) in the next group commit; its id once committed."""
        waiting = _Waiting(event, status)
        with self._lock:
            self._admit()
            self._queue.append(waiting)
            self._work.notify()
        if not waiting.done.acquire(timeout=self._wait_seconds):
            self._give_up(waiting)
        if waiting.error is not None:
            raise IntakeUnavailable("event store refused the write") from waiting.error
        assert waiting.event_id is not None
        return waiting.event_id

    def _give_up(self, waiting: _Waiting) -> None:
        timed_out = IntakeUnavailable(f"event store did not commit within {self._wait_seconds:g} s")
        with self._lock:
            if waiting in self._queue:  # not in a batch yet: take it back, so the 503 means "not stored"
                self._queue.remove(waiting)
                raise timed_out
        # In the batch being written: if that has just finished, its outcome stands.
        if not waiting.done.acquire(blocking=False):
            raise timed_out

    @property
    def waiting(self) -> int:
        """Events queued for the next commit (not counting the batch being written)."""
        with self._lock:
            return len(self._queue)

    def close(self, timeout: float = WAIT_SECONDS) -> None:
        """Refuse new events, commit the waiting ones, stop the writer (gunicorn's worker_exit)."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
            thread = self._thread if self._pid == os.getpid() else None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("event writer still busy at shutdown", extra={"waiting": len(self._queue)})

    def _admit(self) -> None:
        # Called with the lock held.
        if self._closed:
            raise IntakeUnavailable("shutting down")
        if self._pid != os.getpid():  # first event in this process (or a fork of it): our own writer
            self._queue.clear()
            self._writing_since = None
            self._thread = threading.Thread(target=self._run, name="b24rules-intake", daemon=True)
            self._thread.start()
            self._pid = os.getpid()
        if len(self._queue) >= self._max_queue:
            raise IntakeUnavailable("too many events waiting for the event store")
        since = self._writing_since
        if since is not None and time.monotonic() - since > self._wait_seconds:
            raise IntakeUnavailable("event store is not answering")

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._work.wait()
                if not self._queue:  # closed and drained
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
                self._writing_since = time.monotonic()
            self._write(batch)
            with self._lock:
                self._writing_since = None

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            try:
                self._store(batch)
            except Exception as error:
                if len(batch) == 1 or is_outage(error):
                    raise
                # The database refused a value: find out whose, so one odd event does not fail the
                # others that happened to share its transaction.
                log.warning(
                    "event batch refused; storing its events one by one", extra={"events": len(batch)}
                )
                for waiting in batch:
                    self._store_alone(waiting)
        except Exception as error:  # every request of the batch answers 503 with it; the writer goes on
            for waiting in batch:
                waiting.error = error
        finally:
            for waiting in batch:
                waiting.done.release()

    def _store(self, batch: list[_Waiting]) -> None:
        ids = self._journal.append_many(
            [waiting.event for waiting in batch], self._clock(), [waiting.status for waiting in batch]
        )
        for waiting, event_id in zip(batch, ids, strict=True):
            waiting.event_id = event_id

    def _store_alone(self, waiting: _Waiting) -> None:
        try:
            self._store([waiting])
        except Exception as error:
            waiting.error = error
