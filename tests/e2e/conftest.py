from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from tests.e2e.harness import SentryReceiver

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is `e2e`, so `pytest -m 'not e2e'` is the fast suite. (A `pytestmark`
    in a conftest marks nothing: it applies to the tests of its own module only.)"""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sentry() -> Iterator[SentryReceiver]:
    receiver = SentryReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
