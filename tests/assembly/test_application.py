"""Operator commands in application mode pick their portal: --portal by domain or member id, the only
active one without it, and a one-line error naming the choices otherwise."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from service.assembly.application import Application, PortalChoiceError, choose_portal
from service.store.db import open_database
from service.store.portals import Installation, Portals
from service.store.sealing import Sealer


def _app(*domains: str) -> Application:
    engine = open_database(f"sqlite:///{tempfile.mkdtemp(prefix='b24rules-app-')}/db.sqlite3")
    portals = Portals(engine, Sealer(Fernet.generate_key().decode()))
    now = datetime.now(UTC)
    for n, domain in enumerate(domains):
        endpoint = f"https://{domain}/rest/"
        portals.install(
            Installation(
                f"member{n}", domain, endpoint, endpoint, "app-t", "acc-t", "ref-t", now + timedelta(hours=1)
            ),
            now,
        )
    return Application(portals, None, None, "local.x")  # type: ignore[arg-type]


def test_the_only_portal_needs_no_flag_and_a_named_one_is_found() -> None:
    assert choose_portal(_app("a.example"), None) == "member0"
    app = _app("a.example", "b.example")
    assert choose_portal(app, "b.example") == "member1"
    assert choose_portal(app, "member0") == "member0"


def test_several_portals_without_a_choice_or_an_unknown_one_is_a_clear_error() -> None:
    app = _app("a.example", "b.example")
    with pytest.raises(PortalChoiceError, match=r"several portals are installed \(a.example, b.example\)"):
        choose_portal(app, None)
    with pytest.raises(PortalChoiceError, match=r"no installed portal 'c\.example'"):
        choose_portal(app, "c.example")
    app.portals.uninstall("member0", datetime.now(UTC))
    with pytest.raises(PortalChoiceError, match=r"a\.example is uninstalled"):
        choose_portal(app, "a.example")
    with pytest.raises(PortalChoiceError, match="no portal has installed"):
        choose_portal(_app(), None)
