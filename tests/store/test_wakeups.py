"""Wake-up marks (ONOFFLINEEVENT): idempotent marks, taken once, and a board that reads every portal's
mark in one query per interval for all of a process's pollers."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from service.store.wakeups import MarkBoard, Wakeups

NOW = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


class CountedReads(Wakeups):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.reads = 0

    def marks(self) -> dict[str, bool]:
        self.reads += 1
        return super().marks()


def test_a_mark_is_idempotent_and_taken_once(engine: Engine) -> None:
    wakeups = Wakeups(engine)
    board = MarkBoard(wakeups, max_age=0)  # reads every time
    assert board.take("p1") is None  # never notified
    wakeups.mark("p1", NOW)
    wakeups.mark("p1", NOW)
    assert board.take("p1") is True
    assert board.take("p1") is False  # heard from, nothing pending
    assert wakeups.marks() == {"p1": False}
    assert (wakeups.clear("p1"), wakeups.marks()) == (False, {"p1": False})  # clearing twice: no winner


def test_the_board_reads_all_portals_once_per_interval_and_each_mark_is_taken_once(engine: Engine) -> None:
    wakeups = CountedReads(engine)
    for portal in ("p1", "p2"):
        wakeups.mark(portal, NOW)
    board = MarkBoard(wakeups, max_age=60)
    portals = [f"p{n}" for n in range(1, 201)]

    first = [board.take(portal) for portal in portals]  # 200 pollers checking: one read
    again = [board.take(portal) for portal in portals]

    assert wakeups.reads == 1
    assert first[:2] == [True, True]
    assert set(first[2:]) == {None}  # never notified
    assert again[:2] == [False, False]  # taken once
    assert wakeups.marks() == {"p1": False, "p2": False}

    quick, reads = MarkBoard(wakeups, max_age=0.05), wakeups.reads
    quick.take("p1")
    wakeups.mark("p1", NOW)
    time.sleep(0.06)  # past max_age: the next check reads again and finds the new mark
    assert quick.take("p1") is True
    assert wakeups.reads == reads + 2
