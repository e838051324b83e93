"""A dead letter shows where an operator looks — `b24rules dead-letters`, `/readyz` and Sentry — with the
HTTP status of the failure: here, a portal behind a gateway answering HTML 503 until retries run out."""

from __future__ import annotations

from datetime import timedelta

from service.assembly.webwiring import web_parts
from service.assembly.wiring import make_gateway, make_processor
from service.core.backoff import MAX_ATTEMPTS
from service.operations.deadletters import dead_letters, table
from service.plumbing.clock import utcnow
from service.sandbox import apply_config
from service.web.app import create_app
from tests.inprocess import Reports, Rig


def test_an_outage_that_outlasts_the_retries_is_a_visible_dead_letter(world: Rig, reports: Reports) -> None:
    event = world.event(world.task())
    journal = world.resources.journal
    for _ in range(MAX_ATTEMPTS - 1):  # the retries so far, all failed
        [claim] = world.claims()
        journal.retry(claim, utcnow(), error="busy", delay=timedelta(0))
    apply_config(world.sandbox.portal, {"faults": {"fail_all_for": 600, "fail_all_status": 503}})

    make_processor(world.resources, make_gateway(world.resources)).run(world.claims())

    assert world.statuses() == {event: "dead"}
    [(_, tags)] = reports
    assert (tags["task_id"], tags["http_status"], tags["method"]) == (691, 503, "batch")
    [letter] = dead_letters(journal)
    assert (letter.task_id, letter.event_ids, letter.attempts) == (691, (event,), MAX_ATTEMPTS)
    assert "HTTP 503" in letter.last_error
    assert "HTTP 503" in table([letter])
    readyz = create_app(web_parts(world.resources)).test_client().get("/readyz")
    assert readyz.status_code == 200
    assert readyz.json["dead_letters"]["events"] == 1  # type: ignore[index]
