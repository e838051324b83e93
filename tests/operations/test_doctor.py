"""`b24rules doctor` against a sandbox portal: a checklist, a fix per failure, exit 0 only if all pass."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli import cli
from service.core.events import TaskEvent
from service.operations.doctorportal import QUIET_WARNING
from service.store.breakers import Breakers
from service.store.claims import NO_WAIT
from tests.inprocess import Rig, rig

NOT_ADMIN_CODE = "nonadmin7code"


def doctor(r: Rig, webhook: str | None = None, **env: str) -> Result:
    settings = r.resources.settings
    values = {
        "B24_WEBHOOK_URL": webhook or r.sandbox.webhook_url,
        "B24_DATABASE_URL": settings.b24_database_url,
        "B24_RULES_DIR": str(settings.b24_rules_dir),
        **env,
    }
    return CliRunner().invoke(cli, ["doctor"], env=values, catch_exceptions=False)


def line(result: Result, name: str) -> str:
    found = [text for text in result.output.splitlines() if text[6:].startswith(name)]
    assert found, result.output
    return found[0]


@pytest.fixture
def healthy() -> Iterator[Rig]:
    with rig() as r:
        yield r


def test_a_sound_deployment_passes_every_check(healthy: Rig) -> None:
    result = doctor(healthy)
    assert result.exit_code == 0, result.output
    assert "12 of 12 checks pass" in result.output
    assert "not needed" in line(result, "scope im")
    assert "fix:" not in result.output
    assert "user 1 is an administrator" in line(result, "administrator")


def test_a_non_admin_webhook_fails_with_the_fix(healthy: Rig) -> None:
    healthy.sandbox.portal.add_webhook(7, NOT_ADMIN_CODE, admin=False)
    result = doctor(healthy, healthy.sandbox.webhook_url_for(7, NOT_ADMIN_CODE))
    assert result.exit_code == 1
    assert line(result, "administrator").startswith("FAIL")
    assert "create the incoming webhook as a portal administrator" in result.output
    assert line(result, "credentials").startswith("PASS")
    assert NOT_ADMIN_CODE not in result.output  # the webhook code is a secret


def test_a_webhook_without_scope_task_fails_with_the_fix(healthy: Rig) -> None:
    healthy.sandbox.portal.add_webhook(7, NOT_ADMIN_CODE, admin=True, scopes=["crm"])
    result = doctor(healthy, healthy.sandbox.webhook_url_for(7, NOT_ADMIN_CODE))
    assert result.exit_code == 1
    assert line(result, "scope task").startswith("FAIL")
    assert "give it the scope task" in result.output


NOTIFYING = """\
- name: drop-zero
  on: [ONTASKUPDATE]
  where: {entry.seconds: 0}
  action: delete
  notify: {to: [author], via: notification, message: "{entry.seconds} s removed by {rule.name}"}
