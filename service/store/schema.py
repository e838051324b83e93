"""Schema versions: build the store's tables on a fresh database, upgrade an older one step by step.

`migrate` runs inside one transaction that first takes the installation's lock — `pg_advisory_xact_lock`
keyed by its schema on PostgreSQL, the write lock of `BEGIN IMMEDIATE` on SQLite — so any number of
processes may start at once: the first builds or upgrades, the others wait, then find the work done.
Installations in other schemas of the same database do not wait for it.

- A fresh database gets every table as declared now, and is stamped with the latest version.
- An older database runs each `Migration` newer than its version, in order, then is stamped.
- Tables that a newer release adds are created on every start (only the missing ones), so adding a
  table needs no step; changing an existing table (column, index, type) needs a `Migration`.
- A database newer than this code is refused: running old code on a new schema could lose data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, Integer, Table, inspect, select, text

from service.store.db import installation_lock_space, is_sqlite, metadata, reading

# The advisory lock space of migrations (see db.installation_lock_space); the second key is unused.
_MIGRATION_LOCKS = "b24rules.migrate"

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer release than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _baseline(connection: Connection) -> None:
    metadata.create_all(connection)


def _sweep_entry_watermark(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE sweep_state ADD COLUMN entry_watermark BIGINT"))


# Tables whose key gains the portal (schema version 3): task ids and rule names repeat across portals.
_PORTAL_KEYED = {"task_leases": "task_id", "task_snapshots": "task_id", "tripped_rules": "rule"}


def _portal_keys(connection: Connection) -> None:
    """Add `portal` ('' = the webhook portal) in front of each table's primary key; rows keep their values."""
    for name, column in _PORTAL_KEYED.items():
        if is_sqlite(connection):
            _rebuild_sqlite(connection, name)
            continue
        connection.execute(
            text(f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS portal VARCHAR(64) NOT NULL DEFAULT ''")
        )
        connection.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_pkey"))
        connection.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (portal, {column})"))


def _rebuild_sqlite(connection: Connection, name: str) -> None:
    # SQLite cannot change a primary key in place: copy into the table as declared now, then swap.
    table = metadata.tables[name]
    old = [c.name for c in table.columns if c.name != "portal"]
    connection.execute(text(f"ALTER TABLE {name} RENAME TO {name}_v2"))
    table.create(connection)
    columns = ", ".join(old)
    # Names from our own table definitions, never from input.
    copy = f"INSERT INTO {name} (portal, {columns}) SELECT '', {columns} FROM {name}_v2"  # noqa: S608
    connection.execute(text(copy))
    connection.execute(text(f"DROP TABLE {name}_v2"))


def _status_page_indexes(connection: Connection) -> None:
    _create_indexes(
        connection, ("audit_by_rule_id", "audit_by_outcome", "audit_by_restore_state", "audit_hits")
    )


def _portal_indexes(connection: Connection) -> None:
    _create_indexes(connection, ("events_by_portal", "audit_by_portal"))


def _create_indexes(connection: Connection, wanted: Sequence[str]) -> None:
    """Create the declared indexes named `wanted` on the tables that exist (a table not there yet is
    created after the steps, with its indexes)."""
    from service.store.audit import audit_log
    from service.store.eventlog import events

    for table in (audit_log, events):
        if not connection.dialect.has_table(connection, table.name):
            continue
        for index in table.indexes:
            if index.name in wanted:
                index.create(connection, checkfirst=True)


def _audit_unsettled_outcomes(connection: Connection) -> None:
    """audit_log.outcome may also be `unconfirmed` or `refused` (a delete whose answer did not settle it),
    and each row names its portal ('' for rows written before: the webhook portal's).

    PostgreSQL swaps the CHECK constraint. SQLite cannot alter a constraint: the table is rebuilt as
    declared now (rename, create, copy the columns both have, drop), inside the migration's transaction.
    """
    from service.store.audit import ALL_OUTCOMES, audit_log

    if not connection.dialect.has_table(connection, "audit_log"):
        return  # built as declared now by the create_all that follows every migration
    if not is_sqlite(connection):
        connection.execute(text("ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_outcome"))
        check = f"CHECK (outcome IN {ALL_OUTCOMES!r})"
        connection.execute(text(f"ALTER TABLE audit_log ADD CONSTRAINT audit_outcome {check}"))
        portal = "ADD COLUMN IF NOT EXISTS portal VARCHAR(64) NOT NULL DEFAULT ''"
        connection.execute(text(f"ALTER TABLE audit_log {portal}"))
        return
    old = [str(row[1]) for row in connection.exec_driver_sql("PRAGMA table_info(audit_log)")]
    connection.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_before_v5")
    for index in audit_log.indexes:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    audit_log.create(connection)
    columns = ", ".join(name for name in old if name in audit_log.c)
    copy = f"INSERT INTO audit_log ({columns}) SELECT {columns} FROM audit_log_before_v5"  # noqa: S608 (our own column names)
    connection.exec_driver_sql(copy)
    connection.exec_driver_sql("DROP TABLE audit_log_before_v5")


def _operator_action_portal(connection: Connection) -> None:
    """A table built as declared now already has the column (or is built after the steps)."""
    if not connection.dialect.has_table(connection, "operator_actions"):
        return
    if "portal" not in {column["name"] for column in inspect(connection).get_columns("operator_actions")}:
        connection.execute(
            text("ALTER TABLE operator_actions ADD COLUMN portal VARCHAR(64) NOT NULL DEFAULT ''")
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: journal, leases, snapshots, audit, breakers, sweeps", _baseline),
    Migration(2, "sweep_state.entry_watermark: new time entries are swept by id", _sweep_entry_watermark),
    Migration(3, "portal key on task_leases, task_snapshots, tripped_rules (application mode)", _portal_keys),
    Migration(
        4,
        "status page indexes: audit by rule, outcome, restore state, hits; events by time",
        _status_page_indexes,
    ),
    Migration(5, "audit_log: outcomes unconfirmed, refused; portal", _audit_unsettled_outcomes),
    Migration(6, "operator_actions.portal: the installed portal acted on", _operator_action_portal),
    Migration(7, "events and audit rows by portal: an idle portal reads its own rows", _portal_indexes),
)


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the schema to the latest version of `migrations`; return that version."""
    _check_order(migrations)
    latest = migrations[-1].version
    with engine.begin() as connection:
        _lock(connection)
        schema_version.create(connection, checkfirst=True)
        current = connection.scalar(select(schema_version.c.version).where(schema_version.c.id == 1))
        if current is None:
            metadata.create_all(connection)
            connection.execute(schema_version.insert().values(id=1, version=latest))
            return latest
        if current > latest:
            raise SchemaTooNew(f"database schema version {current} is newer than this release ({latest})")
        for step in migrations:
            if step.version > current:
                step.apply(connection)
        metadata.create_all(connection, checkfirst=True)
        if latest != current:
            connection.execute(schema_version.update().values(version=latest))
    return latest


def current_version(engine: Engine) -> int | None:
    """The stamped version, or None when the database has never been migrated."""
    with reading(engine) as connection:
        if not engine.dialect.has_table(connection, schema_version.name):
            return None
        return connection.scalar(select(schema_version.c.version).where(schema_version.c.id == 1))


def _lock(connection: Connection) -> None:
    # SQLite: the transaction began with BEGIN IMMEDIATE (db.py), which already excludes other writers.
    if not is_sqlite(connection):
        sql = text(f"SELECT pg_advisory_xact_lock({installation_lock_space(':space')}, 0)")
        connection.execute(sql, {"space": _MIGRATION_LOCKS})


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [step.version for step in migrations]
    if not versions or versions != sorted(set(versions)) or versions[0] < 1:
        raise ValueError(f"migrations must have strictly increasing versions from 1, got {versions}")
