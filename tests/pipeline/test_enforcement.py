"""The enforcer in process: the brakes between a plan and the portal — entries an operator restored,
our own update echoing back, dry-run, the hourly budget — and audit rows written before anything is sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from service.bitrix.portal import PortalGateway
from service.core.bitrix.errors import TransientError
from service.core.policy import RESTORED
from service.pipeline import enforcement
from service.plumbing.clock import utcnow
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from tests.inprocess import Rig, rig


def outcomes(world: Rig, task_id: int = 691) -> list[tuple[int, str]]:
    return [(r.item_id, r.shown_outcome) for r in world.audit(task_id)]


def test_entries_an_operator_restored_are_never_deleted_again(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next event comes long after the deletion, as far as the self-echo guard can tell: only the
    # restore keeps the rule, which still selects the 0 s entries, from deleting them again.
    monkeypatch.setattr(enforcement, "ECHO_WINDOW", timedelta(0))
    world.event(world.task())
    world.drain()
    world.restore(rule="drop-zero")
    restored = sorted(int(e["ID"]) for e in world.entries(691) if e["SECONDS"] == "0")
    assert len(restored) == 2

    world.event(691)
    world.drain()

    assert sorted(int(e["ID"]) for e in world.entries(691) if e["SECONDS"] == "0") == restored
    skipped = world.audit(691)[2:]
    assert sorted((r.item_id, r.outcome) for r in skipped) == [(item, "skipped") for item in restored]
    assert all(RESTORED in r.reason for r in skipped)


def test_the_rules_own_update_echoing_back_deletes_nothing_more(world: Rig) -> None:
    world.event(world.task())
    world.drain()
    # Moments later an event arrives for the task (the portal echoing our deletion), and a new 0 s
    # entry is there: the self-echo guard keeps the rule from acting on the task again so soon.
    slip = world.sandbox.portal.add_entry(691, 0, user_id=1, comment="new slip")
    world.event(691)
    world.drain()

    assert [e["COMMENT_TEXT"] for e in world.entries(691)] == ["real work", "new slip"]
    assert outcomes(world)[-1] == (slip.id, "skipped")
    assert "self-echo" in world.audit(691)[-1].reason


def test_dry_run_records_what_it_would_delete_and_deletes_nothing() -> None:
    with rig(b24_dry_run=True) as world:
        world.event(world.task())
        world.drain()

        assert len(world.entries(691)) == 3
        assert outcomes(world) == [(1, "dry-run"), (2, "dry-run")]


def test_over_its_hourly_budget_a_rule_trips_and_stays_tripped() -> None:
    with rig(b24_max_deletions_per_hour=1) as world:
        world.event(world.task())
        world.drain()

        assert len(world.entries(691)) == 3
        assert outcomes(world) == [(1, "tripped"), (2, "tripped")]
        assert "B24_MAX_DELETIONS_PER_HOUR" in world.audit(691)[0].reason
        assert set(Breakers(world.resources.engine).tripped()) == {"drop-zero"}


def test_a_failed_delete_is_on_record_and_the_claim_is_retried(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = world.event(world.task())

    def unavailable(self: PortalGateway, items: object) -> object:
        raise TransientError("INTERNAL_SERVER_ERROR", "try later", 500, "batch")

    monkeypatch.setattr(PortalGateway, "delete", unavailable)
    world.drain()

    records = world.audit(691)
    assert [(r.item_id, r.outcome) for r in records] == [(1, "failed"), (2, "failed")]
    assert all(r.error and "try later" in r.error for r in records)
    row = world.event_row(event)
    assert (row.status, row.attempts) == ("pending", 1)
    assert len(world.entries(691)) == 3


def test_a_deletion_another_worker_settled_meanwhile_is_counted_once(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that took over a lapsed claim may settle the rows (from its read) while the first
    worker's delete answer is still on its way: b24rules_deletions_total counts each deletion once."""

    def counted() -> float:
        labels = {"rule": "drop-zero", "outcome": "deleted"}
        return REGISTRY.get_sample_value("b24rules_deletions_total", labels) or 0.0

    delete = PortalGateway.delete

    def settled_by_another_worker_first(self: PortalGateway, items: list[tuple[int, int]]) -> object:
        answers = delete(self, items)
        AuditLog(world.resources.engine).set_outcomes([(r.id, "deleted", None) for r in world.audit(691)],
                                                      utcnow())  # fmt: skip
        return answers

    world.event(world.task())
    monkeypatch.setattr(PortalGateway, "delete", settled_by_another_worker_first)
    before = counted()
    world.drain()

    assert [r.outcome for r in world.audit(691)] == ["deleted", "deleted"]
    assert counted() - before == 0  # counted by the worker that settled them, not again here


def test_a_late_owners_deleted_answer_overrides_the_failed_a_takeover_read_recorded(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first owner of a claim, alive but past its lease, sends its delete; meanwhile the worker that
    took the claim over read the entries still there and settled the owner's rows `failed`. The portal
    then deletes them and answers "deleted": the rows say deleted, and restore brings the entries back."""
    delete = PortalGateway.delete

    def read_by_a_takeover_worker_first(self: PortalGateway, items: list[tuple[int, int]]) -> object:
        failed = [(r.id, "failed", "still there") for r in world.audit(691)]
        AuditLog(world.resources.engine).set_outcomes(failed, utcnow())
        return delete(self, items)

    world.event(world.task())
    monkeypatch.setattr(PortalGateway, "delete", read_by_a_takeover_worker_first)
    world.drain()
    monkeypatch.setattr(PortalGateway, "delete", delete)

    assert [(r.outcome, r.error) for r in world.audit(691)] == [("deleted", None), ("deleted", None)]
    assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]
    world.restore(rule="drop-zero")
    assert sorted(e["SECONDS"] for e in world.entries(691)) == ["0", "0", "3600"]
