from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy import event as sqlalchemy_event

from service.store import journal as journal_module
from service.store.claims import LEASE_LOST, QuietWindow
from service.store.journal import Journal, events
from tests.inprocess import commits_writing
from tests.store.conftest import SECRET, task_event

LEASE = timedelta(seconds=30)


@pytest.fixture
def journal(engine: Engine) -> Journal:
    return Journal(engine)


def test_append_claim_complete(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(42, "ONTASKADD"), now)

    [claim] = journal.claim("w1", now, lease=LEASE)

    assert (claim.task_id, claim.event_ids, claim.names, claim.attempts) == (
        42,
        (event_id,),
        ("ONTASKADD",),
        0,
    )
    assert claim.latest.domain == "acme.bitrix24.com"
    assert claim.latest.ts == 1740830400
    assert claim.lease_expires_at == now + LEASE
    assert claim.cause == f"event:{event_id}"
    assert journal.complete(claim, now)
    record = journal.get(event_id)
    assert record is not None
    assert (record.status, record.owner, record.finished_at) == ("done", None, now)
    assert journal.claim("w1", now, lease=LEASE) == []


def test_ignored_events_are_stored_but_never_claimed(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(1), now, status="ignored")

    assert journal.claim("w1", now, lease=LEASE) == []
    record = journal.get(event_id)
    assert record is not None
    assert record.status == "ignored"
    with pytest.raises(ValueError, match="pending or ignored"):
        journal.append(task_event(1), now, status="done")


def test_a_burst_for_one_task_coalesces_into_one_claim(journal: Journal, now: datetime) -> None:
    names = ["ONTASKADD", "ONTASKUPDATE", "ONTASKUPDATE", "ONTASKDELETE", "ONTASKUPDATE"]
    ids = [journal.append(task_event(7, name), now) for name in names]
    other = journal.append(task_event(8), now)

    claims = journal.claim("w1", now, lease=LEASE)

    by_task = {claim.task_id: claim for claim in claims}
    assert by_task[7].event_ids == tuple(ids)
    assert by_task[7].names == ("ONTASKADD", "ONTASKDELETE", "ONTASKUPDATE")  # distinct, latest last
    assert by_task[7].latest.id == ids[-1]
    assert by_task[8].event_ids == (other,)


def test_claims_oldest_tasks_first_up_to_max_tasks(journal: Journal, now: datetime) -> None:
    for task_id in (30, 10, 20):
        journal.append(task_event(task_id), now)

    first = journal.claim("w1", now, lease=LEASE, max_tasks=2)
    second = journal.claim("w1", now, lease=LEASE, max_tasks=2)

    assert sorted(claim.task_id for claim in first) == [10, 30]
    assert [claim.task_id for claim in second] == [20]


def test_a_leased_task_is_not_claimed_again(journal: Journal, now: datetime) -> None:
    journal.append(task_event(5), now)
    [claim] = journal.claim("w1", now, lease=LEASE)
    later_id = journal.append(task_event(5), now + timedelta(seconds=1))

    # Another worker, even with a newer pending event for the task, gets nothing while the lease runs.
    assert journal.claim("w2", now + timedelta(seconds=2), lease=LEASE) == []
    assert journal.get(later_id).status == "pending"  # type: ignore[union-attr]

    # After complete, the event that arrived meanwhile makes one more evaluation of the newer state.
    assert journal.complete(claim, now + timedelta(seconds=3))
    [again] = journal.claim("w2", now + timedelta(seconds=3), lease=LEASE)
    assert again.event_ids == (later_id,)


