"""Which database errors are an outage (the database cannot be used at all) and which refuse one
statement's values; and the PostgreSQL driver stays unloaded where SQLite is used (`serve`'s memory)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import psycopg
import pytest

from service.store.db import is_outage


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (psycopg.OperationalError("connection refused"), True),
        (psycopg.InterfaceError("connection already closed"), True),
        (OSError("disk I/O error"), True),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
        (psycopg.DataError("integer out of range"), False),
    ],
)
def test_outages_are_told_from_refused_values(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage


def test_the_service_does_not_load_the_postgresql_driver_until_an_engine_needs_it() -> None:
    """Every process of `serve` imports the service: psycopg and SQLAlchemy's PostgreSQL dialect would
    be ~10 MB of it that SQLite never uses."""
    code = (
        "import sys, service.cli, service.assembly.wiring\n"
        "print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'sqlalchemy.dialects.postgresql'))))"
    )
    command = [sys.executable, "-c", code]
    loaded = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert loaded.stdout.strip() == "[]"
