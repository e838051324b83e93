"""`b24rules check | test | simulate`: what a person editing rules sees, and the exit codes CI relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import cli
from service.sandbox import SandboxServer
from service.store.audit import AuditLog
from service.store.db import open_database
from service.store.snapshots import TaskSnapshots

ROOT = Path(__file__).resolve().parents[2]

BROKEN_A = """\
- name: drop-zero
  on: [ONTASKUPDATE]
  where:
    entry.second: 0
  action: delete

- name: old-entries
  on: [ONTASKUPDTE]
  where:
    entry.created_date: {older_then: 7d}
  action: delete
"""
BROKEN_B = """\
- name: drop-zero
  on: [ONTASKADD]
  where:
    entry.seconds: {lt: 1h}
  action: remove
"""
FAILING_TEST = """\
- name: drop-short
  on: [ONTASKUPDATE]
  where: {entry.seconds: {lt: 60}}
  action: delete
  tests:
    - name: short ones go
      entries: [{id: 1, seconds: 5}, {id: 2, seconds: 600}]
      deletes: [1]
    - name: a minute is short too
      entries: [{id: 1, seconds: 60}]
      deletes: [1]
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_passes_the_shipped_rules() -> None:
    code, out, _ = run("check", str(ROOT / "rules"))
    assert code == 0
    assert "2 rule(s) in 2 file(s), no problems" in out


def test_check_lists_every_problem_with_its_position_and_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BROKEN_A)
    (tmp_path / "b.yaml").write_text(BROKEN_B)
    code, _, err = run("check", str(tmp_path))
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert code == 1
    assert err.splitlines() == [
        f"{a}:4:5: rule 'drop-zero': unknown field 'entry.second' (did you mean 'entry.seconds'?)",
        f"{a}:8:8: rule 'old-entries': unknown event 'ONTASKUPDTE' (did you mean 'ONTASKUPDATE'?)",
        f"{a}:10:26: rule 'old-entries': unknown operator 'older_then' (did you mean 'older_than'?)",
        f"{b}:1:9: rule 'drop-zero': duplicate rule name (first defined at {a}:1:9)",
        f"{b}:4:25: rule 'drop-zero': entry.seconds lt: expected a whole number, got the string '1h'",
        f"{b}:5:11: rule 'drop-zero': unknown action 'remove'; use one of: delete",
        f"6 problem(s) in {tmp_path}",
    ]


def test_test_runs_the_shipped_inline_tests() -> None:
    code, out, _ = run("test", str(ROOT / "rules"))
    assert code == 0
    lines = out.splitlines()
    assert "PASS void-time-before-reopen: selects entries created before the reopen" in lines
    assert "PASS drop-zero-duration-entries: deletes only the zero-second entries" in lines
    assert lines[-1] == "4 passed, 0 failed"


def test_test_reports_a_failing_inline_test_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "short.yaml").write_text(FAILING_TEST)
    code, out, _ = run("test", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        "PASS drop-short: short ones go",
        f"FAIL drop-short: a minute is short too ({tmp_path / 'short.yaml'}:9:7): expected to delete [1], "
        "would delete []",
        "1 passed, 1 failed",
    ]


# --- simulate, against the sandbox portal ---------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def _reopened_task(sandbox: SandboxServer) -> tuple[list[int], datetime]:
    """Task 693, completed and reopened: entries logged before the reopen (one of 0 s) and after it."""
    portal = sandbox.portal
    now = portal.now()
    portal.create_task("Ship the release", task_id=693, status=3, entries=[
        {"seconds": 3600, "comment": "first draft", "created_date": now - timedelta(hours=2)},
        {"seconds": 0, "comment": "timer slip", "created_date": now - timedelta(hours=1)},
    ])  # fmt: skip
    portal.set_status(693, "complete")
    task = portal.set_status(693, "renew")
    reopened_at = task.status_changed_date
    after = portal.add_entry(
        693, 900, comment="after the reopen", created_date=reopened_at + timedelta(minutes=5)
    )
    return [e.id for e in portal.entries_of(693) if e.id != after.id] + [after.id], reopened_at