"""


def test_a_rule_notifying_via_notification_needs_the_scope_im() -> None:
    with rig(NOTIFYING) as r:
        without = doctor(r)  # the sandbox's admin webhook has the scope task only
        r.sandbox.portal.add_webhook(7, NOT_ADMIN_CODE, admin=True, scopes=["task", "im"])
        granted = doctor(r, r.sandbox.webhook_url_for(7, NOT_ADMIN_CODE))

    assert without.exit_code == 1
    assert (
        line(without, "scope im")
        == "FAIL  scope im          drop-zero notifies via notification; scopes: task"
    )
    assert "give it the scope im (Chat and notifications)" in without.output
    assert granted.exit_code == 0, granted.output
    assert line(granted, "scope im").split(None, 3) == ["PASS", "scope", "im", "im (for drop-zero)"]


def test_a_rule_notifying_in_shadow_mode_or_dry_run_does_not_need_the_scope_im_yet() -> None:
    with rig(NOTIFYING.replace("  action: delete\n", "  action: delete\n  mode: shadow\n")) as r:
        shadow = doctor(r)
    with rig(NOTIFYING) as r:
        dry_run = doctor(r, B24_DRY_RUN="true")
    for result in (shadow, dry_run):
        assert line(result, "scope im").startswith("PASS"), result.output
        assert "give the scope im before enforcing" in line(result, "scope im")


def test_a_wrong_webhook_code_fails_as_not_accepted(healthy: Rig) -> None:
    result = doctor(healthy, healthy.sandbox.webhook_url_for(1, "wrongcode123"))
    assert result.exit_code == 1
    assert "HTTP 401" in line(result, "portal reachable")
    assert "copy the incoming webhook's URL again" in result.output
    assert line(result, "administrator").startswith("SKIP")


def test_clock_skew_against_the_portal_fails() -> None:
    with rig(portal_clock=lambda: time.time() + 600) as r:
        result = doctor(r)
    assert result.exit_code == 1
    assert re.search(r"clock is -(599|600) s off the portal's", line(result, "clock"))  # 600 s behind
    assert "NTP" in result.output


def test_dead_letters_and_tripped_rules_fail(healthy: Rig) -> None:
    journal = healthy.resources.journal
    now = datetime.now(UTC)
    journal.append(TaskEvent("ONTASKUPDATE", 691, None, "7", "acme.bitrix24.com", "m-1", "t"), now)
    [claim] = journal.claim("w", now, lease=timedelta(minutes=1), max_tasks=1, quiet=NO_WAIT)
    journal.dead_letter(claim, now, error="permanent: HTTP 403: ACCESS_DENIED")
    Breakers(healthy.resources.engine).trip("drop-zero", "limit", now)
    result = doctor(healthy)
    assert result.exit_code == 1
    assert "1 event(s) waiting as dead letters" in line(result, "dead letters")
    assert "drop-zero" in line(result, "rules tripped")
    assert "b24rules rearm" in result.output
    assert line(result, "last event").startswith("PASS")


def test_a_broken_portal_folder_fails_the_rules_check_naming_it(healthy: Rig) -> None:
    portal = healthy.resources.settings.b24_rules_dir / "portals" / "acme.bitrix24.com"
    portal.mkdir(parents=True)
    (portal / "short.yaml").write_text("- name: drop-short\n  on: [ONTASKUPDATE]\n  action: remove\n")
    result = doctor(healthy)
    assert line(result, "rules").startswith("FAIL")
    assert "portal folder acme.bitrix24.com: " in line(result, "rules")
    assert f"{portal / 'short.yaml'}:3:11" in line(result, "rules")


def test_broken_rules_and_bad_settings_say_what_to_fix(healthy: Rig) -> None:
    (healthy.resources.settings.b24_rules_dir / "bad.yaml").write_text("- name: Bad Name\n")
    result = doctor(healthy)
    assert line(result, "rules").startswith("FAIL")
    assert "b24rules check" in result.output
    missing = doctor(healthy, B24_DATABASE_URL="sqlite:////nonexistent/folder/db.sqlite3")
    assert missing.exit_code == 1
    assert "no database file" in line(missing, "database")
    assert "Traceback" not in missing.output
    assert not Path("/nonexistent/folder/db.sqlite3").exists()  # never created


def test_portal_is_refused_in_webhook_mode(healthy: Rig) -> None:
    settings = healthy.resources.settings
    env = {"B24_WEBHOOK_URL": healthy.sandbox.webhook_url, "B24_DATABASE_URL": settings.b24_database_url}
    result = CliRunner().invoke(cli, ["doctor", "--portal", "acme.bitrix24.com"], env=env)
    assert result.exit_code == 1
    assert "--portal is for application mode" in line(result, "settings")


def test_the_last_event_is_what_the_portal_posted_not_what_a_sweep_queued(healthy: Rig) -> None:
    journal = healthy.resources.journal
    now = datetime.now(UTC)
    event = TaskEvent("ONTASKUPDATE", 691, None, "7", "acme.bitrix24.com", "m-1", "t")
    journal.append(event, now - QUIET_WARNING - timedelta(hours=1))  # the portal's, long ago
    journal.append(event, now, source="sweep")  # a sweep found it since: the webhook stays silent
    result = doctor(healthy)
    assert line(result, "last event").startswith("FAIL"), result.output
