"""Two installed portals in one database: one portal's deletions never spend another portal's hourly
budget, trip its rule, or count as its echo (rule names and task ids repeat across portals)."""

from __future__ import annotations

from service.assembly.wiring import assemble_worker, make_gateway
from service.core.events import TaskEvent
from service.plumbing.clock import utcnow
from service.store.breakers import Breakers
from tests.inprocess import BLANK, SLIP, WORK, Rig, rig


def _event(world: Rig, portal: str, task_id: int) -> None:
    event = TaskEvent("ONTASKUPDATE", task_id, None, "7", f"{portal}.example", portal, "token")
    world.resources.journal.append(event, utcnow())


def _drain(world: Rig, portal: str) -> None:
    gateway = make_gateway(world.resources)
    assemble_worker(world.resources, gateway, None, owner="w1", sweep=False, portal=portal).drain(20)


def _outcomes(world: Rig, task_id: int) -> list[str]:
    return [record.outcome for record in world.audit(task_id)]


def test_a_noisy_portal_spends_only_its_own_hourly_budget() -> None:
    # The portals' tasks live on one sandbox here, so they get distinct ids; each portal's worker
    # claims only its own events.
    with rig(b24_max_deletions_per_hour=2) as world:
        for task_id in (691, 692, 693):
            world.task(task_id, (SLIP, BLANK, WORK))
        _event(world, "noisy", 691)
        _drain(world, "noisy")  # two deletions: the noisy portal's budget for drop-zero is spent
        _event(world, "noisy", 692)
        _drain(world, "noisy")
        _event(world, "quiet", 693)
        _drain(world, "quiet")

        assert _outcomes(world, 691) == ["deleted", "deleted"]
        assert _outcomes(world, 692) == ["tripped", "tripped"]  # the budget is real
        assert Breakers(world.resources.engine, "noisy").is_tripped("drop-zero")
        # The quiet portal's drop-zero still enforces: its entries are deleted, its rule not tripped.
        assert _outcomes(world, 693) == ["deleted", "deleted"]
        assert [e["COMMENT_TEXT"] for e in world.entries(693)] == ["real work"]
        assert not Breakers(world.resources.engine, "quiet").is_tripped("drop-zero")
        assert {r.portal for r in world.audit(693)} == {"quiet"}
