"""Rule changes reach the running service without a restart, the way Kubernetes delivers a ConfigMap.

The rules folder has the kubelet's layout: each file is a link `x.yaml -> ..data/x.yaml`, and `..data`
is a link to a timestamped folder; an update writes a new folder and renames a new link over `..data`.
A broken update keeps the last good set running and is reported (readyz, log, Sentry once) until fixed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import requests

from service.core.loader import load_ruleset
from service.plumbing.rulesource import read_rule_files
from service.sandbox import SandboxServer
from service.store.audit import AuditLog
from service.store.db import open_database
from tests.e2e.harness import ROOT, SentryReceiver, Service, running, service_env, wait_for

pytestmark = pytest.mark.slow

SHORT = """\
- name: drop-short-entries
  description: Entries under a minute are timer slips too.
  on: [ONTASKUPDATE]
  where:
    entry.seconds: {lt: 60}
  action: delete
"""
# Meant to widen the rule to two minutes, with a typo in the field name.
BROKEN = SHORT.replace("entry.seconds: {lt: 60}", "entry.second: {lt: 120}")
FIXED = SHORT.replace("{lt: 60}", "{lt: 120}")


class ConfigMapFolder:
    """A rules folder laid out and updated like a ConfigMap volume."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.mkdir()
        self._generation = 0

    def publish(self, files: dict[str, str]) -> str:
        """Write `files` as a new version, swap it in atomically; the version hash the service should show."""
        self._generation += 1
        stamp = self.path / f"..2026_01_01_00_00_{self._generation:02d}.000000001"
        stamp.mkdir()
        for name, text in files.items():
            (stamp / name).write_text(text)
        os.symlink(stamp.name, self.path / "..data_tmp")
        os.replace(self.path / "..data_tmp", self.path / "..data")  # the atomic swap
        for name in files:  # new keys get their link after the swap, as the kubelet does
            if not (self.path / name).is_symlink():
                os.symlink(f"..data/{name}", self.path / name)
        result = load_ruleset(read_rule_files(self.path))
        return result.ruleset.version if result.ruleset and not result.problems else ""


def shipped() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((ROOT / "rules").glob("*.yaml"))}


def readyz(service: Service, strict: bool = False) -> tuple[int, dict[str, Any]]:
    response = requests.get(service.url + "/readyz" + ("?strict=1" if strict else ""), timeout=5)
    return response.status_code, response.json()


def test_rule_changes_apply_without_restart_and_a_broken_set_keeps_the_last_good_one(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    # One task per step: an event right after our own deletions on a task would be held back as an echo.
    for task_id in (691, 692, 693):
        portal.create_task(
            "t", task_id=task_id, status=3, entries=[{"seconds": s} for s in (0, 45, 60, 3600)]
        )
    folder = ConfigMapFolder(workdir / "rules")
    first = folder.publish(shipped())
    env = service_env(workdir, sandbox.webhook_url, SENTRY_DSN=sentry.dsn)
    audit = AuditLog(open_database(env["B24_DATABASE_URL"]))
    service = Service(workdir, env)
    # One web process: each process keeps its own rule source, and this test reads /readyz of one.
    service.env["B24_WORKERS"] = "1"

    def event_leaves(task_id: int, seconds: list[int]) -> None:
        sandbox.sender.send("ONTASKUPDATE", task_id)
        wait_for(lambda: sorted(e.seconds for e in portal.entries_of(task_id)) == seconds, timeout=30)

    with running(service):
        sandbox.add_event_target(service.url + "/bitrix24/events")
        status, body = readyz(service)
        assert (status, body["status"], body["rules"]["version"]) == (200, "ready", first)

        # 1. A new rule file arrives: /readyz shows the new version, and the next event uses it.
        second = folder.publish({**shipped(), "short.yaml": SHORT})
        wait_for(lambda: readyz(service)[1]["rules"]["version"] == second, timeout=20)
        event_leaves(691, [60, 3600])  # 0 s (zero-duration rule) and 45 s (the new rule) are gone
        assert {r.ruleset_version for r in audit.query(task_id=691, rule="drop-short-entries")} == {second}

        # 2. A broken update: reported everywhere, and the last good set keeps working.
        folder.publish({**shipped(), "short.yaml": BROKEN})
        status, body = wait_for(lambda: (r := readyz(service))[1]["status"] == "degraded" and r, timeout=20)
        assert status == 200  # the pod stays ready: the last good set runs (docs/architecture.md)
        assert (body["rules"]["ok"], body["rules"]["version"]) == (False, second)
        problem = f"{folder.path / 'short.yaml'}:5:5: rule 'drop-short-entries': unknown field 'entry.second'"
        assert [p for p in body["rules"]["problems"] if p.startswith(problem)] == [
            problem + " (did you mean 'entry.seconds'?)"
        ]
        assert readyz(service, strict=True)[0] == 503
        event_leaves(692, [60, 3600])  # the last good set ran: 45 s (< 60) went, 60 s (< 120) stayed
        reports = wait_for(lambda: _rule_reports(sentry), timeout=20)
        refused = [line for line in service.logs().splitlines() if "rules refused" in line]
        assert refused
        assert all(problem in line for line in refused)

        # 3. Fixed: the problems clear and the fixed set runs.
        third = folder.publish({**shipped(), "short.yaml": FIXED})
        wait_for(lambda: readyz(service, strict=True)[0] == 200, timeout=20)
        status, body = readyz(service, strict=True)
        assert (body["status"], body["rules"]["version"], body["rules"]["problems"]) == ("ready", third, [])
        event_leaves(693, [3600])
        metrics = requests.get(service.url + "/metrics", timeout=5).text

    assert "b24rules_rules_ok 1.0" in metrics
    # One Sentry event for the broken set, though the web and the worker process both read it.
    assert len(reports) == 1
    assert len(_rule_reports(sentry)) == 1
    assert problem in str(reports[0])


def _rule_reports(sentry: SentryReceiver) -> list[dict[str, Any]]:
    return [e for e in sentry.events() if e.get("tags", {}).get("kind") == "rules"]
