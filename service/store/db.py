"""The database connection: one SQLAlchemy engine and one MetaData for every table of the store.

Each store module (journal, snapshots, audit, rate bucket, …) declares its own tables on `metadata`;
`open_database` imports them all and brings the schema up to date (see `schema.py`). SQLite (embedded
default) runs in WAL mode with a busy timeout so that the web and worker processes can share one file;
every writing transaction starts with `BEGIN IMMEDIATE`, so writers queue at BEGIN instead of failing
with "database is locked" on a lock upgrade; reads (`reading`) start a deferred `BEGIN` and never wait
behind a writer. PostgreSQL runs at READ COMMITTED; the modules make their writes atomic with upserts,
conditional updates and advisory locks.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    exc,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

metadata = MetaData()

# Every module that declares tables on `metadata`; imported before the schema is built so none is forgotten.
TABLE_MODULES: tuple[str, ...] = (
    "service.store.journal",
    "service.store.snapshots",
    "service.store.audit",
    "service.store.ratebucket",
    "service.store.breakers",
    "service.store.sweeps",
    "service.store.portals",
    "service.store.offline",
    "service.store.operatoractions",
    "service.store.notices",
    "service.store.fingerprints",
    "service.store.decided",
    "service.store.portalchecks",
    "service.store.wakeups",
)

# Surrogate keys: BIGINT on PostgreSQL, but INTEGER on SQLite so that the column aliases the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")

_READ_ONLY = "b24rules_read_only"
_BUSY_SECONDS = 30  # how long a SQLite connection waits for another's lock


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines; naive datetimes are refused, not guessed.

    SQLite has no time zone type: values are stored as naive UTC text in one fixed format, so string
    comparison in SQL orders them correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, preparing SQLite files and pragmas."""
    parsed = make_url(url)
    serializer = partial(json.dumps, default=_json_default, ensure_ascii=False)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": _BUSY_SECONDS, "check_same_thread": False},
            json_serializer=serializer,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so BEGIN IMMEDIATE works.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, json_serializer=serializer)


def _json_default(value: object) -> str:
    # Traces and entries may carry typed facts; store dates as ISO 8601 rather than fail.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_SECONDS * 1000}")
    _switch_to_wal(cursor)
    # FULL, not WAL's usual NORMAL: an event acknowledged with 200 must survive a power cut, not only a
    # process crash. Measured cost: append median 0.2 → 0.4 ms, p99 0.4 → 2 ms.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    # Switching a new file to WAL takes its exclusive lock without SQLite's busy handler: when several
    # processes open a fresh database at once (gunicorn workers, a worker), one of them got "database is
    # locked" at once and failed to boot (seen in e2e; 1 round in 15 with 6 processes opening at once).
    # Retry for as long as the busy timeout would have waited; a file already in WAL needs no lock.
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    # Writers serialise at BEGIN instead of failing on lock upgrade mid-transaction; readers don't queue.
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_outage(error: BaseException) -> bool:
    """The database cannot be reached or used at all (gone, locked, disconnected, disk error), as
    opposed to refusing the values of one statement (DataError, IntegrityError, …)."""
    # psycopg is imported by SQLAlchemy when a PostgreSQL engine connects, not here: on SQLite (`serve`)
    # no process loads it (~10 MB). Without it loaded, no psycopg error can exist.
    psycopg = sys.modules.get("psycopg")
    drivers = (psycopg.OperationalError, psycopg.InterfaceError) if psycopg is not None else ()
    return isinstance(error, (*_OUTAGES, *drivers))


_OUTAGES = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    exc.OperationalError,
    exc.InterfaceError,
    OSError,
)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it does not take the write lock."""
    with engine.connect() as connection:
        connection.execution_options(**{_READ_ONLY: True})
        with connection.begin():
            yield connection


@contextmanager
def sqlite_write_turn(engine: Engine) -> Iterator[None]:
    """Queue for the SQLite file's write lock in the kernel (a lock file), not in SQLite's busy handler.

    For writers that commit back to back, like the web intake: SQLite's busy handler polls, sleeping
    1, 2, 5 … 100 ms between tries, while the writer that just committed takes the lock again at once.
    Two web processes committing back to back starved each other that way (measured: p99 1.5 s, some
    requests past the intake's 5 s wait). `flock` wakes the waiter as soon as the holder lets go.
    The worker's claims and completions take their turns too (`slices.py`); its other writers still
    meet these at SQLite's lock. A no-op on PostgreSQL.
    """
    database = engine.url.database or ""
    if not is_sqlite(engine) or not database or database == ":memory:":
        yield
        return
    descriptor = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def installation_lock_space(name_parameter: str) -> str:
    """SQL for the first key of a two-key PostgreSQL advisory lock: `name` within this installation.

    Advisory locks belong to the whole database, but an installation is a schema (`search_path`): two
    installations, or two test schemas, sharing one database must not take each other's locks. Hashing
    the schema into the key keeps their lock spaces apart (`hashtext` is int4, as the key must be).
    """
    return f"hashtext({name_parameter} || '@' || coalesce(current_schema(), ''))"


def upsert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that accepts `on_conflict_do_update` / `on_conflict_do_nothing` on both engines."""
    if is_sqlite(connection):
        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql  # loaded by a PostgreSQL engine already (see is_outage)

    return postgresql.insert(table)


def open_database(url: str, *, existing: bool = False) -> Engine:
    """Engine for `url` with the schema created or migrated (idempotent, safe to run concurrently).
    `existing`: only a database b24rules already made is migrated; NoDatabase otherwise (never created)."""
    if existing:
        open_existing_database(url).dispose()
    for module in TABLE_MODULES:
        importlib.import_module(module)
    engine = make_engine(url)
    from service.store.schema import migrate  # schema builds on this module's metadata

    migrate(engine)
    return engine


class NoDatabase(Exception):
    """A read-only command found no b24rules database at B24_DATABASE_URL (it never creates one)."""


def shown_url(url: str) -> str:
    """The database URL as a person may see it: the password masked (in the userinfo, and as the
    `password` query parameter libpq takes too), a SQLite path made absolute."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    shown = parsed.render_as_string(hide_password=True)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", shown, flags=re.IGNORECASE)


def open_existing_database(url: str) -> Engine:
    """Engine for a database b24rules already made, for commands that only read: no file, folder or
    table is created and nothing is migrated; NoDatabase (naming the URL, password masked) otherwise."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise NoDatabase(f"no database at {shown_url(url)}")
    engine = make_engine(url)
    from service.store.schema import current_version

    try:
        version = current_version(engine)
    except exc.SQLAlchemyError:
        engine.dispose()
        raise
    if version is None:
        engine.dispose()
        raise NoDatabase(f"{shown_url(url)} holds no b24rules data (the service has never run on it)")
    return engine
