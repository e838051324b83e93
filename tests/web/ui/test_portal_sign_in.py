"""Application mode: portal administrators sign in from inside their portal (POST /ui/portal), checked
with the portal at OUR stored endpoint; everyone sees one portal at a time.

Two sandbox portals on loopback (alpha, beta), both with b24rules installed in our store. The forms
posted here are the page form a portal posts when someone opens the application (sandbox/install.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from service.assembly.application import make_application
from service.assembly.resources import Resources
from service.assembly.webwiring import ui_parts, web_parts
from service.plumbing.clock import utcnow
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.audit import AuditLog
from service.store.operatoractions import OperatorActions
from service.store.portals import Installation
from service.web.app import create_app
from tests.web.ui.conftest import UI_TOKEN, csrf_of, sign_in
from tests.web.ui.test_pages import record

CLIENT_ID, SECRET = "local.sandbox0000000000.00000000", "sandbox-client-secret"
ALPHA, BETA = "alpha.bitrix24.test", "beta.bitrix24.test"
ADMIN, NOT_ADMIN = 1, 503  # the sandbox's John Smith (an administrator) and Maria Johnson


@pytest.fixture
def sandboxes() -> Iterator[dict[str, SandboxServer]]:
    servers = {
        domain: SandboxServer(Portal(config=PortalConfig(domain=domain, member_id=domain[0] * 32))).start()
        for domain in (ALPHA, BETA)
    }
    for server in servers.values():
        server.portal.app.installed = True
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def resources(make_resources: Callable[..., Resources], sandboxes: dict[str, SandboxServer]) -> Resources:
    found = make_resources(
        b24_ui_token=UI_TOKEN,
        b24_webhook_url=None,
        b24_application_token=None,
        b24_app_client_id=CLIENT_ID,
        b24_app_client_secret=SECRET,
        b24_encryption_key=Fernet.generate_key().decode(),
        b24_public_url="https://b24rules.example",
        b24_oauth_url=sandboxes[ALPHA].url + "/oauth/token/",
    )
    portals = make_application(found).portals
    now = datetime.now(UTC)
    for domain, server in sandboxes.items():
        endpoint = server.url + "/rest/"
        tokens = server.portal.app.issue(ADMIN, server.portal.clock())
        portals.install(
            Installation(member(domain), domain, endpoint, endpoint, "app-token",
                         tokens["access_token"], tokens["refresh_token"], now + timedelta(hours=1)),
            now,
        )  # fmt: skip
    return found


@pytest.fixture
def app(resources: Resources) -> Flask:
    parts = ui_parts(resources, web_parts(resources))
    assert parts is not None
    assert parts.portal_admins is not None
    return create_app(web_parts(resources), parts)


def member(domain: str) -> str:
    return domain[0] * 32


def page_form(server: SandboxServer, user_id: int, **extra: str) -> dict[str, str]:
    """What the portal posts when `user_id` opens the application: their token, the portal's member id."""
    tokens = server.portal.app.issue(user_id, server.portal.clock())
    form = {"AUTH_ID": tokens["access_token"], "AUTH_EXPIRES": "3600", "REFRESH_ID": tokens["refresh_token"],
            "member_id": server.portal.config.member_id, "status": "L", "PLACEMENT": "DEFAULT"}  # fmt: skip
    return {**form, **extra}


def open_app(client: FlaskClient, form: dict[str, str], domain: str = ALPHA) -> Any:
    return client.post(f"/ui/portal?DOMAIN={domain}&PROTOCOL=1&LANG=en&APP_SID=x", data=form)


def calls(server: SandboxServer) -> list[str]:
    return [str(row["method"]) for row in server.portal.calls()]


