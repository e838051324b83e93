"""A throwaway PostgreSQL schema on the shared test server, for tests and benchmarks.

Isolation by `search_path` in the connection options: every connection made from the URL sees only its
own schema, so concurrent runs sharing the `test` database never see each other's rows. Kept free of
pytest so `bench/` can use it too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg

POSTGRES_URL = os.environ.get("B24_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@cache
def postgres_unavailable() -> str | None:
    """Why the server cannot be used (asked once per process), or None when it answers."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}"
    return None


@contextmanager
def throwaway_schema(prefix: str) -> Iterator[str]:
    """A database URL whose connections work in a new, empty schema, dropped (with its rows) on exit."""
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
