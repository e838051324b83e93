from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.operatoractions import MAX_DETAIL_CHARS, OperatorActions


def test_actions_are_kept_with_who_did_them_newest_first(engine: Engine, now: datetime) -> None:
    actions = OperatorActions(engine)
    first = actions.record(actor="Ann (token)", action="restore", target="14", ok=True, detail="ok", now=now)
    later = now + timedelta(minutes=1)
    second = actions.record(
        actor="Bob (token)", action="rearm", target="r", ok=False, detail="x" * 9000, now=later
    )

    assert [a.id for a in actions.recent()] == [second, first]
    assert [a.id for a in actions.recent(before=second)] == [first]
    got = actions.get(first)
    assert got is not None
    assert (got.actor, got.action, got.target, got.ok, got.at) == ("Ann (token)", "restore", "14", True, now)
    kept = actions.get(second)
    assert kept is not None
    assert len(kept.detail) == MAX_DETAIL_CHARS
    assert not kept.ok
    assert actions.get(second + 100) is None
