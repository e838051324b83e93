from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from service.store.breakers import Breakers, TripRecord
from service.store.db import open_database


def test_a_rule_trips_once_until_rearmed(engine: Engine, now: datetime) -> None:
    breakers = Breakers(engine)
    assert not breakers.is_tripped("drop-zero")

    assert breakers.trip("drop-zero", "limit 20 exceeded on task 5 (31 entries)", now)
    assert not breakers.trip("drop-zero", "again", now + timedelta(minutes=1))  # Sentry hears once

    assert breakers.is_tripped("drop-zero")
    assert breakers.tripped() == {
        "drop-zero": TripRecord("drop-zero", "limit 20 exceeded on task 5 (31 entries)", now)
    }
    assert breakers.rearm("drop-zero")
    assert not breakers.rearm("drop-zero")
    assert not breakers.is_tripped("drop-zero")
    assert breakers.trip("drop-zero", "third time", now)


def test_the_state_survives_a_restart(db_url: str, engine: Engine, now: datetime) -> None:
    Breakers(engine).trip("void-before-reopen", "budget", now)
    engine.dispose()

    restarted = open_database(db_url)
    assert Breakers(restarted).is_tripped("void-before-reopen")
    assert set(Breakers(restarted).tripped()) == {"void-before-reopen"}
    restarted.dispose()
