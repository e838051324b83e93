"""One processing round in process (`Processor`): from claims to deletions on the sandbox portal, and how
each claim is settled when the task is gone, the portal fails, or no rule set has loaded."""

from __future__ import annotations

import pytest
from sqlalchemy import event as sqlalchemy_event

from service.assembly.wiring import make_gateway, make_processor
from service.bitrix.portal import PortalGateway
from service.core.bitrix.errors import TransientError
from service.pipeline.rounds import Processor
from service.plumbing.clock import utcnow
from service.store.snapshots import TaskSnapshots
from tests.inprocess import Rig, commits_writing, rig


def processor_of(world: Rig) -> tuple[Processor, PortalGateway]:
    gateway = make_gateway(world.resources)
    return make_processor(world.resources, gateway), gateway


def test_a_round_deletes_what_the_rules_select_and_settles_its_claims(world: Rig) -> None:
    first, second = world.event(world.task()), world.event(691)
    processor, _ = processor_of(world)

    assert processor.run(world.claims())

    assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]
    assert world.statuses() == {first: "done", second: "done"}  # two events, one evaluation
    records = world.audit(691)
    assert [(r.item_id, r.rule, r.mode, r.outcome) for r in records] == [
        (1, "drop-zero", "enforce", "deleted"),
        (2, "drop-zero", "enforce", "deleted"),
    ]
    assert records[0].cause == f"event:{first},{second}"
    snapshot = TaskSnapshots(world.resources.engine).get(691)
    assert snapshot is not None
    assert snapshot.status == 3


def test_a_task_gone_from_the_portal_is_done_with_nothing_recorded(world: Rig) -> None:
    event = world.event(world.task())
    world.sandbox.portal.delete_task(691)
    processor, _ = processor_of(world)

    assert processor.run(world.claims())

    assert world.statuses() == {event: "done"}
    assert world.audit() == []


def test_a_portal_failure_puts_the_claim_back_for_a_retry(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = world.event(world.task())
    processor, gateway = processor_of(world)

    def unavailable(*_args: object) -> object:
        raise TransientError("INTERNAL_SERVER_ERROR", "try later", 500, "batch")

    monkeypatch.setattr(gateway, "fetch", unavailable)

    assert processor.run(world.claims())

    row = world.event_row(event)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "INTERNAL_SERVER_ERROR" in row.last_error
    assert row.available_at > row.received_at  # backed off
    assert len(world.entries(691)) == 3


def test_without_a_loaded_rule_set_the_claims_go_back_untouched() -> None:
    with rig("- name: broken\n  on: [NOSUCHEVENT]\n") as world:
        event = world.event(world.task())
        processor, _ = processor_of(world)

        assert not processor.run(world.claims())

        row = world.event_row(event)
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
        assert world.sandbox.portal.calls() == []


def test_a_task_deleted_on_the_portal_is_done_without_a_request_and_its_snapshot_forgotten(
    world: Rig,
) -> None:
    snapshots = TaskSnapshots(world.resources.engine)
    snapshots.put(691, 5, utcnow())
    event = world.resources.journal.enqueue_task(691, utcnow(), source="event", name="ONTASKDELETE")
    processor, _ = processor_of(world)

    assert processor.run(world.claims())

    assert world.statuses() == {event: "done"}
    assert world.sandbox.portal.calls() == []  # no rule listens to ONTASKDELETE: nothing to read
    assert snapshots.get(691) is None


def test_a_round_settles_its_tasks_in_two_commits_whatever_their_number(world: Rig) -> None:
    """Done claims and snapshots are written once per round, not once per task: the worker's CPU."""
    quiet = ({"seconds": 600},)  # nothing to delete: the round only reads and settles
    events = [world.event(world.task(task_id, quiet)) for task_id in range(700, 720)]
    claims = world.claims()
    processor, _ = processor_of(world)
    settling = settling_commits(world)

    assert processor.run(claims)

    assert world.statuses() == dict.fromkeys(events, "done")
    snapshots = TaskSnapshots(world.resources.engine).get_many(range(700, 720))
    assert {task: snap.status for task, snap in snapshots.items()} == dict.fromkeys(range(700, 720), 3)
    assert len(settling) == 2  # the snapshots, then the claims: was two per task (40)


def settling_commits(world: Rig) -> list[str]:
    """Commits of transactions that wrote the journal's events or the task snapshots."""
    return commits_writing(world.resources.engine, ("UPDATE EVENTS", "INSERT INTO TASK_SNAPSHOTS"))


@pytest.mark.parametrize("seconds", [600, 0], ids=["nothing to delete", "one deletion per task"])
def test_a_round_runs_as_many_statements_for_20_tasks_as_for_5(seconds: int) -> None:
    """No statement per task (the worker's CPU per task): the claim, the snapshots, the audit rows, the
    echo guard's look-up, the deletions' outcomes, the decided tasks and the settling are set-wise."""
    counts = []
    for tasks in (5, 20):
        with rig() as world:
            task_ids = range(700, 700 + tasks)
            events = [
                world.event(world.task(task_id, ({"seconds": 600}, {"seconds": seconds})))
                for task_id in task_ids
            ]
            statements = executed(world)

            assert world.drain() == 1

            assert world.statuses() == dict.fromkeys(events, "done")
            deleted = [r.task_id for r in world.audit() if r.outcome == "deleted"]
            assert deleted == ([] if seconds else list(task_ids))
            counts.append(len(statements))
    assert counts[0] == counts[1], f"{counts[0]} statements for 5 tasks, {counts[1]} for 20"


def executed(world: Rig) -> list[str]:
    """Every statement the engine sends to the database from now on."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sqlalchemy_event.listen(world.resources.engine, "before_cursor_execute", seen)
    return statements
