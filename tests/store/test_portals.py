"""The portals table: sealed tokens, single-flight refresh lease, uninstall purges credentials."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from service.store.portals import ACTIVE, NEEDS_REINSTALL, UNINSTALLED, Installation, PortalRecord, Portals
from service.store.sealing import Sealer, SealError

KEY = Fernet.generate_key().decode()
SECRETS = ("access-aaaaaaaa", "refresh-rrrrrrrr", "apptoken-tttttttt")


def _installation(now: datetime, member_id: str = "m-1", domain: str = "a.example") -> Installation:
    return Installation(
        member_id=member_id,
        domain=domain,
        client_endpoint=f"https://{domain}/rest/",
        server_endpoint="https://oauth.example/rest/",
        application_token=SECRETS[2],
        access_token=SECRETS[0],
        refresh_token=SECRETS[1],
        expires_at=now + timedelta(hours=1),
    )


@pytest.fixture
def registry(engine: Engine) -> Portals:
    return Portals(engine, Sealer(KEY))


def _present(record: PortalRecord | None) -> PortalRecord:
    assert record is not None
    return record


def _raw_rows(engine: Engine) -> str:
    with engine.connect() as connection:
        return repr(connection.execute(text("SELECT * FROM portals")).all())


def test_tokens_are_sealed_in_the_database_and_open_with_the_key(
    engine: Engine, registry: Portals, now: datetime
) -> None:
    registry.install(_installation(now), now)

    raw = _raw_rows(engine)
    assert "a.example" in raw
    assert not any(secret in raw for secret in SECRETS)
    tokens = registry.tokens("m-1")
    assert tokens is not None
    assert (tokens.access_token, tokens.refresh_token) == SECRETS[:2]
    assert registry.application_token("m-1") == SECRETS[2]
    assert not any(secret in repr(tokens) + repr(registry.get("m-1")) for secret in SECRETS)
    with pytest.raises(SealError, match="B24_ENCRYPTION_KEY"):
        Portals(engine, Sealer(Fernet.generate_key().decode())).tokens("m-1")


def test_a_malformed_key_is_refused_without_quoting_it() -> None:
    with pytest.raises(SealError) as caught:
        Sealer("not-a-key")
    assert "not-a-key" not in str(caught.value)


def test_find_takes_a_domain_or_a_member_id(registry: Portals, now: datetime) -> None:
    registry.install(_installation(now), now)
    registry.install(_installation(now, "m-2", "b.example"), now)

    assert registry.find("B.example") is not None
    assert _present(registry.find("B.example")).member_id == "m-2"
    assert registry.find("m-1") is not None
    assert _present(registry.find("m-1")).domain == "a.example"
    assert registry.find("c.example") is None
    assert [p.member_id for p in registry.active()] == ["m-1", "m-2"]


def test_one_refresher_at_a_time_and_only_the_leader_saves(registry: Portals, now: datetime) -> None:
    registry.install(_installation(now), now)
    lease = timedelta(seconds=30)

    assert registry.lead_refresh("m-1", "w1", now, lease)
    assert not registry.lead_refresh("m-1", "w2", now, lease)
    assert not registry.save_tokens("m-1", "w2", "x", "y", now, now)
    assert registry.save_tokens("m-1", "w1", "access-2", "refresh-2", now + timedelta(hours=1), now)

    tokens = registry.tokens("m-1")
    assert tokens is not None
    assert (tokens.access_token, tokens.refresh_token, tokens.version) == (
        "access-2",
        "refresh-2",
        2,
    )
    assert registry.lead_refresh("m-1", "w2", now, lease)  # freed by the save
    registry.end_refresh("m-1", "w2")
    assert registry.lead_refresh("m-1", "w3", now, lease)
    assert registry.lead_refresh("m-1", "w4", now + lease, lease)  # a crashed leader's lease runs out


def test_needs_reinstall_is_reported_once_and_stops_token_use(registry: Portals, now: datetime) -> None:
    registry.install(_installation(now), now)

    assert registry.mark_needs_reinstall("m-1", "invalid_grant", now)
    assert not registry.mark_needs_reinstall("m-1", "invalid_grant", now)

    assert _present(registry.get("m-1")).status == NEEDS_REINSTALL
    assert registry.tokens("m-1") is None
    registry.install(_installation(now), now)  # a reinstall brings it back
    assert _present(registry.get("m-1")).status == ACTIVE


def test_uninstall_purges_every_token(engine: Engine, registry: Portals, now: datetime) -> None:
    registry.install(_installation(now), now)

    assert registry.uninstall("m-1", now)

    assert _present(registry.get("m-1")).status == UNINSTALLED
    assert registry.tokens("m-1") is None
    assert registry.application_token("m-1") is None
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT access_token, refresh_token, application_token FROM portals")
        ).one()
    assert tuple(row) == (None, None, None)
