"""/readyz counts the dead letters (an operator's cue) without turning the pod unready for them."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.plumbing.clock import utcnow


def test_readyz_reports_dead_letters_and_stays_ready(client: FlaskClient, resources: Resources) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json is not None
    assert answer.json["dead_letters"] == {"events": 0, "see": None}

    journal, now = resources.journal, utcnow()
    for _ in range(2):
        journal.enqueue_task(691, now, source="event")
    [claim] = journal.claim("w", now, lease=timedelta(seconds=30))
    journal.dead_letter(claim, now, error="batch: HTTP 503: ERROR_UNEXPECTED_ANSWER")

    answer = client.get("/readyz")
    assert answer.status_code == 200  # a dead letter is for a person to act on, not a restart
    assert answer.json is not None
    assert answer.json["status"] == "ready"
    assert answer.json["dead_letters"] == {"events": 2, "see": "b24rules dead-letters"}
