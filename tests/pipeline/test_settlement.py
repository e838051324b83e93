"""How a claim ends, in process: done; a transient failure retried after a backoff (no sooner than the
portal's reset time); a permanent failure or the last retry a dead letter, told to Sentry once."""

from __future__ import annotations

from datetime import timedelta

from service.core.backoff import MAX_ATTEMPTS
from service.core.bitrix.errors import OperationTimeLimit, PermanentError, TransientError
from service.pipeline.settlement import Settlement
from service.plumbing.clock import utcnow
from tests.inprocess import Reports, Rig


def settle(world: Rig) -> Settlement:
    return Settlement(world.resources.journal, retry_base=2.0, jitter=lambda: 0.5)


def test_done_finishes_every_event_of_the_claim(world: Rig) -> None:
    events = [world.event(691), world.event(691)]
    [claim] = world.claims()

    settle(world).done(claim, utcnow())

    assert world.statuses() == dict.fromkeys(events, "done")


def test_a_transient_failure_is_retried_after_a_backoff(world: Rig, reports: Reports) -> None:
    event = world.event(691)
    [claim] = world.claims()
    now = utcnow()

    settle(world).failed(claim, TransientError("INTERNAL_SERVER_ERROR", "busy", 500, "batch"), now)

    row = world.event_row(event)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "batch: HTTP 500: INTERNAL_SERVER_ERROR: busy"  # the status named
    assert now < row.available_at <= now + timedelta(seconds=2)
    assert reports == []


def test_an_operation_time_limit_is_retried_no_sooner_than_the_portals_reset(world: Rig) -> None:
    event = world.event(691)
    [claim] = world.claims()
    now = utcnow()
    limit = OperationTimeLimit(method="task.elapseditem.delete", reset_at=now.timestamp() + 300)

    settle(world).failed(claim, limit, now)

    assert world.event_row(event).available_at >= now + timedelta(seconds=299)


def test_a_permanent_failure_is_a_dead_letter_told_to_sentry_once(world: Rig, reports: Reports) -> None:
    events = [world.event(691), world.event(691)]
    [claim] = world.claims()
    error = PermanentError("ACCESS_DENIED", "no right", 403, "task.elapseditem.delete")

    settle(world).failed(claim, error, utcnow(), rule="drop-zero")

    assert world.statuses() == dict.fromkeys(events, "dead")
    assert world.event_row(events[0]).last_error.startswith(
        "permanent: task.elapseditem.delete: HTTP 403: ACCESS_DENIED"
    )
    [(reported, tags)] = reports
    assert reported is error
    searchable = (tags["task_id"], tags["rule"], tags["method"], tags["error_code"])
    assert searchable == (691, "drop-zero", "task.elapseditem.delete", "ACCESS_DENIED")


def test_the_last_retry_is_a_dead_letter(world: Rig, reports: Reports) -> None:
    event = world.event(691)
    for _ in range(MAX_ATTEMPTS - 1):
        [claim] = world.claims()
        world.resources.journal.retry(claim, utcnow(), error="busy", delay=timedelta(0))
    [claim] = world.claims()
    assert claim.attempts == MAX_ATTEMPTS - 1

    settle(world).failed(claim, RuntimeError("still broken"), utcnow())

    row = world.event_row(event)
    assert (row.status, row.last_error) == ("dead", "retries exhausted: RuntimeError: still broken")
    assert len(reports) == 1