def simulate(sandbox: SandboxServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "B24_WEBHOOK_URL": sandbox.webhook_url,
        "B24_RULES_DIR": str(ROOT / "rules"),
        "B24_DATABASE_URL": f"sqlite:///{tmp_path / 'b24rules.sqlite3'}",
        "B24_LOG_FORMAT": "text",
    }
    command = [sys.executable, "-m", "service", "simulate", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_simulate_explains_each_rule_and_entry_and_changes_nothing(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    (first, zero, after), reopened_at = _reopened_task(sandbox)
    engine = open_database(f"sqlite:///{tmp_path / 'b24rules.sqlite3'}")
    snapshots = TaskSnapshots(engine)
    seen = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    snapshots.put(693, 5, seen)  # the service last saw the task completed
    calls_before = len(sandbox.portal.calls())

    result = simulate(sandbox, tmp_path, "--task", "693")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    when = reopened_at.isoformat()
    assert lines[0] == (
        "task 693 'Ship the release': pending, previously completed "
        f"(from the snapshot stored 2026-01-05 09:30 UTC); reopened at {when}"
    )
    expected_in_order = [
        "rule void-time-before-reopen [shadow]: applies; selects 2 of 3 entries",
        "    ok    task.reopened eq true   (actual: true)",
        f"  entry {first} (3600 s by user 1, created {(reopened_at - timedelta(hours=2)).isoformat()}, "
        "'first draft'): would be recorded only (rule is in shadow mode)",
        f"  entry {after} (900 s by user 1, created {(reopened_at + timedelta(minutes=5)).isoformat()}, "
        "'after the reopen'): keep",
        f"    FAIL  entry.created_date before $task.reopened_at = {when}   "
        f"(actual: {(reopened_at + timedelta(minutes=5)).isoformat()})",
        "rule drop-zero-duration-entries [enforce]: applies; selects 1 of 3 entries",
        "  (A timer started and stopped at once leaves a 0-second entry; it carries no time.)",
        "    FAIL  entry.seconds eq 0   (actual: 3600)",
        "summary:",
        f"  would be recorded only (rule is in shadow mode) 1: entry {first} by void-time-before-reopen",
        f"  would delete 1: entry {zero} by drop-zero-duration-entries",
        "read-only: nothing was deleted, recorded or changed.",
    ]
    positions = [lines.index(line) for line in expected_in_order]
    assert positions == sorted(positions)
    # The zero-second entry is selected by both rules; the enforcing one decides its fate.
    assert sum(f"  entry {zero} (" in line and "WOULD DELETE" in line for line in lines) == 1

    # Read-only: no deletion, no audit row, the snapshot untouched, and only reads were sent.
    assert [e.id for e in sandbox.portal.entries_of(693)] == [first, zero, after]
    methods = {c["method"] for c in sandbox.portal.calls()[calls_before:]}
    assert methods == {"batch", "tasks.task.get", "task.elapseditem.getlist"}  # a snapshot: no history
    assert AuditLog(engine).query(task_id=693) == []
    snapshot = snapshots.get(693)
    assert snapshot is not None
    assert (snapshot.status, snapshot.seen_at) == (5, seen)


def test_simulate_without_a_snapshot_reads_the_status_history(sandbox: SandboxServer, tmp_path: Path) -> None:
    _reopened_task(sandbox)
    result = simulate(sandbox, tmp_path, "--task", "693")
    assert result.returncode == 0, result.stderr
    assert "previously completed (from the task's status history: no snapshot stored)" in result.stdout
    assert len(sandbox.portal.calls("tasks.task.history.list")) == 1
    assert TaskSnapshots(open_database(f"sqlite:///{tmp_path / 'b24rules.sqlite3'}")).get(693) is None


def test_simulate_of_a_missing_task_says_so(sandbox: SandboxServer, tmp_path: Path) -> None:
    result = simulate(sandbox, tmp_path, "--task", "9999")
    assert result.returncode == 1
    assert "task 9999 does not exist or the webhook's user cannot see it" in result.stderr
    assert "sandbox" not in result.stderr  # the webhook code never appears