def test_an_administrator_is_admitted_named_by_the_portal_and_recorded_as_portal_admin(
    client: FlaskClient, sandboxes: dict[str, SandboxServer], resources: Resources, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    form = page_form(sandboxes[ALPHA], ADMIN)

    answer = open_app(client, form)

    assert answer.status_code == 303, answer.text
    cookie = answer.headers["Set-Cookie"]
    assert all(part in cookie for part in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/ui"))
    assert calls(sandboxes[ALPHA]) == ["app.info", "user.admin", "profile"]
    overview = client.get("/ui/")
    assert overview.status_code == 200
    assert "John Smith, user 1" in overview.text
    assert f"portal <b>{ALPHA}</b>" in overview.text
    assert f"frame-ancestors https://{ALPHA}" in overview.headers["Content-Security-Policy"]
    csrf = csrf_of(overview.text)
    done = client.post("/ui/act/replay", data={"csrf": csrf, "target": "all", "confirm": "yes"})
    assert done.status_code == 302
    [action] = OperatorActions(resources.engine).recent()
    assert action.actor == f"John Smith, user 1 (portal admin, {ALPHA})"
    assert action.portal == member(ALPHA)
    assert form["AUTH_ID"] not in caplog.text
    assert form["AUTH_ID"] not in cookie


def test_a_user_who_is_not_an_administrator_gets_a_403_page_and_no_session(
    client: FlaskClient, sandboxes: dict[str, SandboxServer]
) -> None:
    answer = open_app(client, page_form(sandboxes[ALPHA], NOT_ADMIN))

    assert answer.status_code == 403
    assert f"only administrators of {ALPHA} may open" in answer.text
    assert "Set-Cookie" not in answer.headers
    assert (
        f"frame-ancestors https://{ALPHA}" in answer.headers["Content-Security-Policy"]
    )  # shown in its frame
    assert client.get("/ui/").status_code == 302  # still signed out: to the sign-in page


def test_forged_and_expired_tokens_are_refused(
    client: FlaskClient, sandboxes: dict[str, SandboxServer]
) -> None:
    forged = open_app(client, page_form(sandboxes[ALPHA], ADMIN, AUTH_ID="0123456789abcdef0123456789abcdef"))
    assert forged.status_code == 403
    assert "did not accept the access token (NO_AUTH_FOUND)" in forged.text
    form = page_form(sandboxes[ALPHA], ADMIN)
    sandboxes[ALPHA].portal.app.access[form["AUTH_ID"]].expires_at = 0.0

    expired = open_app(client, form)

    assert expired.status_code == 403
    assert "expired_token" in expired.text
    assert "Set-Cookie" not in forged.headers
    assert "Set-Cookie" not in expired.headers


def test_an_administrators_token_of_another_portal_is_refused_whatever_endpoint_the_request_names(
    client: FlaskClient, sandboxes: dict[str, SandboxServer]
) -> None:
    beta = sandboxes[BETA]
    # Beta's administrator claims to open alpha's b24rules, and names beta everywhere a request can.
    form = page_form(beta, ADMIN, member_id=member(ALPHA), SERVER_ENDPOINT=beta.url + "/rest/")
    form.update({"client_endpoint": beta.url + "/rest/", "auth[client_endpoint]": beta.url + "/rest/",
                 "DOMAIN": BETA})  # fmt: skip

    answer = open_app(client, form, domain=beta.url.removeprefix("http://"))

    assert answer.status_code == 403
    assert f"{ALPHA} did not accept the access token" in answer.text
    assert calls(sandboxes[ALPHA]) == ["app.info"]  # asked at OUR stored endpoint: alpha's
    assert calls(beta) == []  # never at the one the request named


def test_an_unknown_missing_or_uninstalled_portal_is_refused_without_asking_anyone(
    client: FlaskClient, sandboxes: dict[str, SandboxServer], resources: Resources
) -> None:
    unknown = open_app(client, page_form(sandboxes[ALPHA], ADMIN, member_id="c" * 32))
    missing = open_app(client, page_form(sandboxes[ALPHA], ADMIN, member_id=""))

    for answer in (unknown, missing):
        assert answer.status_code == 403
        assert "this portal has not installed b24rules" in answer.text
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert calls(sandboxes[ALPHA]) == calls(sandboxes[BETA]) == []
    make_application(resources).portals.uninstall(member(ALPHA), datetime.now(UTC))
    gone = open_app(client, page_form(sandboxes[ALPHA], ADMIN))
    assert gone.status_code == 403
    assert f"b24rules is uninstalled on {ALPHA}: reinstall it there" in gone.text
    assert calls(sandboxes[ALPHA]) == []


def test_an_administrators_token_of_another_application_is_refused(
    client: FlaskClient, sandboxes: dict[str, SandboxServer]
) -> None:
    sandboxes[ALPHA].portal.app.client_id = "local.another0000000000.00000000"  # app.info names that app
    answer = open_app(client, page_form(sandboxes[ALPHA], ADMIN))
    assert answer.status_code == 403
    assert "the access token is not one of b24rules&#39; on this portal" in answer.text
    assert "Set-Cookie" not in answer.headers
    assert client.get("/ui/audit").status_code != 200


def test_an_admins_session_ends_when_their_portal_uninstalls_b24rules(
    client: FlaskClient, sandboxes: dict[str, SandboxServer], resources: Resources
) -> None:
    assert open_app(client, page_form(sandboxes[BETA], ADMIN), domain=BETA).status_code == 303
    assert client.get("/ui/audit").status_code == 200
    make_application(resources).portals.uninstall(member(BETA), datetime.now(UTC))
    refused = client.get("/ui/audit")
    assert refused.status_code == 401
    assert "no longer installed on your portal" in refused.text


def test_a_portal_administrator_sees_and_acts_on_their_own_portal_only(
    client: FlaskClient, sandboxes: dict[str, SandboxServer], resources: Resources
) -> None:
    theirs = record(AuditLog(resources.engine, member(ALPHA)), 7, comment="alpha's entry")
    ours = record(AuditLog(resources.engine, member(BETA)), 8, comment="beta's entry")
    # Beta: the second portal, so a session that fell back to the first one would show alpha.
    assert open_app(client, page_form(sandboxes[BETA], ADMIN), domain=BETA).status_code == 303

    audit = client.get("/ui/audit").text
    assert "beta&#39;s entry" in audit
    assert "alpha&#39;s entry" not in audit
    assert client.get(f"/ui/confirm/restore?target={ours}").status_code == 200
    assert client.get(f"/ui/confirm/restore?target={theirs}").status_code == 404
    assert 'id="portal-picker"' not in audit
    csrf = csrf_of(audit)
    chosen = client.post("/ui/portal/choose", data={"csrf": csrf, "portal": member(ALPHA)})
    assert chosen.status_code == 403


def test_an_operator_picks_the_portal_and_every_page_and_action_follows(
    client: FlaskClient, resources: Resources
) -> None:
    now = utcnow()
    record(AuditLog(resources.engine, member(ALPHA)), 7, comment="alpha's entry")
    record(AuditLog(resources.engine, member(BETA)), 8, comment="beta's entry")
    for domain in (ALPHA, BETA):  # a dead letter each
        journal = resources.journal.for_portal(member(domain))
        journal.enqueue_task(40, now, source="replay")
        [claim] = journal.claim("w", now, lease=timedelta(minutes=1))
        journal.dead_letter(claim, now, error="permanent: ACCESS_DENIED")
    csrf = sign_in(client)

    first = client.get("/ui/audit").text  # the first installed portal until one is picked
    assert 'id="portal-picker"' in first
    assert f">{ALPHA}</option>" in first
    assert f">{BETA}</option>" in first
    assert "alpha&#39;s entry" in first
    assert "beta&#39;s entry" not in first
    chosen = client.post(
        "/ui/portal/choose", data={"csrf": csrf, "portal": member(BETA), "next": "/ui/audit"}
    )
    assert chosen.status_code == 303
    assert chosen.headers["Location"] == "/ui/audit"
    assert "SameSite=Strict" in chosen.headers["Set-Cookie"]
    beta_audit = client.get("/ui/audit").text
    assert "beta&#39;s entry" in beta_audit
    assert "alpha&#39;s entry" not in beta_audit
    assert "Dead letters (1)" in client.get("/ui/").text
    assert (
        client.post("/ui/act/replay", data={"csrf": csrf, "target": "all", "confirm": "yes"}).status_code
        == 302
    )

    assert resources.journal.for_portal(member(BETA)).stats(now).dead == 0
    assert resources.journal.for_portal(member(ALPHA)).stats(now).dead == 1  # untouched
    assert client.post("/ui/portal/choose", data={"csrf": csrf, "portal": "x" * 32}).status_code == 400


def test_each_portals_rules_page_shows_its_effective_set(
    client: FlaskClient, sandboxes: dict[str, SandboxServer], resources: Resources
) -> None:
    own = resources.settings.b24_rules_dir / "portals" / ALPHA
    own.mkdir(parents=True)
    (own / "alpha.yaml").write_text(
        "- name: alpha-only-rule\n  description: Only alpha runs this.\n  on: [ONTASKUPDATE]\n"
        "  where:\n    entry.seconds: 1\n  action: delete\n",
        encoding="utf-8",
    )
    csrf = sign_in(client)
    assert "alpha-only-rule" in client.get("/ui/rules").text  # alpha: the first installed portal
    assert "3 rule(s) running" in client.get("/ui/").text
    client.post("/ui/portal/choose", data={"csrf": csrf, "portal": member(BETA)})
    assert "alpha-only-rule" not in client.get("/ui/rules").text
    assert "2 rule(s) running" in client.get("/ui/").text
