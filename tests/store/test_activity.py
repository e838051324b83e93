"""Which tasks `b24rules diff --since` looks at: those with events in the journal or decisions in the audit
within the window, each with the event names it received."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.activity import active_tasks
from service.store.audit import AuditLog
from service.store.journal import Journal
from tests.store.conftest import task_event
from tests.store.test_audit import DRAFT as DECISION


def test_the_window_takes_tasks_with_events_or_decisions_and_their_event_names(
    engine: Engine, now: datetime
) -> None:
    journal, audit = Journal(engine), AuditLog(engine)
    week_ago, long_ago = now - timedelta(days=7), now - timedelta(days=8)
    journal.append(task_event(1), long_ago)  # only before the window: not looked at
    journal.append(task_event(2, "ONTASKADD"), now - timedelta(days=3))
    journal.append(task_event(2, "ontaskupdate"), now - timedelta(days=2))
    journal.append(task_event(2, "ONTASKADD"), now - timedelta(days=1))  # each name once, in order
    audit.record([replace(DECISION, task_id=3)], now - timedelta(hours=1))  # no event: a decision only
    audit.record([replace(DECISION, task_id=4)], long_ago)
    journal.enqueue_task(5, now)  # a sweep's synthetic event counts like a real one

    assert active_tasks(engine, week_ago) == {
        2: ("ONTASKADD", "ONTASKUPDATE"),
        3: ("ONTASKUPDATE",),  # evaluated as the sweeper does: as an update
        5: ("ONTASKUPDATE",),
    }
    assert active_tasks(engine, now - timedelta(days=9)).keys() == {1, 2, 3, 4, 5}
    assert active_tasks(engine, now + timedelta(seconds=1)) == {}
    # One installed portal's window: its own events and decisions only (the webhook portal's are not).
    assert active_tasks(engine, week_ago, "m-0f3c") == {2: ("ONTASKADD", "ONTASKUPDATE")}