def test_an_expired_lease_makes_the_task_claimable_again(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(5), now)
    [crashed] = journal.claim("w1", now, lease=LEASE)

    assert journal.claim("w2", now + LEASE - timedelta(microseconds=1), lease=LEASE) == []
    [taken] = journal.claim("w2", now + LEASE, lease=LEASE)

    assert (taken.event_ids, taken.owner, taken.attempts) == ((event_id,), "w2", 1)  # the crash counts
    assert taken.latest.last_error == LEASE_LOST
    # The first worker comes back late: it changes nothing and learns it lost the task.
    assert not journal.complete(crashed, now + LEASE)
    assert journal.heartbeat([crashed], now + LEASE, LEASE) == []
    assert journal.get(event_id).status == "processing"  # type: ignore[union-attr]
    assert journal.complete(taken, now + LEASE)
    assert journal.get(event_id).status == "done"  # type: ignore[union-attr]


def test_heartbeat_extends_the_lease(journal: Journal, now: datetime) -> None:
    journal.append(task_event(5), now)
    [claim] = journal.claim("w1", now, lease=LEASE)

    [renewed] = journal.heartbeat([claim], now + timedelta(seconds=20), LEASE)

    assert renewed.lease_expires_at == now + timedelta(seconds=50)
    assert journal.claim("w2", now + timedelta(seconds=40), lease=LEASE) == []
    assert journal.claim("w2", now + timedelta(seconds=50), lease=LEASE) != []


def test_retry_counts_an_attempt_and_waits_for_the_delay(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(5), now)
    [claim] = journal.claim("w1", now, lease=LEASE)

    assert journal.retry(claim, now, error="503 QUERY_LIMIT_EXCEEDED", delay=timedelta(seconds=10))

    record = journal.get(event_id)
    assert record is not None
    assert (record.status, record.attempts, record.owner) == ("pending", 1, None)
    assert (record.available_at, record.last_error) == (
        now + timedelta(seconds=10),
        "503 QUERY_LIMIT_EXCEEDED",
    )
    assert journal.claim("w2", now + timedelta(seconds=9), lease=LEASE) == []
    [again] = journal.claim("w2", now + timedelta(seconds=10), lease=LEASE)
    assert again.attempts == 1
    assert journal.retry(again, now, error="x" * 5000, delay=timedelta(0))
    assert len(journal.get(event_id).last_error or "") == 2000  # type: ignore[union-attr]


def test_dead_letter_then_replay(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(5), now)
    [claim] = journal.claim("w1", now, lease=LEASE)

    assert journal.dead_letter(claim, now, error="ACCESS_DENIED")

    assert journal.get(event_id).status == "dead"  # type: ignore[union-attr]
    assert journal.stats(now).dead == 1
    assert journal.claim("w1", now, lease=LEASE) == []
    later = now + timedelta(hours=1)
    assert journal.replay(failed=True, now=later) == 1
    [replayed] = journal.claim("w1", later, lease=LEASE)
    assert (replayed.event_ids, replayed.attempts) == ((event_id,), 0)


def test_replay_by_id_takes_finished_events_only(journal: Journal, now: datetime) -> None:
    done_id = journal.append(task_event(1), now)
    journal.complete(journal.claim("w1", now, lease=LEASE)[0], now)
    pending_id = journal.append(task_event(2), now)

    assert journal.replay([done_id, pending_id], now=now) == 1
    assert journal.replay([done_id], failed=True, now=now) == 0  # not dead
    assert {claim.task_id for claim in journal.claim("w1", now, lease=LEASE)} == {1, 2}
    with pytest.raises(ValueError, match="event ids or failed"):
        journal.replay(now=now)


def test_release_gives_the_task_back_without_an_attempt(journal: Journal, now: datetime) -> None:
    event_id = journal.append(task_event(5), now)
    [claim] = journal.claim("w1", now, lease=LEASE)

    assert journal.release(claim)

    [again] = journal.claim("w2", now, lease=LEASE)
    assert (again.event_ids, again.attempts) == ((event_id,), 0)


