"""Schema version 3: leases, snapshots and breakers are per portal; a version-2 database keeps its rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from service.core.events import TaskEvent
from service.store.audit import AuditDraft, AuditLog
from service.store.breakers import Breakers
from service.store.db import make_engine, open_database
from service.store.journal import Journal
from service.store.schema import MIGRATIONS, current_version
from service.store.snapshots import TaskSnapshots

_VERSION_2 = (
    "CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES (1, 2)",
    "CREATE TABLE task_leases (task_id BIGINT PRIMARY KEY, owner VARCHAR(128) NOT NULL,"
    " expires_at {ts} NOT NULL)",
    "CREATE TABLE task_snapshots (task_id BIGINT PRIMARY KEY, status INTEGER NOT NULL, changed_date {ts},"
    " seen_at {ts} NOT NULL)",
    "CREATE TABLE tripped_rules (rule VARCHAR(100) PRIMARY KEY, reason TEXT NOT NULL,"
    " tripped_at {ts} NOT NULL)",
    "INSERT INTO task_snapshots VALUES (691, 5, NULL, '2025-03-01 12:00:00')",
    "INSERT INTO tripped_rules VALUES ('drop-zero', 'limit', '2025-03-01 12:00:00')",
    "INSERT INTO task_leases VALUES (691, 'w1', '2025-03-01 12:00:00')",
)


def _event(task_id: int, member_id: str) -> TaskEvent:
    return TaskEvent("ONTASKUPDATE", task_id, 1, "1", f"{member_id}.example", member_id, "token")


def test_a_version_2_database_keeps_its_rows_as_the_webhook_portals(db_url: str, now: datetime) -> None:
    old = make_engine(db_url)
    stamp = "TIMESTAMP" if old.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    with old.begin() as connection:
        for statement in _VERSION_2:
            connection.execute(text(statement.format(ts=stamp)))
    old.dispose()

    engine = open_database(db_url)
    try:
        assert current_version(engine) == MIGRATIONS[-1].version
        snapshot = TaskSnapshots(engine).get(691)
        assert snapshot is not None
        assert snapshot.status == 5
        assert TaskSnapshots(engine, "other").get(691) is None
        assert Breakers(engine).is_tripped("drop-zero")
        assert not Breakers(engine, "other").is_tripped("drop-zero")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT portal FROM task_leases WHERE task_id = 691")) == ""
    finally:
        engine.dispose()


def test_the_same_task_id_on_two_portals_is_two_tasks(engine: Engine, now: datetime) -> None:
    journal = Journal(engine)
    journal.append(_event(7, "portal-a"), now)
    journal.append(_event(7, "portal-b"), now)
    lease = timedelta(seconds=60)

    a = journal.for_portal("portal-a").claim("w1", now, lease=lease)
    b = journal.for_portal("portal-b").claim("w2", now, lease=lease)

    assert [(c.portal, c.task_id, len(c.event_ids)) for c in a] == [("portal-a", 7, 1)]
    assert [(c.portal, c.task_id, len(c.event_ids)) for c in b] == [("portal-b", 7, 1)]
    assert journal.for_portal("portal-a").complete(a[0], now)
    assert journal.for_portal("portal-b").heartbeat(b, now, lease) == [
        b[0].__class__(**{**b[0].__dict__, "lease_expires_at": now + lease})
    ]


def test_snapshots_and_breakers_are_kept_per_portal(engine: Engine, now: datetime) -> None:
    TaskSnapshots(engine, "portal-a").put(7, 5, now)
    TaskSnapshots(engine, "portal-b").put(7, 2, now)
    Breakers(engine, "portal-a").trip("r", "too many", now)

    assert TaskSnapshots(engine, "portal-a").get(7).status == 5  # type: ignore[union-attr]
    assert TaskSnapshots(engine, "portal-b").get(7).status == 2  # type: ignore[union-attr]
    assert Breakers(engine, "portal-a").is_tripped("r")
    assert not Breakers(engine, "portal-b").is_tripped("r")
    assert Breakers(engine, "portal-b").tripped() == {}


def test_an_uninstalled_portals_waiting_events_are_set_aside(engine: Engine, now: datetime) -> None:
    journal = Journal(engine)
    journal.append(_event(7, "portal-a"), now)
    kept = journal.append(_event(8, "portal-b"), now)

    assert journal.set_aside("portal-a", now, reason="uninstalled") == 1

    assert journal.for_portal("portal-a").claim("w", now, lease=timedelta(seconds=9)) == []
    [claim] = journal.claim("w", now, lease=timedelta(seconds=9))
    assert claim.event_ids == (kept,)


def test_the_budget_echo_and_restores_are_counted_per_portal(engine: Engine, now: datetime) -> None:
    draft = AuditDraft(7, 301, "drop-zero", "v1", "enforce", "pending", {}, [], "why", "event:1")
    ids = AuditLog(engine, "portal-a").record([draft, replace(draft, item_id=302)], now)
    AuditLog(engine, "portal-a").set_outcome(ids[0], "deleted", now)
    AuditLog(engine, "portal-a").begin_restore(ids[0], now)
    AuditLog(engine, "portal-a").finish_restore(ids[0], 900, now)
    hour_ago, a, b = now - timedelta(hours=1), AuditLog(engine, "portal-a"), AuditLog(engine, "portal-b")

    assert (a.count_deleted_since("drop-zero", hour_ago), b.count_deleted_since("drop-zero", hour_ago)) == (
        2,
        0,
    )
    assert (a.last_deletion_at(7, "drop-zero", hour_ago), b.last_deletion_at(7, "drop-zero", hour_ago)) == (
        now,
        None,
    )
    assert (a.restored_items([7]), b.restored_items([7])) == ({(7, 900)}, set())
