"""`restore` in process against the sandbox: each deleted entry comes back as it was (seconds, comment,
author, date), once; a refusal leaves it restorable, an unknown outcome leaves it for the operator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from service.bitrix.portal import PortalGateway
from service.core.bitrix.errors import PermanentError, TransientError
from tests.inprocess import BLANK, SLIP, Rig, rig

KEPT = ("SECONDS", "COMMENT_TEXT", "USER_ID", "CREATED_DATE")


@pytest.fixture
def world() -> Iterator[Rig]:
    with rig() as made:
        made.event(made.task())
        made.drain()
        assert len(made.entries(691)) == 1
        yield made


def kept(entry: Mapping[str, object]) -> tuple[object, ...]:
    return tuple(entry[key] for key in KEPT)


def test_restore_brings_each_entry_back_as_it_was_with_its_author_and_date(world: Rig) -> None:
    records = world.audit(691)

    results = world.restore(*(r.id for r in records))

    assert all(ok for _, ok in results), results
    back = {kept(e) for e in world.entries(691) if e["SECONDS"] == "0"}
    assert back == {kept(r.entry) for r in records}
    # What the audit record holds is what the entry was: the author and date of the sample entries.
    assert {(r.entry["USER_ID"], r.entry["COMMENT_TEXT"]) for r in records} == {
        (str(SLIP["user_id"]), SLIP["comment"]),
        (str(BLANK["user_id"]), BLANK["comment"]),
    }
    restored = world.audit(691)
    assert all(r.shown_outcome == "restored" and r.restored_item_id for r in restored)
    assert {r.restored_item_id for r in restored} == {int(str(e["ID"])) for e in world.entries(691)} - {3}


def test_a_second_restore_creates_nothing(world: Rig) -> None:
    ids = [r.id for r in world.audit(691)]
    world.restore(*ids)

    again = world.restore(*ids)
    by_rule = world.restore(rule="drop-zero")

    assert all("already restored" in line for line, _ in again)
    assert by_rule == []  # restored records are no longer `deleted`
    assert len(world.entries(691)) == 3


def test_a_refusal_leaves_the_record_restorable(world: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    record = world.audit(691)[0]

    def refuse(self: PortalGateway, *_args: object, **_kwargs: object) -> int:
        raise PermanentError("ACCESS_DENIED", "not allowed", 403, "task.elapseditem.add")

    with monkeypatch.context() as patch:
        patch.setattr(PortalGateway, "add_entry", refuse)
        [(line, ok)] = world.restore(record.id)
    assert not ok
    assert "the portal refused" in line
    assert "run restore again" in line
    assert world.audit(691)[0].restore_state is None

    [(line, ok)] = world.restore(record.id)
    assert ok
    assert "restored as entry" in line


def test_an_unknown_outcome_is_left_for_the_operator_then_forced(
    world: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = world.audit(691)[0]

    def time_out(self: PortalGateway, *_args: object, **_kwargs: object) -> int:
        raise TransientError("TIMEOUT", "no answer", None, "task.elapseditem.add")

    with monkeypatch.context() as patch:
        patch.setattr(PortalGateway, "add_entry", time_out)
        [(line, ok)] = world.restore(record.id)
    assert not ok
    assert "outcome unknown" in line
    assert f"restore --force {record.id}" in line

    [(line, ok)] = world.restore(record.id)  # without --force: never a second copy
    assert not ok
    assert "did not finish" in line
    [(line, ok)] = world.restore(record.id, force=True)
    assert ok
    assert "restored as entry" in line
    assert len(world.entries(691)) == 2


def test_records_with_nothing_to_restore_say_why(world: Rig) -> None:
    [(line, ok)] = world.restore(999)

    assert (line, ok) == ("audit 999: no such record", False)
