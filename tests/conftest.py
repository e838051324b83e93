"""Fixtures shared by the in-process tests (tests/inprocess.py's rig: the sandbox portal and the real
components on one database)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from service.pipeline import settlement
from tests.inprocess import Reports, Rig, rig


@pytest.fixture
def world() -> Iterator[Rig]:
    """A rig with the shipped defaults (a module needing other settings defines its own `world`)."""
    with rig() as made:
        yield made


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> Reports:
    """What settlement would have sent to Sentry: (error, tags) per report."""
    captured: Reports = []

    def capture(error: BaseException | str, tags: Mapping[str, object], **_context: object) -> None:
        captured.append((error, tags))

    monkeypatch.setattr(settlement, "capture_failure", capture)
    return captured
