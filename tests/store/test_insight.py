"""The status page's read model on both engines: hourly counts, per-rule hits, event filters, sweeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.audit import AuditDraft, AuditLog
from service.store.db import reading
from service.store.hourly import first_id_since
from service.store.insight import EventFilter, Insight
from service.store.journal import Journal
from service.store.sweeps import SweepState
from tests.store.conftest import task_event


def draft(task_id: int, rule: str = "drop-zero", outcome: str = "pending") -> AuditDraft:
    return AuditDraft(task_id, task_id * 10, rule, "v1", "enforce", outcome, {"ID": "1"}, [], "why", "sweep")


def test_hourly_counts_events_and_deletions_in_their_utc_hour(engine: Engine, now: datetime) -> None:
    journal, audit = Journal(engine), AuditLog(engine)
    # now is 12:00: two events in the 11 o'clock hour, one at 10:55, one too old to show
    for minutes_ago in (5, 50, 65, 60 * 30):
        journal.append(task_event(1), now - timedelta(minutes=minutes_ago))
    [deleted] = audit.record([draft(1)], now - timedelta(minutes=70))
    audit.set_outcome(deleted, "deleted", now)
    audit.record([draft(2, outcome="shadow")], now - timedelta(minutes=70))  # not a deletion

    hours = Insight(engine).window(now, hours=24).hours

    assert len(hours) == 24
    assert hours[-1].start == now.replace(minute=0)
    assert [(h.events, h.deletions) for h in hours[-3:]] == [(1, 1), (2, 0), (0, 0)]
    assert sum(h.events for h in hours) == 3


def test_rule_hits_count_the_windows_decisions_per_rule_and_outcome(engine: Engine, now: datetime) -> None:
    audit = AuditLog(engine)
    audit.record([draft(1), draft(2), draft(3, "void", "shadow")], now - timedelta(hours=1))
    audit.record([draft(4)], now - timedelta(hours=30))

    window = Insight(engine).window(now)
    assert window.since == now - timedelta(hours=23)
    assert window.hits == {
        "drop-zero": {"pending": 2},
        "void": {"shadow": 1},
    }


def test_events_filter_by_task_status_source_time_rule_and_page(engine: Engine, now: datetime) -> None:
    journal, audit = Journal(engine), AuditLog(engine)
    ids = [journal.append(task_event(task), now - timedelta(minutes=10 - task)) for task in range(1, 6)]
    swept = journal.enqueue_task(9, now)
    audit.record([draft(2), draft(4)], now)
    insight = Insight(engine)

    def found(**wanted: object) -> list[int]:
        return [e.id for e in insight.events(EventFilter(**wanted))]  # type: ignore[arg-type]

    assert found() == [swept, *reversed(ids)]
    assert found(task_id=3) == [ids[2]]
    assert found(source="sweep") == [swept]
    assert found(status="pending", source="event") == list(reversed(ids))
    assert found(since=now - timedelta(minutes=5, seconds=30)) == [swept, ids[4]]
    assert found(until=now - timedelta(minutes=7)) == [ids[1], ids[0]]
    assert found(rule="drop-zero") == [ids[3], ids[1]]
    assert found(before=ids[2]) == [ids[1], ids[0]]
    assert insight.last_event_at() == now - timedelta(minutes=5)


def test_sweeps_show_their_leader_and_watermarks(engine: Engine, now: datetime) -> None:
    state = SweepState(engine)
    assert Insight(engine).sweeps() == []
    state.try_lead("worker-1", now, timedelta(minutes=5))
    state.advance(now - timedelta(minutes=1), now)

    [sweep] = Insight(engine).sweeps()
    assert (sweep.name, sweep.owner, sweep.watermark) == ("tasks", "worker-1", now - timedelta(minutes=1))


def test_settled_hours_are_counted_once_and_recent_ones_again(engine: Engine, now: datetime) -> None:
    journal, audit = Journal(engine), AuditLog(engine)
    insight = Insight(engine)
    later = now + timedelta(minutes=3)  # 12:03: the 11 o'clock hour is not settled yet (SETTLE is 5 min)
    [deleting] = audit.record([draft(1)], now - timedelta(minutes=2))  # 11:58, pending
    journal.append(task_event(1), now - timedelta(hours=5))
    assert [h.deletions for h in insight.window(later).hours[-2:]] == [0, 0]

    audit.set_outcome(deleting, "deleted", later)  # the portal answered: the 11 o'clock hour changes
    journal.append(
        task_event(2), now - timedelta(hours=5, minutes=-1)
    )  # an hour settled long ago: not re-read
    window = insight.window(later + timedelta(minutes=3))

    assert [h.deletions for h in window.hours[-2:]] == [1, 0]
    assert [h.events for h in window.hours if h.events] == [1]
    assert [h.events for h in Insight(engine).window(later).hours if h.events] == [
        2
    ]  # a fresh count sees both


def test_the_first_event_received_since_a_moment_is_found_by_bisecting_ids(
    engine: Engine, now: datetime
) -> None:
    journal = Journal(engine)
    ids = [journal.append(task_event(n), now + timedelta(minutes=n)) for n in range(37)]
    engine_ids = Insight(engine)  # the same boundary drives the Activity filters

    with reading(engine) as connection:
        assert first_id_since(connection, now - timedelta(hours=1)) <= ids[0]
        for n in (0, 1, 17, 36):
            assert first_id_since(connection, now + timedelta(minutes=n)) == ids[n]
        assert first_id_since(connection, now + timedelta(minutes=n, seconds=30)) == ids[n] + 1
        assert first_id_since(connection, now + timedelta(hours=2)) == ids[-1] + 1
    since = EventFilter(since=now + timedelta(minutes=30))
    assert [e.id for e in engine_ids.events(since)] == ids[30:][::-1]
