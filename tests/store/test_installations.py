"""Two installations in two schemas of one PostgreSQL database never block each other: advisory locks
are database-wide, so their keys carry the schema (claims and migrations alike)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from service.store.claims import try_lock
from service.store.db import open_database
from service.store.journal import Journal
from service.store.schema import _lock as take_migration_lock
from tests.pgschema import postgres_unavailable, throwaway_schema
from tests.store.conftest import task_event

pytestmark = pytest.mark.postgres
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TASKS = range(1, 21)


@pytest.fixture
def two_installations() -> Iterator[tuple[Engine, Engine]]:
    if reason := postgres_unavailable():
        pytest.skip(reason)
    with throwaway_schema("install_a") as url_a, throwaway_schema("install_b") as url_b:
        engines = open_database(url_a), open_database(url_b)
        try:
            yield engines
        finally:
            for engine in engines:
                engine.dispose()


def test_both_claim_the_same_task_ids_while_the_other_is_mid_claim(
    two_installations: tuple[Engine, Engine],
) -> None:
    first, second = two_installations
    for engine in (first, second):
        journal = Journal(engine)
        for task_id in TASKS:
            journal.append(task_event(task_id), NOW)
    # The first installation is in the middle of a claim: its transaction holds the advisory lock of
    # every task id it took, until it commits.
    with first.begin() as connection:
        held = [task_id for task_id in TASKS if try_lock(connection, "", task_id)]  # as a claim takes them
        assert held == list(TASKS)
        # The second claims the very same ids at that moment: none is skipped as "being taken".
        taken = Journal(second).claim("b", NOW, lease=timedelta(seconds=60), max_tasks=len(TASKS))
        assert sorted(c.task_id for c in taken) == list(TASKS)


def test_a_migration_in_one_schema_does_not_hold_up_the_other(
    two_installations: tuple[Engine, Engine],
) -> None:
    first, second = two_installations
    finished = threading.Event()

    def start_second() -> None:
        open_database(second.url.render_as_string(hide_password=False)).dispose()
        finished.set()

    with first.begin() as connection:
        take_migration_lock(connection)  # the first installation is migrating right now
        starter = threading.Thread(target=start_second, daemon=True)
        starter.start()
        assert finished.wait(timeout=15), "the second installation waited for the first one's migration"
    starter.join(timeout=15)
