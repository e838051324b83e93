"""What reaches Sentry: no secret by any path (frame locals, messages, context), and one report per
failure episode with a recovery note, however many polls fail during it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from service.core.redaction import Redactor
from service.plumbing.sentry import Episodes, capture_failure, init_sentry

PASSWORD = "pgpa55w0rd-8c7b6a"
CONNINFO = f"host=127.0.0.1 port=5432 user=postgres password={PASSWORD} dbname=test"
TOKEN = "apptoken-5b4a39c2d1e0f9a8"


class Recorder(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope.serialize())

    def events(self) -> list[dict[str, Any]]:
        found = []
        for raw in self.envelopes:
            for line in raw.decode().split("\n"):
                item = json.loads(line) if line.startswith("{") else {}
                if "event_id" in item and "sent_at" not in item:  # an event, not an envelope header
                    found.append(item)
        return found


@pytest.fixture
def sent() -> Iterator[Recorder]:
    recorder = Recorder()
    init_sentry(
        "https://publickey@sentry.example.com/42",
        redactor=Redactor([PASSWORD, TOKEN]),
        component="test",
        transport=recorder,
    )
    yield recorder
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # off again for the other tests


def _connect(conninfo: str, settings: dict[str, str]) -> None:
    # Locals like psycopg's: a connection string with the password, and a settings mapping.
    raise ConnectionError("connection refused")


def test_frames_carry_no_local_variables_and_no_secret_is_sent(sent: Recorder) -> None:
    try:
        _connect(
            CONNINFO, {"b24_application_token": TOKEN, "b24_database_url": f"postgresql://u:{PASSWORD}@h/d"}
        )
    except ConnectionError as error:
        capture_failure(error, {"stage": "test"}, detail=f"dsn={CONNINFO}", token=TOKEN)
    capture_failure(f"could not connect: {CONNINFO}", {"stage": "message"})
    sentry_sdk.flush()
    events = sent.events()
    assert len(events) == 2
    frames = events[0]["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames
    assert all("vars" not in frame for frame in frames)
    raw = b"".join(sent.envelopes).decode()
    assert "connection refused" in raw  # the report itself is there ...
    assert PASSWORD not in raw  # ... without the password
    assert TOKEN not in raw


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_episode_is_one_report_and_one_recovery_note() -> None:
    reports: list[tuple[object, dict[str, Any]]] = []
    clock = FakeClock()
    episodes = Episodes(report=lambda error, tags, **kw: reports.append((error, kw)), clock=clock)
    outage = [ConnectionError("down"), TimeoutError("slow"), ConnectionError("down")] * 7
    for error in outage:  # every poll of a 10 s outage fails, with one error type or another
        episodes.failed("worker-loop", error, {"stage": "worker-loop"})
        clock.now += 0.5
    assert len(reports) == 1
    assert reports[0][1]["fingerprint"] == ["b24rules", "worker-loop", "ConnectionError"]
    episodes.recovered("worker-loop")
    episodes.recovered("worker-loop")  # a second success ends nothing more
    assert len(reports) == 2
    note, options = reports[1]
    assert isinstance(note, str)
    assert note.startswith("recovered: worker-loop works again after 21 failure(s)")
    assert options["level"] == "info"
    episodes.failed("worker-loop", ConnectionError("down again"), {})
    assert len(reports) == 3  # a new outage is a new episode


def test_a_long_episode_is_reminded_hourly_and_areas_are_separate() -> None:
    reports: list[object] = []
    clock = FakeClock()
    episodes = Episodes(
        report=lambda error, tags, **kw: reports.append(error), clock=clock, remind_seconds=3600
    )
    for _ in range(3 * 3600 // 30):  # three hours, a failure every 30 s
        episodes.failed("sweep", RuntimeError("portal down"), {})
        clock.now += 30
    assert len(reports) == 3
    episodes.failed("ingest", RuntimeError("database down"), {})
    assert len(reports) == 4
    episodes.recovered("nothing-open")
    assert len(reports) == 4
