"""Fixtures for the client tests: a fake portal mounted on a requests session, a rate bucket."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
import requests
from b24fake import FakePortal

from service.store.db import make_engine, metadata
from service.store.ratebucket import SqlRateBucket, method_pauses, rate_buckets


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture
def session(portal: FakePortal) -> requests.Session:
    s = requests.Session()
    s.mount("https://", portal)
    s.mount("http://", portal)
    return s


@pytest.fixture
def rate_bucket() -> Iterator[SqlRateBucket]:
    """The shared limiter's bucket on an empty SQLite file (its two tables only)."""
    # Not tmp_path: pytest sessions running at once on this machine prune each other's basetemp.
    directory = tempfile.mkdtemp(prefix="b24rules-bucket-")
    engine = make_engine(f"sqlite:///{directory}/bucket.sqlite3")
    metadata.create_all(engine, tables=[rate_buckets, method_pauses])
    try:
        yield SqlRateBucket(engine)
    finally:
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)
