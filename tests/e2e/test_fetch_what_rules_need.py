"""The service asks the portal only for what the loaded rules read (seen in the sandbox's request log):
tasks.task.get selects the task fields the rules reference, and the status history is read only when a
rule needs the task's previous status and no snapshot of the task is stored yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from service.store.db import open_database
from service.store.snapshots import TaskSnapshots
from tests.e2e.harness import Service, database_url, running, sample, service_env, wait_for

pytestmark = pytest.mark.slow

TITLE_RULE = """\
- name: drop-empty-report-entries
  on: [ONTASKUPDATE]
  when: {task.title: {matches: "(?i)report"}}
  where: {entry.seconds: 0, entry.user_id: $task.responsible_id}
  action: delete
"""


def _selects(sandbox: SandboxServer) -> list[set[str]]:
    """The `select` of every tasks.task.get the service sent (PHP arrays arrive as {"0": …})."""
    out = []
    for call in sandbox.portal.calls("tasks.task.get"):
        select = call["params"]["select"]
        out.append(set(select.values() if isinstance(select, dict) else select))
    return out


def test_select_names_only_the_task_fields_the_rules_read(sandbox: SandboxServer, workdir: Path) -> None:
    rules = workdir / "own-rules"
    rules.mkdir()
    (rules / "report.yaml").write_text(TITLE_RULE)
    portal = sandbox.portal
    portal.create_task("Quarterly report", task_id=691, status=3, responsible_id=503,
                       entries=[{"seconds": 0, "user_id": 503}, {"seconds": 0, "user_id": 1}])  # fmt: skip
    with running(Service(workdir, service_env(workdir, sandbox.webhook_url, rules=rules))) as service:
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        wait_for(lambda: [e.user_id for e in portal.entries_of(691)] == [1], timeout=30)

    assert _selects(sandbox) == [{"ID", "STATUS", "TITLE", "RESPONSIBLE_ID"}]
    assert portal.calls("tasks.task.history.list") == []  # no rule reads a previous status


def test_history_is_read_only_while_no_snapshot_exists(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("t", task_id=691, status=3, entries=[{"seconds": 60}])
    with running(Service(workdir, service_env(workdir, sandbox.webhook_url))) as service:
        snapshots = TaskSnapshots(open_database(database_url(workdir)))
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        first = wait_for(lambda: snapshots.get(691), timeout=30)
        assert len(portal.calls("tasks.task.history.list")) == 1  # the first look: no snapshot yet
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        wait_for(lambda: (s := snapshots.get(691)) is not None and s.seen_at > first.seen_at, timeout=30)

    assert len(portal.calls("tasks.task.history.list")) == 1
    # The shipped rules read entry.seconds, task.reopened and task.reopened_at: the status and the date
    # it last changed (which dates a reopen seen against the snapshot) — nothing else of the task.
    assert _selects(sandbox) == [{"ID", "STATUS", "STATUS_CHANGED_DATE"}] * 2
