"""No audit row is left open: a delete whose answer was lost, refused or never recorded ends deleted (by
us, restorable), gone (by someone else) or failed (still there) once its task is read again."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from service.assembly.wiring import make_gateway, make_processor, make_sweeper
from service.bitrix.portal import PortalGateway, TaskState
from service.core.bitrix import BitrixError
from service.pipeline.rounds import Processor
from service.plumbing.clock import utcnow
from service.store.audit import AuditDraft, AuditLog
from tests.e2e.workload import successful_deletes
from tests.inprocess import Rig, rig
from tests.pipeline.conftest import AnswerLoss


@pytest.fixture
def world() -> Iterator[Rig]:
    with rig(b24_retry_base_seconds=0.01) as made:
        yield made


class Round:
    def __init__(self, world: Rig) -> None:
        self.world = world
        self.gateway: PortalGateway = make_gateway(world.resources)
        self.loss = AnswerLoss(self.gateway)
        self.processor: Processor = make_processor(world.resources, self.gateway)

    def run(self, later: timedelta = timedelta(0)) -> int:
        """Claim what is due (`later` from now) and run one round on it."""
        time.sleep(0.03)  # past the tiny retry delay
        lease = timedelta(minutes=1)
        claims = self.world.resources.journal.claim("w1", utcnow() + later, lease=lease, max_tasks=100)
        if claims:
            self.processor.run(claims)
        return len(claims)


def outcomes(world: Rig) -> dict[int, str]:
    return {r.item_id: r.outcome for r in world.audit()}


def zero_ids(world: Rig) -> list[int]:
    return [int(e["ID"]) for e in world.entries(691) if e["SECONDS"] == "0"]


def test_a_lost_answer_is_settled_deleted_by_the_rounds_own_reread(world: Rig) -> None:
    event = world.event(world.task())
    zero = zero_ids(world)
    round_ = Round(world)
    round_.loss.deletes = 1

    round_.run()

    assert outcomes(world) == dict.fromkeys(zero, "deleted")
    assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]
    assert world.statuses() == {event: "done"}  # nothing left to retry
    assert all("answer was lost" in (r.error or "") for r in world.audit())


def test_when_the_reread_fails_too_the_next_read_of_the_task_settles_it(world: Rig) -> None:
    event = world.event(world.task())
    zero = zero_ids(world)
    round_ = Round(world)
    round_.loss.deletes = round_.loss.rereads = 1

    round_.run()
    assert outcomes(world) == dict.fromkeys(zero, "unconfirmed")
    assert world.statuses() == {event: "pending"}  # retried: the round could not confirm its work

    assert round_.run() == 1
    assert outcomes(world) == dict.fromkeys(zero, "deleted")
    assert world.statuses() == {event: "done"}
    assert len(world.audit()) == 2  # the retry found nothing more to do: no second row
    assert set(successful_deletes(world.sandbox.portal)) == set(zero)

    # Every entry deleted by us is restorable, once.
    assert [ok for _, ok in world.restore(rule="drop-zero")] == [True, True]
    assert len(world.entries(691)) == 3
    assert world.restore(rule="drop-zero") == []
    assert len(world.entries(691)) == 3


def test_rows_a_dead_worker_left_pending_are_settled_by_the_next_round(world: Rig) -> None:
    world.event(world.task())
    zero = zero_ids(world)
    # The dead worker claimed the task, wrote both rows, sent the first delete (the portal ran it), died.
    world.resources.journal.claim("dead", utcnow(), lease=timedelta(0))
    draft = AuditDraft(691, zero[0], "drop-zero", "v", "enforce", "pending", {"ID": str(zero[0])}, [],
                       "entry.seconds eq 0", "event:1")  # fmt: skip
    second = replace(draft, item_id=zero[1], entry={"ID": str(zero[1])})
    AuditLog(world.resources.engine).record([draft, second], utcnow())
    world.sandbox.portal.delete_entry(zero[0])

    assert Round(world).run() == 1  # the lease ran out: taken over

    assert [(r.item_id, r.outcome) for r in world.audit()] == [
        (zero[0], "deleted"),  # absent: the dead worker's delete ran
        (zero[1], "failed"),  # still there: never sent; this round deletes it under a row of its own
        (zero[1], "deleted"),
    ]
    assert "still there" in (world.audit()[1].error or "")
    assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]


def test_not_found_counts_gone_only_once_a_read_shows_the_entry_absent(world: Rig) -> None:
    world.event(world.task())
    zero = zero_ids(world)
    round_ = Round(world)
    fetch = round_.gateway.fetch

    def read_then_someone_deletes(
        task_ids: Sequence[int], select: Sequence[str], with_history: Iterable[int] = ()
    ) -> dict[int, TaskState | BitrixError]:
        states = fetch(task_ids, select, with_history)
        world.sandbox.portal.delete_entry(zero[0])  # between our read and our delete
        return states

    round_.gateway.fetch = read_then_someone_deletes  # type: ignore[method-assign]
    round_.run()

    assert outcomes(world) == {zero[0]: "gone", zero[1]: "deleted"}
    gone = next(r for r in world.audit() if r.outcome == "gone")
    assert "already absent" in (gone.error or "")


def test_not_found_while_the_entry_is_still_there_is_failed_never_gone(world: Rig) -> None:
    from service.sandbox import apply_config

    event = world.event(world.task())
    zero = zero_ids(world)
    # What a webhook that cannot see the entry gets (the kernel's #512), while the entry stays put.
    not_found = "TASKS_ERROR_EXCEPTION_#512; Check listitem not found or not accessible; 512/TE/…"
    forced = {"code": "ERROR_CORE", "status": 400, "description": not_found}
    apply_config(world.sandbox.portal, {"faults": {"forced": {"task.elapseditem.delete": forced}}})

    Round(world).run()

    assert outcomes(world) == dict.fromkeys(zero, "failed")  # not counted gone: the read saw them
    assert all("still there" in (r.error or "") for r in world.audit())
    assert len(world.entries(691)) == 3  # nothing was deleted
    assert world.statuses() == {event: "dead"}  # permanent: an operator is told, not a silent success


def test_the_sweeper_requeues_tasks_with_open_rows_and_no_event(world: Rig) -> None:
    world.event(world.task())
    zero = zero_ids(world)
    round_ = Round(world)
    round_.loss.deletes = round_.loss.rereads = 1
    round_.run()
    journal = world.resources.journal
    [claim] = world.claims()  # its retry ends as a dead letter: no event of the task waits any more
    journal.dead_letter(claim, utcnow(), error="gave up")
    sweeper = make_sweeper(world.resources, round_.gateway, owner="sweeper")

    first = sweeper.run_once(utcnow())
    assert first is not None
    assert first.unsettled == 0  # too fresh: it may belong to a round still running
    later = sweeper.run_once(utcnow() + timedelta(minutes=5))
    assert later is not None
    assert later.unsettled == 1
    assert round_.run(later=timedelta(minutes=5)) == 1
    assert outcomes(world) == dict.fromkeys(zero, "deleted")


def test_the_settling_reread_reads_every_page_of_a_long_task(world: Rig) -> None:
    from service.sandbox import apply_config

    entries = tuple({"seconds": 60, "comment": f"n{n}"} for n in range(120))
    world.task(700, entries)
    apply_config(world.sandbox.portal, {"elapsed_page_cap": True})  # the docs' 50 rows per answer

    [ids] = make_gateway(world.resources).entry_ids([700]).values()

    assert ids == frozenset(int(e["ID"]) for e in world.entries(700))
    assert isinstance(ids, frozenset)
    assert len(ids) == 120  # an entry past the first page is never taken for deleted
