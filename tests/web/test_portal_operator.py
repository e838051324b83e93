"""`simulate --portal` and `diff --portal` on an installed portal (application mode, installed through
the real install handler): both read that portal with its OAuth token and judge by its effective rule
set, the shared folder plus its own `portals/<member id>/`."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from service.assembly.operator import operator_portal, scope_rules
from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.assembly.wiring import make_differ, make_simulator
from service.core.loader import load_ruleset
from service.sandbox import SandboxServer
from service.web.app import create_app
from tests.web.conftest import MEMBER, post_install

DROP_MINUTE = """\
- name: drop-one-minute
  on: [ONTASKUPDATE]
  action: delete
  where: {entry.seconds: 60}
"""


def _installed(resources: Resources, server: SandboxServer, rules: Path) -> None:
    client: FlaskClient = create_app(web_parts(resources)).test_client()
    assert post_install(client, server) == (200, "")
    (rules / "portals" / MEMBER).mkdir(parents=True)
    (rules / "portals" / MEMBER / "minute.yaml").write_text(DROP_MINUTE)
    server.portal.create_task("Report", task_id=691, status=3, entries=[{"seconds": 0}, {"seconds": 60}])


def test_simulate_on_a_portal_uses_its_own_rules_and_changes_nothing(
    app_mode: Resources, sandbox: SandboxServer, folders: tuple[Path, Path]
) -> None:
    _installed(app_mode, sandbox, folders[0])

    report = make_simulator(app_mode, MEMBER).task(691, "ONTASKUPDATE")

    assert "drop-one-minute" in report
    assert "drop-zero-duration-entries" in report
    assert len(sandbox.portal.entries_of(691)) == 2
    assert sandbox.portal.calls("task.elapseditem.delete") == []


def test_diff_on_a_portal_compares_its_running_set(
    app_mode: Resources, sandbox: SandboxServer, folders: tuple[Path, Path]
) -> None:
    _installed(app_mode, sandbox, folders[0])
    scope = operator_portal(app_mode, MEMBER)
    running = scope_rules(app_mode, scope).current()
    shared = load_ruleset({"rules/x.yaml": (folders[0] / "zero-duration.yaml").read_text()}).ruleset
    assert running is not None
    assert shared is not None

    # Proposed: the shared rules alone, i.e. the portal folder removed: its minute entry is spared.
    report = make_differ(app_mode, scope, live=True).live(running, shared, {691: ("ONTASKUPDATE",)})

    minute = [e.id for e in sandbox.portal.entries_of(691) if e.seconds == 60]
    assert [(c.rule, c.item_id, c.kind) for c in report.diff.changes()] == [
        ("drop-one-minute", minute[0], "no longer deleted")
    ]
    assert report.diff.newly_deleted == 0
    assert sandbox.portal.calls("task.elapseditem.delete") == []
