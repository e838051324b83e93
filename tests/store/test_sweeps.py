from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.sweeps import SweepState

LEASE = timedelta(minutes=5)


def test_one_leader_at_a_time(engine: Engine, now: datetime) -> None:
    first, second = SweepState(engine), SweepState(engine)

    assert first.try_lead("a", now, LEASE)
    assert not second.try_lead("b", now + timedelta(minutes=1), LEASE)
    assert first.try_lead("a", now + timedelta(minutes=4), LEASE)  # renew
    assert not second.try_lead("b", now + timedelta(minutes=8), LEASE)
    assert second.try_lead("b", now + timedelta(minutes=9), LEASE)  # a's lease ran out
    assert not first.try_lead("a", now + timedelta(minutes=9), LEASE)


def test_release_hands_over_at_once(engine: Engine, now: datetime) -> None:
    state = SweepState(engine)
    state.try_lead("a", now, LEASE)

    assert not state.release("b")
    assert state.release("a")
    assert state.try_lead("b", now, LEASE)


def test_the_watermark_only_moves_forward(engine: Engine, now: datetime) -> None:
    state = SweepState(engine)
    assert state.watermark() is None

    assert state.advance(now, now)
    assert not state.advance(now - timedelta(hours=1), now)
    assert state.watermark() == now
    assert state.try_lead("a", now, LEASE)  # leading keeps the watermark
    assert state.advance(now + timedelta(minutes=15), now)
    assert state.watermark() == now + timedelta(minutes=15)


def test_named_sweeps_are_independent(engine: Engine, now: datetime) -> None:
    assert SweepState(engine, "tasks").try_lead("a", now, LEASE)
    assert SweepState(engine, "other").try_lead("b", now, LEASE)
    SweepState(engine, "other").advance(now, now)
    assert SweepState(engine, "tasks").watermark() is None
