"""Reopening a completed task voids the time logged before the reopen — and only that time.

The shipped `void-time-before-reopen` rule runs in shadow mode; these tests switch a copy of it to
enforce. The reopen is detected two ways: from the status snapshot the service stored when it saw the
task completed, and — on a first look at the task (fresh install, lost database) — from the task's
`tasks.task.history.list` STATUS rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from service.store.audit import AuditLog
from service.store.db import open_database
from service.store.snapshots import TaskSnapshots
from tests.e2e.harness import Service, control, database_url, rules_with, running, service_env, wait_for

pytestmark = pytest.mark.slow

ENFORCE = {"reopen.yaml": {"\n  mode: shadow ": "\n  mode: enforce"}}
RULE = "void-time-before-reopen"
TASK = 693


def _seed_worked_task(sandbox: SandboxServer, *, notify: bool) -> list[int]:
    """Task 693 in progress with two entries logged hours ago (by two users); their ids."""
    now = sandbox.portal.now()
    entries = [
        {"seconds": 3600, "user_id": 503, "comment": "first draft", "created_date": _iso(now, hours=-3)},
        {"seconds": 1800, "user_id": 1, "comment": "review", "created_date": _iso(now, hours=-2)},
    ]
    spec = {"id": TASK, "title": "Ship the release", "status": 3, "entries": entries, "notify": notify}
    created = control(sandbox.url, "POST", "tasks", spec)
    return [int(e["ID"]) for e in created["entries"]]


def _reopen(sandbox: SandboxServer, *, notify: bool) -> datetime:
    """Renew the task as a user would (STATUS history row completed → pending); the reopen's time."""
    view = control(sandbox.url, "POST", f"tasks/{TASK}/status", {"status": "renew", "notify": notify})
    row = view["history"][-1]
    assert (row["field"], row["from"], row["to"]) == ("STATUS", "5", "2")
    return datetime.fromisoformat(row["createdDate"])


def _log_after(sandbox: SandboxServer, reopened_at: datetime) -> int:
    """Time logged a minute after the reopen: new work, which the rule must keep."""
    body = {
        "seconds": 900,
        "user_id": 503,
        "comment": "after the reopen",
        "created_date": _iso(reopened_at, minutes=1),
    }
    return int(control(sandbox.url, "POST", f"tasks/{TASK}/entries", body)["ID"])


def _iso(moment: datetime, **delta: float) -> str:
    return (moment + timedelta(**delta)).isoformat()


def _ids(sandbox: SandboxServer) -> list[int]:
    return sorted(e.id for e in sandbox.portal.entries_of(TASK))


def _history_reads(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return sandbox.portal.calls("tasks.task.history.list")


def test_reopen_seen_live_deletes_only_time_logged_before_it(sandbox: SandboxServer, workdir: Path) -> None:
    env = service_env(workdir, sandbox.webhook_url, rules=rules_with(workdir, ENFORCE))
    with running(Service(workdir, env)) as service:
        sandbox.add_event_target(service.url + "/bitrix24/events")
        before = _seed_worked_task(sandbox, notify=True)
        control(sandbox.url, "POST", f"tasks/{TASK}/status", {"status": "complete"})
        engine = open_database(database_url(workdir))
        snapshots = TaskSnapshots(engine)
        wait_for(lambda: (s := snapshots.get(TASK)) is not None and s.status == 5, timeout=30)
        history_reads = len(_history_reads(sandbox))
        assert _ids(sandbox) == before  # completing the task voids nothing

        reopened_at = _reopen(sandbox, notify=True)
        after = _log_after(sandbox, reopened_at)
        wait_for(lambda: _ids(sandbox) == [after], timeout=30)
        wait_for(lambda: (s := snapshots.get(TASK)) is not None and s.status == 2, timeout=30)
        seen = snapshots.get(TASK)
        assert seen is not None

        # A later update is no reopen: the time logged after the reopen stays.
        control(sandbox.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": TASK})
        wait_for(lambda: (s := snapshots.get(TASK)) is not None and s.seen_at > seen.seen_at, timeout=30)

    assert _ids(sandbox) == [after]
    # The stored snapshot told the reopen apart: the status history was not read for it.
    assert len(_history_reads(sandbox)) == history_reads
    _assert_deleted_by_rule(sandbox, engine, before)


def test_first_look_after_a_reopen_uses_the_status_history(sandbox: SandboxServer, workdir: Path) -> None:
    # Everything happens before the service exists: no event reached it, it has no snapshot.
    before = _seed_worked_task(sandbox, notify=False)
    control(sandbox.url, "POST", f"tasks/{TASK}/status", {"status": "complete", "notify": False})
    reopened_at = _reopen(sandbox, notify=False)
    after = _log_after(sandbox, reopened_at)

    env = service_env(workdir, sandbox.webhook_url, rules=rules_with(workdir, ENFORCE))
    with running(Service(workdir, env)) as service:
        sandbox.add_event_target(service.url + "/bitrix24/events")
        control(sandbox.url, "POST", "events/send", {"event": "ONTASKUPDATE", "task_id": TASK})
        wait_for(lambda: _ids(sandbox) == [after], timeout=30)

    reads = _history_reads(sandbox)
    assert [str(r["params"]["taskId"]) for r in reads] == [str(TASK)]
    _assert_deleted_by_rule(sandbox, open_database(database_url(workdir)), before)


def _assert_deleted_by_rule(sandbox: SandboxServer, engine: object, expected: list[int]) -> None:
    deletes = [c for c in sandbox.portal.calls("task.elapseditem.delete") if c["status"] == 200]
    assert sorted(int(str(c["params"]["ITEMID"])) for c in deletes) == expected
    records = AuditLog(engine).query(task_id=TASK)  # type: ignore[arg-type]
    assert sorted((r.item_id, r.rule, r.outcome) for r in records) == [(i, RULE, "deleted") for i in expected]
    assert all("created_date" in r.reason for r in records)
