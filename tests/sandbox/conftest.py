"""Fixtures: a sandbox portal on a loopback port, driven by a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from service.sandbox import SandboxServer, seed_demo

START = 1758870000.0  # 2025-09-26T10:00:00+03:00


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Client:
    """A deliberately dumb client: sends exactly what the test gives it."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()

    def call(self, method: str, json: Any = None, *, data: Any = None, base: str | None = None,
             timeout: float = 5) -> requests.Response:  # fmt: skip
        url = (base or self.server.webhook_url) + method
        return self.session.post(url, json=json, data=data, timeout=timeout)

    def control(self, verb: str, path: str, json: Any = None) -> requests.Response:
        return self.session.request(verb, f"{self.server.url}/_sandbox{path}", json=json, timeout=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(clock=clock) as server:
        seed_demo(server.portal)
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Client:
    return Client(sandbox)
