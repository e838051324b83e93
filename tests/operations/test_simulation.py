"""`simulate` in process against the sandbox: what the worker would do to one task, read-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.assembly.wiring import make_simulator
from service.operations.simulation import SimulationError
from service.plumbing.clock import utcnow
from service.store.breakers import Breakers
from tests.inprocess import Rig, rig


@pytest.fixture
def world() -> Iterator[Rig]:
    with rig() as made:
        made.task()
        yield made


def test_simulate_explains_each_entry_and_changes_nothing(world: Rig) -> None:
    before = world.entries(691)

    report = make_simulator(world.resources).task(691, "ONTASKUPDATE")

    assert "rule drop-zero [enforce]: applies; selects 2 of 3 entries" in report
    assert "entry 1 (0 s by user 5, created 2025-09-20T10:15:00+03:00, 'timer slip'): WOULD DELETE" in report
    assert "entry 3 (3600 s by user 1" in report
    assert ": keep" in report
    assert "  would delete 2: entries 1, 2 by drop-zero" in report
    assert world.entries(691) == before
    assert world.audit() == []
    assert world.statuses() == {}
    methods = sorted(c["method"] for c in world.sandbox.portal.calls())
    assert methods == ["batch", "task.elapseditem.getlist", "tasks.task.get"]  # reads only, one request


def test_simulate_says_when_a_rule_is_tripped_or_dry_run_is_on() -> None:
    with rig(b24_dry_run=True) as world:
        world.task()
        Breakers(world.resources.engine).trip("drop-zero", "too many", utcnow())

        report = make_simulator(world.resources).task(691, "ONTASKUPDATE")

    assert "B24_DRY_RUN is on" in report
    assert "rule drop-zero is tripped since" in report
    assert "(too many)" in report


def test_simulate_of_a_missing_task_or_broken_rules_is_a_clear_error(world: Rig) -> None:
    with pytest.raises(SimulationError, match="task 5 does not exist"):
        make_simulator(world.resources).task(5, "ONTASKUPDATE")
    with (
        rig("- name: broken\n  on: [NOSUCHEVENT]\n") as broken,
        pytest.raises(SimulationError, match="the rules do not load"),
    ):
        make_simulator(broken.resources).task(691, "ONTASKUPDATE")


def test_simulate_shows_restored_entries_and_the_echo_guard_as_the_worker_treats_them(world: Rig) -> None:
    world.event(691)
    world.drain()  # the rule deletes the two 0 s entries
    echo = make_simulator(world.resources).task(691, "ONTASKUPDATE")
    world.sandbox.portal.add_entry(691, 0, comment="another slip")

    assert "would be skipped: rule acted on this task moments ago (self-echo guard)" in make_simulator(
        world.resources
    ).task(691, "ONTASKUPDATE")
    assert "nothing would be deleted" in echo  # nothing left to select then

    assert [ok for _, ok in world.restore(rule="drop-zero")] == [True, True]
    report = make_simulator(world.resources).task(691, "ONTASKUPDATE")
    restored = sorted(int(e["ID"]) for e in world.entries(691) if e["SECONDS"] == "0")[:2]
    for item in restored:
        assert f"entry {item} (" in report
    fate = "would be skipped: restored by an operator (b24rules restore): never deleted again automatically"
    skipped = [line for line in report.splitlines() if line.startswith("  entry ") and line.endswith(fate)]
    assert len(skipped) == 2
    assert "WOULD DELETE" not in report  # and the echo guard still holds the new one back
