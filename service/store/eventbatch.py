"""Many accepted events in one INSERT on the driver's connection: the web intake's group commit.

This is the hot path of `POST /bitrix24/events`, so it skips SQLAlchemy Core's per-statement work.
Measured on the 2-core bench machine, a multi-row insert through Core ("insertmanyvalues") cost
~220 µs of CPU per batch plus ~20 µs per row (statement cache key, per-row bind processing, pool
reset); this costs ~120 µs plus ~5 µs per row on SQLite and a third of Core's on PostgreSQL. The
statement is built once per engine from the `events` table's columns (a column added or renamed
there fails here at import, not silently):

- SQLite: `INSERT … VALUES (…), (…) RETURNING id` with one placeholder group per event (one string
  per batch size, cached). Rows get rowids in VALUES order while the write lock is held.
- PostgreSQL: `INSERT … SELECT … FROM unnest(arrays) WITH ORDINALITY ORDER BY ordinality RETURNING
  id`: one statement text for every batch size, so psycopg prepares it once; the sequence hands out
  ids in the ORDER BY order (the same guarantee SQLAlchemy's `sort_by_parameter_order` relies on).

Both return ids in no promised order, so they are sorted: the i-th smallest id is the i-th event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine

from service.store.db import is_sqlite, sqlite_write_turn
from service.store.eventlog import IGNORED, events

# (name, task_id, ts, handler_id, domain, member_id, status) of one event.
EventRow = tuple[str, int, int | None, str, str, str, str]

_GIVEN = ("name", "task_id", "ts", "handler_id", "domain", "member_id", "status")
_CONSTANT = ("source", "attempts", "received_at", "available_at", "finished_at")
_LEFT_EMPTY = ("id", "owner", "last_error")  # generated, or NULL until a worker sets them
if set(events.c.keys()) != {*_GIVEN, *_CONSTANT, *_LEFT_EMPTY}:
    raise RuntimeError("eventbatch.py does not list every column of `events`: update it with the table")
_COLUMNS = ", ".join((*_GIVEN, *_CONSTANT))


@cache
def _sqlite_statement(rows: int) -> str:
    # source 'event', attempts 0; received_at, available_at, finished_at are bound per row.
    group = "(?, ?, ?, ?, ?, ?, ?, 'event', 0, ?, ?, ?)"
    values = ", ".join([group] * rows)
    return f"INSERT INTO events ({_COLUMNS}) VALUES {values} RETURNING id"  # noqa: S608 (our constants)


_POSTGRES_STATEMENT = (
    f"INSERT INTO events ({_COLUMNS}) "  # noqa: S608 (our constants; every value is bound)
    "SELECT t.name, t.task_id, t.ts, t.handler_id, t.domain, t.member_id, t.status, 'event', 0, "
    "%(now)s, %(now)s, CASE WHEN t.status = %(ignored)s THEN %(now)s::timestamptz END "
    "FROM unnest(%(name)s::varchar[], %(task_id)s::bigint[], %(ts)s::bigint[], %(handler_id)s::varchar[], "
    "%(domain)s::varchar[], %(member_id)s::varchar[], %(status)s::varchar[]) "
    "WITH ORDINALITY AS t(name, task_id, ts, handler_id, domain, member_id, status, position) "
    "ORDER BY t.position RETURNING id"
)


class EventBatchInsert:
    """Inserts batches of events on one engine, each batch one transaction; ids in the rows' order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = is_sqlite(engine)
        # The column type's own conversion (UtcDateTime: aware UTC; SQLite: its fixed text format).
        processor = events.c.received_at.type.bind_processor(engine.dialect)
        self._stamp: Callable[[datetime], Any] = processor or (lambda value: value)

    def insert(self, rows: Sequence[EventRow], now: datetime) -> list[int]:
        if not rows:
            return []
        stamp = self._stamp(now)
        connection = self._engine.raw_connection()
        try:
            if self._sqlite:
                with sqlite_write_turn(self._engine):
                    ids = self._insert_sqlite(connection, rows, stamp)
            else:
                ids = self._insert_postgres(connection, rows, stamp)
        finally:
            connection.close()  # back to the pool
        if len(ids) != len(rows):
            raise RuntimeError(f"inserted {len(rows)} events but got {len(ids)} ids back")
        return sorted(ids)

    @staticmethod
    def _insert_sqlite(connection: Any, rows: Sequence[EventRow], stamp: object) -> list[int]:
        params: list[object] = []
        for row in rows:
            params.extend(row)
            params += (stamp, stamp, stamp if row[6] == IGNORED else None)
        cursor = connection.cursor()
        try:
            # The engine's connections run in autocommit mode (see db.py): the transaction is ours.
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(_sqlite_statement(len(rows)), params)
                ids = [int(found[0]) for found in cursor.fetchall()]
                cursor.execute("COMMIT")
            except BaseException:
                if connection.driver_connection.in_transaction:
                    connection.rollback()
                raise
        finally:
            cursor.close()
        return ids

    @staticmethod
    def _insert_postgres(connection: Any, rows: Sequence[EventRow], stamp: object) -> list[int]:
        columns = list(zip(*rows, strict=True))
        params: dict[str, object] = {name: list(values) for name, values in zip(_GIVEN, columns, strict=True)}
        params.update(now=stamp, ignored=IGNORED)
        cursor = connection.cursor()
        try:
            cursor.execute(_POSTGRES_STATEMENT, params)
            ids = [int(found[0]) for found in cursor.fetchall()]
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
        return ids
