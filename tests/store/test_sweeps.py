from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, inspect, text

from service.store.db import make_engine
from service.store.schema import MIGRATIONS, migrate
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


def test_the_entry_watermark_only_moves_forward_and_is_kept_apart(engine: Engine, now: datetime) -> None:
    state = SweepState(engine)
    assert state.entry_watermark() is None

    assert state.advance_entries(120, now)
    assert not state.advance_entries(100, now)
    assert state.entry_watermark() == 120
    assert state.watermark() is None  # the task watermark is a separate cursor
    state.advance(now, now)
    assert state.entry_watermark() == 120
    assert SweepState(engine, "other").entry_watermark() is None


def test_a_version_1_database_gains_the_entry_watermark(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, MIGRATIONS[:1])
    with engine.begin() as connection:  # what version 1 had: no entry_watermark column
        connection.execute(text("ALTER TABLE sweep_state DROP COLUMN entry_watermark"))
        connection.execute(text("UPDATE schema_version SET version = 1"))
    SweepState(engine).advance(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))

    assert migrate(engine) == MIGRATIONS[-1].version
    assert "entry_watermark" in {c["name"] for c in inspect(engine).get_columns("sweep_state")}
    state = SweepState(engine)
    assert state.advance_entries(7, datetime(2026, 1, 1, tzinfo=UTC))
    assert (state.entry_watermark(), state.watermark()) == (7, datetime(2026, 1, 1, tzinfo=UTC))