def test_synthetic_events_coalesce_with_portal_events(journal: Journal, now: datetime) -> None:
    sweep_id = journal.enqueue_task(9, now)
    event_id = journal.append(task_event(9), now)

    [claim] = journal.claim("w1", now, lease=LEASE)

    assert claim.event_ids == (sweep_id, event_id)
    assert claim.sources == ("sweep", "event")
    assert claim.cause == f"event:{sweep_id},{event_id}"
    journal.complete(claim, now)
    journal.enqueue_task(9, now, source="replay")
    assert journal.claim("w1", now, lease=LEASE)[0].cause == "replay"


def test_prune_deletes_old_done_and_ignored_but_keeps_dead_letters(journal: Journal, now: datetime) -> None:
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    ignored_id = journal.append(task_event(1), old, status="ignored")
    for task_id, moment, finish in ((2, old, "complete"), (3, old, "dead"), (4, recent, "complete")):
        journal.append(task_event(task_id), moment)
        [claim] = journal.claim("w1", moment, lease=LEASE)
        if finish == "complete":
            journal.complete(claim, moment)
        else:
            journal.dead_letter(claim, moment, error="boom")
    pending_id = journal.append(task_event(5), old)

    assert journal.prune(now, done_older_than=timedelta(days=30)) == 2

    left = {record.task_id: record.status for record in journal.find()}
    assert left == {3: "dead", 4: "done", 5: "pending"}
    assert journal.get(ignored_id) is None
    assert journal.get(pending_id) is not None


def test_stats_and_find(journal: Journal, now: datetime) -> None:
    journal.append(task_event(1), now - timedelta(seconds=90))
    journal.append(task_event(2), now - timedelta(seconds=30))
    journal.append(task_event(3), now - timedelta(seconds=10))
    [claim] = journal.claim("w1", now, lease=LEASE, max_tasks=1)

    stats = journal.stats(now)

    assert (stats.pending, stats.processing, stats.dead) == (2, 1, 0)
    assert stats.oldest_pending_age_seconds == 30.0
    assert [record.task_id for record in journal.find()] == [3, 2, 1]
    assert [record.task_id for record in journal.find("processing")] == [claim.task_id]
    assert [record.task_id for record in journal.find(task_id=2)] == [2]
    assert journal.stats(now).oldest_pending_age_seconds > 0
    assert journal.find(limit=1)[0].task_id == 3


def _dead(journal: Journal, task_id: int, at: datetime) -> int:
    event_id = journal.append(task_event(task_id), at)
    [claim] = journal.claim("w1", at, lease=LEASE, max_tasks=1)
    assert journal.dead_letter(claim, at, error="ACCESS_DENIED")
    return event_id


def test_newest_dead_are_the_last_to_die(journal: Journal, now: datetime) -> None:
    early = _dead(journal, 1, now - timedelta(hours=3))
    late = _dead(journal, 2, now - timedelta(hours=1))
    journal.append(task_event(3), now)  # pending: never listed
    journal.replay([early], failed=True, now=now)  # received first, dies last
    [claim] = journal.claim("w1", now, lease=LEASE, max_tasks=1)
    assert journal.dead_letter(claim, now, error="ACCESS_DENIED")

    assert [record.id for record in journal.newest_dead(10)] == [early, late]
    assert [record.id for record in journal.newest_dead(1)] == [early]


def test_a_portals_journal_counts_and_lists_its_own_queue(journal: Journal, now: datetime) -> None:
    ours, theirs = journal.for_portal("m-0f3c"), journal.for_portal("m-other")
    _dead(journal, 1, now - timedelta(minutes=5))
    theirs.enqueue_task(2, now - timedelta(minutes=9))
    ours.enqueue_task(3, now - timedelta(minutes=2))

    assert (ours.stats(now).dead, ours.stats(now).pending) == (1, 1)
    assert ours.stats(now).oldest_pending_age_seconds == 120.0
    assert (theirs.stats(now).dead, theirs.stats(now).pending) == (0, 1)
    assert theirs.newest_dead(10) == []
    assert len(ours.newest_dead(10)) == 1
    everyone = journal.stats(now)  # the webhook portal's journal ('' portal) sees every row
    assert (everyone.dead, everyone.pending, everyone.oldest_pending_age_seconds) == (1, 2, 540.0)


