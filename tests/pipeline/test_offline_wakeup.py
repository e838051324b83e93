"""The offline poller between its REST polls: it pulls as soon as the portal's wake-up mark is set (a
database read, no REST), not after its long interval; a portal that never sent a notice keeps the short
one."""

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
from service.store.wakeups import MarkBoard, Wakeups

MEMBER = "w" * 32


class EmptyQueue:
    """A portal whose offline queue is empty; counts the pulls."""

    def __init__(self) -> None:
        self.pulls: list[float] = []
        self.takes: list[float] = []  # when the poller took a wake-up mark

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


def _running(engine: Engine, portal: EmptyQueue, unheard: float) -> tuple[threading.Thread, threading.Event]:
    """A poller of `portal` woken by MEMBER's mark, in a thread: 60 s between REST polls once the portal
    sent a notice, `unheard` s before."""
    board = MarkBoard(Wakeups(engine), max_age=0)

    def woken() -> bool | None:
        taken = board.take(MEMBER)
        if taken:
            portal.takes.append(time.monotonic())
        return taken

    poller = OfflinePoller(OfflineInbox(engine, MEMBER), portal, "p.example", poll_seconds=60,
                           woken=woken, unheard_seconds=unheard)  # fmt: skip
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


def test_a_portal_that_never_sent_a_notice_is_polled_on_the_short_interval(engine: Engine) -> None:
    portal = EmptyQueue()
    thread, stop = _running(engine, portal, 0.2)
    try:
        assert _wait(lambda: len(portal.pulls) >= 3, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=5)


def test_a_mark_ends_the_long_wait_at_once_and_only_a_mark(engine: Engine) -> None:
    portal, wakeups = EmptyQueue(), Wakeups(engine)
    thread, stop = _running(engine, portal, 60)  # both intervals long: only a mark can end the wait
    try:
        assert _wait(lambda: len(portal.pulls) == 1, timeout=10)  # the first pull, then a 60 s wait
        Wakeups(engine).mark("someone-else", datetime.now(UTC))  # another portal's mark: not ours
        assert not _wait(lambda: len(portal.pulls) > 1, timeout=1.0)

        marked = time.monotonic()
        Wakeups(engine).mark(MEMBER, datetime.now(UTC))
        assert _wait(lambda: len(portal.pulls) == 2, timeout=5)
        assert portal.pulls[1] - marked < 2.0
        assert wakeups.marks()[MEMBER] is False  # taken
        assert not _wait(lambda: len(portal.pulls) > 2, timeout=1.0)  # one pull per mark
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_after_its_first_notice_a_portal_is_polled_on_the_long_interval(engine: Engine) -> None:
    portal = EmptyQueue()
    thread, stop = _running(engine, portal, 0.2)
    try:
        assert _wait(lambda: len(portal.pulls) >= 2, timeout=10)  # unheard: every 0.2 s
        Wakeups(engine).mark(MEMBER, datetime.now(UTC))
        assert _wait(lambda: bool(portal.takes) and portal.pulls[-1] > portal.takes[0], timeout=5)
        settled = len(portal.pulls)  # the woken pull is done; the portal has been heard from
        assert not _wait(lambda: len(portal.pulls) > settled, timeout=1.5)  # now 60 s between polls
    finally:
        stop.set()
        thread.join(timeout=5)
