"""Every store suite runs twice: on a SQLite file and on the real PostgreSQL server (marked `postgres`).

PostgreSQL isolation: each test gets its own schema (tests/pgschema.py), dropped afterwards, so
concurrent test runs sharing the `test` database never see each other's rows.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from service.core.events import TaskEvent
from service.store.db import open_database
from tests.pgschema import postgres_unavailable, throwaway_schema

SECRET = "s3cr3t-application-token"


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
    if reason := postgres_unavailable():
        pytest.skip(reason)
    with throwaway_schema("store_test") as url:
        yield url


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
