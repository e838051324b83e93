from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from tests.e2e.harness import SentryReceiver

pytestmark = pytest.mark.e2e


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
