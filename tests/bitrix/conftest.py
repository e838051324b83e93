"""Fixtures for the client tests: a fake portal mounted on a requests session."""

from __future__ import annotations

import pytest
import requests
from b24fake import FakePortal


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal()


@pytest.fixture
def session(portal: FakePortal) -> requests.Session:
    s = requests.Session()
    s.mount("https://", portal)
    s.mount("http://", portal)
    return s
