"""`b24rules doctor` in application mode: every installed portal checked in its own section, with its
own token, rows and event bindings (event.get); one portal's problem fails the run and names that
portal, the other portal's section still passes; `--portal` checks one; no token is ever printed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result

from service.assembly.application import make_application
from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.cli import cli
from service.core.events import TaskEvent
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.web.app import create_app
from tests.web.conftest import CLIENT_ID, app_settings, post_install

ALPHA, BETA = "a" * 32, "b" * 32


@pytest.fixture
def two() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    servers = [
        SandboxServer(Portal(config=PortalConfig(member_id=member, application_token=""))).start()
        for member in (ALPHA, BETA)
    ]
    servers[0].share_oauth(servers[1])  # one OAuth server for both, as in the cloud
    for server in servers:
        server.portal.app.installed = True
    yield servers[0], servers[1]
    for server in servers:
        server.stop()


@pytest.fixture
def installed(
    make_resources: Callable[..., Resources], two: tuple[SandboxServer, SandboxServer]
) -> Resources:
    """Both portals installed through the real install handler (which binds their events)."""
    resources = make_resources(**app_settings(two[0]), b24_webhook_url=None, b24_application_token=None)
    client = create_app(web_parts(resources)).test_client()
    for server, member in zip(two, (ALPHA, BETA), strict=True):
        assert post_install(client, server, member_id=member) == (200, "")
    return resources


def doctor(resources: Resources, *args: str) -> Result:
    settings = resources.settings
    assert settings.b24_app_client_secret is not None
    assert settings.b24_encryption_key is not None
    env = {
        "B24_APP_CLIENT_ID": CLIENT_ID,
        "B24_APP_CLIENT_SECRET": settings.b24_app_client_secret.get_secret_value(),
        "B24_ENCRYPTION_KEY": settings.b24_encryption_key.get_secret_value(),
        "B24_OAUTH_URL": settings.b24_oauth_url or "",
        "B24_PUBLIC_URL": settings.b24_public_url or "",
        "B24_DATABASE_URL": settings.b24_database_url,
        "B24_RULES_DIR": str(settings.b24_rules_dir),
        "B24_WEBHOOK_URL": "",
        "B24_APPLICATION_TOKEN": "",
    }
    return CliRunner().invoke(cli, ["doctor", *args], env=env, catch_exceptions=False)


def sections(result: Result) -> dict[str, list[str]]:
    """Each portal's section: its title's member id → its check lines."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in result.output.splitlines():
        if line.startswith("portal "):
            current = found.setdefault(line.rsplit("(", 1)[1].rstrip(")"), [])
        elif current is not None and line[:4] in {"PASS", "FAIL", "SKIP"}:
            current.append(line)
    return found


def status(lines: list[str], name: str) -> str:
    [line] = [text for text in lines if text[6:].startswith(name)]
    return line[:4]


def secrets_of(*servers: SandboxServer) -> set[str]:
    tokens: set[str] = set()
    for server in servers:
        app = server.portal.app
        tokens |= set(app.access) | set(app.refresh) | {app.application_token}
    return tokens | {"a1b2c3d4e5f6a7b8"}  # the application token the install posted


def test_both_portals_sound_pass_in_their_own_sections(
    installed: Resources, two: tuple[SandboxServer, SandboxServer]
) -> None:
    result = doctor(installed)
    assert result.exit_code == 0, result.output
    checked = sections(result)
    assert set(checked) == {ALPHA, BETA}
    for lines in checked.values():
        assert len(lines) == 11, lines
        assert all(line.startswith("PASS") for line in lines), lines
        assert "event.get lists every event we bind" in " ".join(lines)
    assert "26 of 26 checks pass across 2 portal(s)" in result.output
    assert not any(token in result.output for token in secrets_of(*two))


def test_a_portal_needing_reinstallation_fails_the_run_and_the_other_still_passes(
    installed: Resources, two: tuple[SandboxServer, SandboxServer]
) -> None:
    reason = "invalid_grant: the refresh token is invalid or spent"
    make_application(installed).portals.mark_needs_reinstall(BETA, reason, datetime.now(UTC))
    journal, now = installed.journal.for_portal(BETA), datetime.now(UTC)
    journal.append(TaskEvent("ONTASKUPDATE", 691, 1, "7", "beta", BETA, "t"), now)
    [claim] = journal.claim("w", now, lease=timedelta(seconds=30))
    journal.dead_letter(claim, now, error="ACCESS_DENIED (HTTP 403)")  # beta's, not alpha's

    result = doctor(installed)

    assert result.exit_code == 1, result.output
    checked = sections(result)
    assert all(line.startswith("PASS") for line in checked[ALPHA]), checked[ALPHA]
    assert status(checked[BETA], "installation") == "FAIL"
    assert f"needs-reinstall: {reason}" in checked[BETA][0]
    assert "fix: reinstall the application from the portal" in result.output
    assert status(checked[BETA], "portal reachable") == "SKIP"  # its tokens are not used
    assert status(checked[BETA], "dead letters") == "FAIL"
    assert f"b24rules replay --portal {two[1].url.removeprefix('http://')} --failed" in result.output
    assert not any(token in result.output for token in secrets_of(*two))

    alone = doctor(installed, "--portal", ALPHA)  # only alpha, which is fine
    assert alone.exit_code == 0, alone.output
    assert set(sections(alone)) == {ALPHA}


def test_a_missing_binding_on_one_portal_is_found_with_event_get(
    installed: Resources, two: tuple[SandboxServer, SandboxServer]
) -> None:
    alpha, beta = two
    with alpha.portal.app.lock:  # as if someone unbound it (or the portal lost it)
        alpha.portal.app.bindings = [b for b in alpha.portal.app.bindings if b.event != "ONTASKUPDATE"]

    result = doctor(installed)

    assert result.exit_code == 1, result.output
    checked = sections(result)
    assert status(checked[ALPHA], "event bindings") == "FAIL"
    assert "event.get does not list ONTASKUPDATE (online)" in " ".join(checked[ALPHA])
    assert all(line.startswith("PASS") for line in checked[BETA]), checked[BETA]
    assert beta.portal.calls("event.get")
    assert alpha.portal.calls("event.get")
    assert doctor(installed, "--portal", BETA).exit_code == 0


def test_portal_choice_errors_are_one_line(installed: Resources) -> None:
    result = doctor(installed, "--portal", "nowhere.example")
    assert result.exit_code == 1, result.output
    assert "no installed portal 'nowhere.example'" in result.output
    assert "Traceback" not in result.output