def test_the_journal_never_stores_credentials(journal: Journal, engine: Engine, now: datetime) -> None:
    journal.append(task_event(1), now)

    columns = {column.name for column in events.columns}
    assert not {name for name in columns if "token" in name or "auth" in name}
    with engine.connect() as connection:
        row = connection.execute(select(events)).one()
    assert SECRET not in repr(tuple(row))


def test_naive_datetimes_are_refused(journal: Journal, now: datetime) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        journal.append(task_event(1), now.replace(tzinfo=None))


def test_many_tasks_are_queued_at_once_as_sweep_events_that_coalesce(journal: Journal, now: datetime) -> None:
    journal.append(task_event(7), now)
    assert journal.enqueue_tasks([7, 8, 9], now) == 3

    claims = journal.claim("w1", now, lease=LEASE, max_tasks=10)

    assert {c.task_id: c.sources for c in claims} == {7: ("event", "sweep"), 8: ("sweep",), 9: ("sweep",)}
    with pytest.raises(ValueError, match="source"):
        journal.enqueue_tasks([1], now, source="nowhere")


def test_a_big_sweep_is_queued_in_bounded_write_transactions(
    journal: Journal, engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each holds SQLite's write lock briefly, so the web's commits never wait behind a whole back-fill."""
    monkeypatch.setattr(journal_module, "ENQUEUE_CHUNK", 2)
    inserts = commits_writing(engine, ("INSERT INTO EVENTS",))
    assert journal.enqueue_tasks([1, 2, 3, 4, 5], now) == 5
    assert len(inserts) == 3
    assert sorted(c.task_id for c in journal.claim("w1", now, lease=LEASE, max_tasks=10)) == [1, 2, 3, 4, 5]


def test_unknown_sources_are_refused(journal: Journal, now: datetime) -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        journal.enqueue_task(1, now, source="cron")


def test_settling_holds_a_task_until_its_events_stop_then_claims_them_together(
    journal: Journal, now: datetime
) -> None:
    quiet = QuietWindow(quiet=timedelta(seconds=2), patience=timedelta(seconds=10))
    first = journal.append(task_event(7), now)
    second = journal.append(task_event(7), now + timedelta(seconds=1))

    assert journal.claim("w1", now + timedelta(seconds=2), lease=LEASE, quiet=quiet) == []
    [claim] = journal.claim("w1", now + timedelta(seconds=3), lease=LEASE, quiet=quiet)

    assert claim.event_ids == (first, second)


def test_settling_gives_up_waiting_for_quiet_after_its_patience(journal: Journal, now: datetime) -> None:
    quiet = QuietWindow(quiet=timedelta(seconds=2), patience=timedelta(seconds=10))
    for second in range(0, 11):  # an event every second: the task never goes quiet
        journal.append(task_event(7), now + timedelta(seconds=second))

    assert journal.claim("w1", now + timedelta(seconds=9), lease=LEASE, quiet=quiet) == []
    [claim] = journal.claim("w1", now + timedelta(seconds=10), lease=LEASE, quiet=quiet)
    assert len(claim.event_ids) == 11


def test_settling_does_not_hold_back_a_retry(journal: Journal, now: datetime) -> None:
    quiet = QuietWindow(quiet=timedelta(seconds=2), patience=timedelta(seconds=10))
    journal.append(task_event(7), now)
    [claim] = journal.claim("w1", now, lease=LEASE)
    journal.retry(claim, now, error="503", delay=timedelta(seconds=1))

    assert journal.claim("w1", now + timedelta(seconds=1), lease=LEASE, quiet=quiet) != []


IDLE = QuietWindow(quiet=timedelta(seconds=2), patience=timedelta(seconds=10), idle=2)


def test_a_lone_event_is_claimed_at_once_when_nothing_else_waits(journal: Journal, now: datetime) -> None:
    first = journal.append(task_event(7), now)

    [claim] = journal.claim("w1", now, lease=LEASE, quiet=IDLE)
    assert claim.event_ids == (first,)


def test_events_piling_up_are_held_for_the_quiet_window(journal: Journal, now: datetime) -> None:
    for task_id in (7, 8, 7):  # three events wait: more than `idle`
        journal.append(task_event(task_id), now)

    assert journal.claim("w1", now + timedelta(seconds=1), lease=LEASE, quiet=IDLE) == []
    claims = journal.claim("w1", now + timedelta(seconds=2), lease=LEASE, quiet=IDLE)
    assert sorted(len(claim.event_ids) for claim in claims) == [1, 2]


def test_a_rounds_claims_complete_in_one_go_except_a_lost_lease(journal: Journal, now: datetime) -> None:
    first, second = journal.append(task_event(7), now), journal.append(task_event(8), now)
    mine = journal.claim("w1", now, lease=LEASE)
    theirs = journal.claim("w2", now + LEASE, lease=LEASE)  # w1's leases expired: w2 took both over

    assert journal.complete_many(mine, now) == 0
    assert journal.complete_many(theirs, now) == 2
    assert [journal.get(event_id).status for event_id in (first, second)] == ["done", "done"]  # type: ignore[union-attr]


def test_a_round_of_tasks_is_claimed_with_one_lease_upsert_and_one_events_update(
    journal: Journal, engine: Engine, now: datetime
) -> None:
    """Not two statements per task (the worker's CPU): a lease still held is skipped, an expired one is
    taken over with its attempt counted, free tasks are leased, all in the same two statements."""
    expired = journal.append(task_event(2), now - LEASE)
    journal.claim("w3", now - LEASE, lease=LEASE)  # w3 dies: its lease on task 2 runs out at `now`
    held = journal.append(task_event(1), now - LEASE + timedelta(seconds=1))
    journal.claim("w2", now - LEASE + timedelta(seconds=1), lease=3 * LEASE)  # w2 holds task 1
    fresh = {task_id: journal.append(task_event(task_id), now) for task_id in range(10, 30)}
    writes = lease_and_event_writes(engine)

    claims = journal.claim("w1", now, lease=LEASE, max_tasks=100)

    by_task = {claim.task_id: claim for claim in claims}
    assert sorted(by_task) == [2, *range(10, 30)]
    assert (by_task[2].event_ids, by_task[2].attempts, by_task[2].latest.last_error) == (
        (expired,),
        1,
        LEASE_LOST,
    )
    assert all(by_task[t].event_ids == (e,) and by_task[t].attempts == 0 for t, e in fresh.items())
    assert {c.owner for c in claims} == {"w1"}
    assert journal.get(held).owner == "w2"  # type: ignore[union-attr]
    assert writes == ["INSERT INTO task_leases", "UPDATE events"]


def lease_and_event_writes(engine: Engine) -> list[str]:
    """The statements writing task leases or events, from now on (what they write to)."""
    writes: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        words = " ".join(statement.split()[:3]).removesuffix(" SET")
        if words.upper().startswith(("INSERT INTO TASK_LEASES", "UPDATE EVENTS")):
            writes.append(words)

    sqlalchemy_event.listen(engine, "before_cursor_execute", seen)
    return writes


def test_a_steady_trickle_is_held_although_the_worker_keeps_up(journal: Journal, now: datetime) -> None:
    """Events already claimed still count as arrivals: a trickle is not idleness."""
    for second in range(3):
        journal.append(task_event(10 + second), now + timedelta(seconds=second * 0.5))
        journal.claim("w1", now + timedelta(seconds=second * 0.5), lease=LEASE, quiet=IDLE)
    journal.append(task_event(7), now + timedelta(seconds=1.5))  # the 4th event within 2 s

    assert journal.claim("w1", now + timedelta(seconds=1.5), lease=LEASE, quiet=IDLE) == []
