"""The offline poller between its REST polls: with no notices it polls on its interval; with a wake-up
source it pulls as soon as the portal's mark is set (a database read, no REST), not after the interval."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from service.core.bitrix import Call, Reply
from service.pipeline.offline import OfflinePoller
from service.store.db import open_database
from service.store.offline import OfflineInbox
from service.store.wakeups import Wakeups

MEMBER = "w" * 32


class EmptyQueue:
    """A portal whose offline queue is empty; counts the pulls."""

    def __init__(self) -> None:
        self.pulls: list[float] = []

    def call(self, call: Call) -> Reply:
        assert call.method == "event.offline.get"
        self.pulls.append(time.monotonic())
        return Reply({"process_id": "p", "events": []})


@pytest.fixture
def engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="b24rules-wakeup-") as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'db.sqlite3'}")
        yield engine
        engine.dispose()


def _running(engine: Engine, portal: EmptyQueue, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """A poller of `portal` waiting `seconds` between REST polls, woken by MEMBER's mark, in a thread."""
    wakeups = Wakeups(engine)
    poller = OfflinePoller(OfflineInbox(engine, MEMBER), portal, "p.example", poll_seconds=seconds,
                           woken=lambda: wakeups.take(MEMBER))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_without_notices_it_polls_on_its_interval(engine: Engine) -> None:
    portal = EmptyQueue()
    thread, stop = _running(engine, portal, 0.2)
    try:
        assert _wait(lambda: len(portal.pulls) >= 3, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=5)


def test_a_mark_ends_the_long_wait_at_once_and_only_a_mark(engine: Engine) -> None:
    portal, wakeups = EmptyQueue(), Wakeups(engine)
    thread, stop = _running(engine, portal, 60)
    try:
        assert _wait(lambda: len(portal.pulls) == 1, timeout=10)  # the first pull, then a 60 s wait
        Wakeups(engine).mark("someone-else", datetime.now(UTC))  # another portal's mark: not ours
        assert not _wait(lambda: len(portal.pulls) > 1, timeout=1.0)

        marked = time.monotonic()
        Wakeups(engine).mark(MEMBER, datetime.now(UTC))
        assert _wait(lambda: len(portal.pulls) == 2, timeout=5)
        assert portal.pulls[1] - marked < 2.0
        assert not wakeups.pending(MEMBER)  # taken
        assert not _wait(lambda: len(portal.pulls) > 2, timeout=1.0)  # one pull per mark
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
