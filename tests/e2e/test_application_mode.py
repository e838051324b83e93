"""Application mode end to end: one b24rules serving two installed portals over real HTTP.

Each portal is its own sandbox server (its own OAuth tokens, application token, rate bucket and
data). The service is installed through its install URL, binds its events itself, deletes each
portal's zero-second entries with that portal's token and by that portal's rules (the shared folder
plus its own `rules/portals/<domain>/`), survives its tokens expiring mid-burst with several workers
(one refresh), and forgets a portal that uninstalls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import text

from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.db import make_engine
from tests.e2e.harness import (
    Service,
    control,
    database_url,
    running,
    service_env,
    spawn,
    stop_session,
    wait_for,
)

ZEROS = [
    {"seconds": 0, "comment": "empty"},
    {"seconds": 0, "comment": "empty"},
    {"seconds": 60, "comment": "1m"},
]


@pytest.fixture
def portals() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    configs = [
        PortalConfig(domain="alpha.bitrix24.test", member_id="a" * 32, application_token=""),
        PortalConfig(domain="beta.bitrix24.test", member_id="b" * 32, application_token=""),
    ]
    servers = [SandboxServer(Portal(config=config)).start() for config in configs]
    servers[0].share_oauth(servers[1])  # one OAuth server for both portals, as in the cloud
    try:
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def _app_env(workdir: Path, key: str, oauth: SandboxServer) -> dict[str, str]:
    env = service_env(workdir, "", B24_APP_CLIENT_ID="local.sandbox0000000000.00000000",
                      B24_APP_CLIENT_SECRET="sandbox-client-secret", B24_ENCRYPTION_KEY=key,
                      B24_LOG_LEVEL="INFO", B24_OAUTH_URL=oauth.url + "/oauth/token/")  # fmt: skip
    del env["B24_WEBHOOK_URL"], env["B24_APPLICATION_TOKEN"]
    return env


def _install(service: Service, portal: SandboxServer) -> dict[str, object]:
    answer: dict[str, object] = control(
        portal.url, "POST", "app/install", {"url": service.url + "/bitrix24/install"}
    )
    assert answer["status"] == 200, answer
    return answer


def _zero_entries_left(portal: SandboxServer, task_id: int) -> int:
    return sum(1 for entry in portal.portal.entries_of(task_id) if entry.seconds == 0)


def _tokens(portal: SandboxServer) -> set[str]:
    app = portal.portal.app
    return set(app.access) | set(app.refresh) | {app.application_token}


# alpha's own folder adds a rule: its one-minute entries go too; beta, with no folder, keeps its own.
DROP_MINUTE = (
    "- name: drop-one-minute\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 60}\n"
)


def test_two_portals_each_cleaned_with_their_own_token_and_rules(
    portals: tuple[SandboxServer, SandboxServer], workdir: Path
) -> None:
    alpha, beta = portals
    service = Service(workdir, _app_env(workdir, Fernet.generate_key().decode(), alpha))
    service.env["B24_PUBLIC_URL"] = service.url
    (workdir / "rules" / "portals" / "alpha.bitrix24.test").mkdir(parents=True)
    (workdir / "rules" / "portals" / "alpha.bitrix24.test" / "minute.yaml").write_text(DROP_MINUTE)
    for portal in portals:
        portal.portal.create_task("Report", task_id=691, status=3, entries=ZEROS)

    with running(service):
        for portal in portals:
            _install(service, portal)
            bound = {(b["event"], b["handler"]) for b in control(portal.url, "GET", "app")["bindings"]}
            assert ("ONTASKUPDATE", service.url + "/bitrix24/events") in bound
            assert ("ONAPPUNINSTALL", service.url + "/bitrix24/events") in bound
        ready = requests.get(service.url + "/readyz", timeout=5)
        listed = ready.text + requests.get(service.url + "/metrics", timeout=5).text
        for portal in portals:
            deliveries = control(portal.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": 691})
            assert [d["status"] for d in deliveries["deliveries"]] == [200]
        wait_for(lambda: alpha.portal.entries_of(691) == [] and _zero_entries_left(beta, 691) == 0)

    assert alpha.portal.entries_of(691) == []  # its own rule took the one-minute entry too
    assert [e.seconds for e in beta.portal.entries_of(691)] == [60]  # kept: beta has no such rule
    for portal, count in ((alpha, 3), (beta, 2)):
        deletes = [c for c in portal.portal.calls("task.elapseditem.delete") if c["status"] == 200]
        assert len(deletes) == count  # each portal's own entries, through its own OAuth endpoint
    sets = ready.json()["portal_rules"]
    assert (sets["alpha.bitrix24.test"]["count"], sets["beta.bitrix24.test"]["count"]) == (3, 2)
    engine = make_engine(database_url(workdir))
    with engine.connect() as connection:
        audited = connection.execute(text("SELECT portal, rule, ruleset_version FROM audit_log")).all()
    engine.dispose()
    versions = {row.portal: row.ruleset_version for row in audited}  # one set per portal
    assert versions == {
        "a" * 32: sets["alpha.bitrix24.test"]["version"],
        "b" * 32: sets["beta.bitrix24.test"]["version"],
    }
    assert ("a" * 32, "drop-one-minute") in {(row.portal, row.rule) for row in audited}
    secrets = _tokens(alpha) | _tokens(beta)
    raw = (workdir / "b24rules.sqlite3").read_bytes() + service.logs().encode() + listed.encode()
    assert not [secret for secret in secrets if secret.encode() in raw]


def test_expired_tokens_mid_burst_are_refreshed_once_by_concurrent_workers(
    portals: tuple[SandboxServer, SandboxServer], workdir: Path
) -> None:
    alpha, _ = portals
    service = Service(workdir, _app_env(workdir, Fernet.generate_key().decode(), alpha))
    service.env["B24_PUBLIC_URL"] = service.url
    tasks = range(700, 730)
    for task_id in tasks:
        alpha.portal.create_task(f"t{task_id}", task_id=task_id, entries=ZEROS)

    with running(service):
        _install(service, alpha)
        extra = spawn(workdir, service.env, workdir / "worker2.log", "worker")
        try:
            for task_id in list(tasks)[:10]:
                control(alpha.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": task_id})
            wait_for(lambda: all(_zero_entries_left(alpha, t) == 0 for t in list(tasks)[:10]), timeout=40)
            control(alpha.url, "POST", "app/expire")  # every access token dies mid-burst
            for task_id in list(tasks)[10:]:
                control(alpha.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": task_id})
            wait_for(lambda: all(_zero_entries_left(alpha, t) == 0 for t in tasks), timeout=40)
        finally:
            stop_session(extra)

    assert control(alpha.url, "GET", "app")["refreshes"] == 2  # the install's check, then the expiry
    expired = [c for c in alpha.portal.calls() if c["error"] == "expired_token"]
    assert expired  # the tokens really did expire under the workers
    engine = make_engine(database_url(workdir))
    with engine.connect() as connection:
        dead = connection.scalar(text("SELECT count(*) FROM events WHERE status = 'dead'"))
    assert dead == 0


def test_uninstall_stops_one_portal_and_purges_its_credentials(
    portals: tuple[SandboxServer, SandboxServer], workdir: Path
) -> None:
    alpha, beta = portals
    service = Service(workdir, _app_env(workdir, Fernet.generate_key().decode(), alpha))
    service.env["B24_PUBLIC_URL"] = service.url
    for portal in portals:
        portal.portal.create_task("Report", task_id=691, entries=ZEROS)

    with running(service):
        for portal in portals:
            _install(service, portal)
        alpha_token = alpha.portal.app.application_token
        answered = control(alpha.url, "POST", "app/uninstall")["deliveries"]
        assert [d["status"] for d in answered] == [200]
        forged = control(beta.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": 691})
        assert [d["status"] for d in forged["deliveries"]] == [200]
        wait_for(lambda: _zero_entries_left(beta, 691) == 0)
        # alpha no longer sends (its bindings are gone); a replayed old event is refused
        body = (
            "event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D%5BID%5D=691&data%5BFIELDS_BEFORE%5D%5BID%5D=691"
            f"&auth%5Bmember_id%5D={'a' * 32}&auth%5Bdomain%5D=alpha.bitrix24.test"
            f"&auth%5Bapplication_token%5D={alpha_token}"
        ).encode()
        assert service.post_event(body).status_code == 401

    assert _zero_entries_left(alpha, 691) == 2
    engine = make_engine(database_url(workdir))
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT member_id, status, access_token, refresh_token, application_token FROM portals")
        ).all()
    by_member = {row.member_id: row for row in rows}
    assert by_member["a" * 32].status == "uninstalled"
    assert (by_member["a" * 32].access_token, by_member["a" * 32].refresh_token) == (None, None)
    assert by_member["a" * 32].application_token is None
    assert by_member["b" * 32].status == "active"


def _portal_rows(workdir: Path) -> list[str]:
    engine = make_engine(database_url(workdir))
    with engine.connect() as connection:
        rows = [row.member_id for row in connection.execute(text("SELECT member_id FROM portals"))]
    engine.dispose()
    return rows


def test_a_forged_install_is_refused_and_stores_nothing(
    portals: tuple[SandboxServer, SandboxServer], workdir: Path
) -> None:
    """An attacker's own "portal" answers app.info happily for its own tokens, but OUR OAuth server
    (B24_OAUTH_URL) never issued them: the install is refused, nothing is stored or bound there."""
    alpha, _ = portals
    forger = SandboxServer(
        Portal(config=PortalConfig(domain="forged.bitrix24.test", member_id="f" * 32, application_token=""))
    ).start()
    service = Service(workdir, _app_env(workdir, Fernet.generate_key().decode(), alpha))
    service.env["B24_PUBLIC_URL"] = service.url
    try:
        with running(service):
            forged = control(forger.url, "POST", "app/install", {"url": service.url + "/bitrix24/install"})
            page = control(forger.url, "POST", "app/install",
                           {"url": service.url + "/bitrix24/install", "form": "page"})  # fmt: skip
            assert (forged["status"], page["status"]) == (401, 401), (forged, page)
            assert _portal_rows(workdir) == []
            _install(service, alpha)  # a genuine install through the same door still works
            assert _portal_rows(workdir) == ["a" * 32]
    finally:
        forger.stop()
    assert forger.portal.calls("app.info") == []
    assert forger.portal.calls("event.bind") == []
