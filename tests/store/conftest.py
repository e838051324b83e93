"""Every store suite runs twice: on a SQLite file and on the real PostgreSQL server (marked `postgres`).

PostgreSQL isolation: each test gets its own schema (`search_path` in the connection options), dropped
afterwards, so concurrent test runs sharing the `test` database never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache

import psycopg
import pytest
from sqlalchemy import Engine

from service.core.events import TaskEvent
from service.store.db import open_database

POSTGRES_URL = os.environ.get("B24_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "s3cr3t-application-token"


@cache
def _postgres_unavailable() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}"
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL to an empty database of each kind."""
    if request.param == "sqlite":
        # Not tmp_path: pytest sessions running at once on this machine prune each other's basetemp.
        directory = tempfile.mkdtemp(prefix="b24rules-store-")
        try:
            yield f"sqlite:///{directory}/store.sqlite3"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if reason := _postgres_unavailable():
        pytest.skip(reason)
    schema = f"store_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def now() -> datetime:
    return datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def task_event(task_id: int, name: str = "ONTASKUPDATE", ts: int | None = 1740830400) -> TaskEvent:
    return TaskEvent(
        name=name,
        task_id=task_id,
        ts=ts,
        handler_id="7",
        domain="acme.bitrix24.com",
        member_id="m-0f3c",
        application_token=SECRET,
    )
