"""The database connection: one SQLAlchemy engine and one MetaData for every table of the store.

Each store module (journal, snapshots, audit, rate bucket, …) declares its own tables on `metadata`;
`open_database` imports them all and creates what is missing. SQLite (embedded default) runs in WAL mode
with a busy timeout so that the web and worker processes can share one file; PostgreSQL is used as is.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url

metadata = MetaData()

# Every module that declares tables on `metadata`; imported before create_all so none is forgotten.
TABLE_MODULES: tuple[str, ...] = (
    "service.store.journal",
    "service.store.snapshots",
    "service.store.audit",
    "service.store.ratebucket",
    "service.store.breakers",
)


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, preparing SQLite files and pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so BEGIN IMMEDIATE works.
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: object) -> None:
    # Writers serialise at BEGIN instead of failing on lock upgrade mid-transaction.
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def open_database(url: str) -> Engine:
    """Engine for `url` with every table of the store created (idempotent, safe to run concurrently)."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    engine = make_engine(url)
    metadata.create_all(engine, checkfirst=True)
    return engine
