"""The worker's quiet window: a lone event is claimed at once only while the rate budget has room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.pipeline.worker import QUIET, Retention, Worker
from service.store.claims import QuietWindow


class RecordingJournal:
    """Records the quiet window of every claim; there is never anything to claim."""

    def __init__(self) -> None:
        self.windows: list[QuietWindow] = []

    def claim(
        self, owner: str, now: datetime, *, lease: timedelta, max_tasks: int, quiet: QuietWindow
    ) -> list[Any]:
        self.windows.append(quiet)
        return []


def worker(journal: RecordingJournal, room: list[bool]) -> Worker:
    retention: Any = Retention(audit_log=None, snapshots=None, events=timedelta(1), audit=timedelta(1))  # type: ignore[arg-type]
    return Worker(
        journal,  # type: ignore[arg-type]
        rules=None,  # type: ignore[arg-type]
        processor=None,  # type: ignore[arg-type]
        sweeper=None,
        retention=retention,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        has_room=lambda: room[0],
    )


def test_lone_events_are_claimed_at_once_only_while_the_budget_has_room() -> None:
    journal, room = RecordingJournal(), [True]
    idle_worker = worker(journal, room)
    assert QUIET.idle > 0

    idle_worker.run_once()
    room[0] = False
    idle_worker.run_once()

    assert [window.idle for window in journal.windows] == [QUIET.idle, 0]
    assert {window.quiet for window in journal.windows} == {QUIET.quiet}
