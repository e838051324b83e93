from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, inspect, select, text

from service.store.db import UtcDateTime, make_engine, metadata, open_database
from service.store.schema import MIGRATIONS, Migration, SchemaTooNew, current_version, migrate, schema_version

EXPECTED_TABLES = {
    "schema_version",
    "events",
    "task_leases",
    "task_snapshots",
    "audit_log",
    "tripped_rules",
    "sweep_state",
    "rate_buckets",
}


def test_a_fresh_database_gets_every_table_and_the_latest_version(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    assert current_version(engine) == MIGRATIONS[-1].version


def test_opening_again_changes_nothing(db_url: str, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO tripped_rules (rule, reason, tripped_at) VALUES ('r', 'x', :t)"),
            {"t": "2025-01-01 00:00:00"},
        )

    open_database(db_url).dispose()

    assert current_version(engine) == MIGRATIONS[-1].version
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM tripped_rules")) == 1


def test_current_version_of_a_never_migrated_database(db_url: str) -> None:
    assert current_version(make_engine(db_url)) is None


def _add_flag_column(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE sweep_state ADD COLUMN flag INTEGER"))
    connection.execute(
        text("INSERT INTO tripped_rules (rule, reason, tripped_at) VALUES ('step-2', '', :t)"),
        {"t": datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
    )


def test_newer_steps_run_once_in_order(engine: Engine) -> None:
    steps = [*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "add sweep_state.flag", _add_flag_column)]

    assert migrate(engine, steps) == steps[-1].version
    assert migrate(engine, steps) == steps[-1].version  # a second start runs nothing

    assert "flag" in {column["name"] for column in inspect(engine).get_columns("sweep_state")}
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM tripped_rules WHERE rule = 'step-2'")) == 1
    with pytest.raises(SchemaTooNew, match="newer than this release"):
        migrate(engine, MIGRATIONS)


def test_tables_added_by_a_newer_release_are_created_without_a_step(engine: Engine) -> None:
    added = Table("store_test_added", MetaData(), Column("id", Integer, primary_key=True))
    added.to_metadata(metadata)
    try:
        migrate(engine)
        assert "store_test_added" in inspect(engine).get_table_names()
    finally:
        metadata.remove(metadata.tables["store_test_added"])


def test_migrations_must_be_ordered(engine: Engine) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        migrate(engine, [MIGRATIONS[0], MIGRATIONS[0]])
    with engine.connect() as connection:
        assert connection.scalar(select(schema_version.c.version)) == MIGRATIONS[-1].version


def test_times_come_back_as_aware_utc(engine: Engine) -> None:
    probe = Table(
        "store_test_times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UtcDateTime())
    )
    probe.create(engine)
    moscow = datetime(2025, 3, 1, 15, 30, 0, 123456, tzinfo=timezone(timedelta(hours=3)))
    with engine.begin() as connection:
        connection.execute(probe.insert().values(id=1, at=moscow))
        stored = connection.scalar(select(probe.c.at))
        earlier = connection.scalar(select(probe.c.id).where(probe.c.at < moscow + timedelta(microseconds=1)))
    assert stored == moscow
    assert stored.tzinfo == UTC
    assert earlier == 1


STATUS_PAGE_INDEXES = {
    "audit_by_rule_id",
    "audit_by_outcome",
    "audit_by_restore_state",
    "audit_hits",
}


def test_a_database_from_before_the_status_page_gets_its_indexes(engine: Engine) -> None:
    def indexes() -> set[str]:
        found = inspect(engine).get_indexes("audit_log") + inspect(engine).get_indexes("events")
        return {str(index["name"]) for index in found}

    assert indexes() >= STATUS_PAGE_INDEXES  # a fresh database has them
    with engine.begin() as connection:
        for name in STATUS_PAGE_INDEXES:
            connection.execute(text(f"DROP INDEX {name}"))
        before = next(m.version for m in MIGRATIONS if m.description.startswith("status page indexes"))
        connection.execute(schema_version.update().values(version=before - 1))
    assert not STATUS_PAGE_INDEXES & indexes()

    assert migrate(engine) == MIGRATIONS[-1].version
    assert indexes() >= STATUS_PAGE_INDEXES


def test_version_7_indexes_events_and_audit_rows_by_portal_and_keeps_every_event(engine: Engine) -> None:
    from datetime import UTC, datetime

    from service.store.journal import Journal

    def indexes() -> set[str]:
        found = inspect(engine).get_indexes("events") + inspect(engine).get_indexes("audit_log")
        return {str(index["name"]) for index in found}

    Journal(engine).for_portal("m" * 32).enqueue_tasks([1, 2, 3], datetime.now(UTC))
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX events_by_portal"))
        connection.execute(text("DROP INDEX audit_by_portal"))
        connection.execute(schema_version.update().values(version=6))
    assert not {"events_by_portal", "audit_by_portal"} & indexes()

    assert migrate(engine) == MIGRATIONS[-1].version
    assert {"events_by_portal", "audit_by_portal"} <= indexes()
    assert len(Journal(engine).for_portal("m" * 32).find(limit=10)) == 3


V4_OUTCOMES = ("pending", "shadow", "dry-run", "tripped", "skipped", "deleted", "gone", "failed")


def _audit_log_as_at_version_4(engine: Engine) -> None:
    """Put back audit_log's version-4 CHECK (no unconfirmed, no refused) and stamp version 4."""
    from service.store.audit import ALL_OUTCOMES

    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            query = "SELECT sql FROM sqlite_master WHERE name = 'audit_log'"
            sql = connection.exec_driver_sql(query).scalar()
            assert repr(ALL_OUTCOMES) in str(sql)
            connection.exec_driver_sql("DROP TABLE audit_log")
            connection.exec_driver_sql(str(sql).replace(repr(ALL_OUTCOMES), repr(V4_OUTCOMES)))
        else:
            connection.execute(text("ALTER TABLE audit_log DROP CONSTRAINT audit_outcome"))
            check = f"CHECK (outcome IN {V4_OUTCOMES!r})"
            connection.execute(text(f"ALTER TABLE audit_log ADD CONSTRAINT audit_outcome {check}"))
        connection.execute(schema_version.update().values(version=4))


def test_version_5_lets_audit_rows_be_unconfirmed_and_keeps_every_row(engine: Engine) -> None:
    from dataclasses import replace

    from sqlalchemy.exc import IntegrityError

    from service.store.audit import AuditLog
    from tests.store.test_audit import DRAFT

    now = datetime(2025, 3, 1, tzinfo=UTC)
    _audit_log_as_at_version_4(engine)
    audit = AuditLog(engine)
    [kept, lost] = audit.record([DRAFT, replace(DRAFT, item_id=302)], now)
    audit.set_outcome(kept, "deleted", now)
    with pytest.raises(IntegrityError):  # what a lost answer could not be recorded as before
        audit.set_outcome(lost, "unconfirmed", now)

    assert migrate(engine) == MIGRATIONS[-1].version

    assert audit.set_outcome(lost, "unconfirmed", now)
    assert [(r.id, r.outcome, r.entry) for r in audit.get([kept, lost])] == [
        (kept, "deleted", DRAFT.entry),
        (lost, "unconfirmed", DRAFT.entry),
    ]
    indexes = {index["name"] for index in inspect(engine).get_indexes("audit_log")}
    assert {"audit_by_task", "audit_by_rule", "audit_by_time"} <= indexes
    assert "audit_log_before_v5" not in inspect(engine).get_table_names()


def test_version_6_records_the_portal_of_each_operator_action_and_keeps_old_ones(engine: Engine) -> None:
    from service.store.operatoractions import OperatorActions

    now = datetime.now(UTC)
    OperatorActions(engine).record(
        actor="Ann (token)", action="rearm", target="r", ok=True, detail="x", now=now
    )
    with engine.begin() as connection:  # operator_actions as release 5 built it: no portal column
        connection.execute(text("ALTER TABLE operator_actions DROP COLUMN portal"))
        connection.execute(schema_version.update().values(version=5))

    assert migrate(engine) == MIGRATIONS[-1].version

    [old] = OperatorActions(engine).recent()
    assert (old.actor, old.portal) == ("Ann (token)", "")
    assert OperatorActions(engine, "m" * 32).recent() == []
