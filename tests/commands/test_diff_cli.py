"""`b24rules diff` as a person runs it: the report's lines, the review exit code, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import cli
from service.sandbox import SandboxServer

RULE = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: LIMIT}}\n"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def folder(path: Path, limit: int) -> Path:
    path.mkdir()
    (path / "rules.yaml").write_text(RULE.replace("LIMIT", str(limit)))
    return path


def diff(tmp_path: Path, webhook_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "B24_WEBHOOK_URL": webhook_url,
        "B24_RULES_DIR": str(tmp_path / "running"),
        "B24_DATABASE_URL": f"sqlite:///{tmp_path / 'b24rules.sqlite3'}",
    }
    command = [sys.executable, "-m", "service", "diff", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_report_names_each_changed_entry_with_both_reasons_and_exits_3_over_the_limit(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    task = sandbox.portal.create_task("t", task_id=5, entries=[{"seconds": s} for s in (45, 90, 600)])
    ninety = next(e.id for e in sandbox.portal.entries_of(task.id) if e.seconds == 90)
    folder(tmp_path / "running", 60)
    proposed = folder(tmp_path / "proposed", 120)
    result = diff(tmp_path, sandbox.webhook_url, str(proposed), "--tasks", "5", "--fail-over", "0")
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "rule drop-short: 1 newly deleted, 0 no longer deleted, 1 unchanged",
        f"  + task 5 entry {ninety} (90 s by user 1, created {_created(sandbox, ninety)})",
        "      proposed: entry.seconds lt 120 (actual 90)",
        "      running:  rule drop-short does not select it: entry.seconds lt 60 is false (actual 90)",
        "total: 1 newly deleted, 0 no longer deleted",
    ]
    assert "1 entries would be newly deleted (more than 0)" in result.stderr
    assert len(sandbox.portal.entries_of(5)) == 3  # read-only


def test_an_unreachable_portal_is_one_line_without_the_webhook_secret(tmp_path: Path) -> None:
    folder(tmp_path / "running", 60)
    proposed = folder(tmp_path / "proposed", 120)
    result = diff(tmp_path, "http://127.0.0.1:9/rest/1/s3cretcode/", str(proposed), "--tasks", "5")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"database: sqlite:///{tmp_path / 'b24rules.sqlite3'}"
    assert result.stderr.splitlines()[-1].startswith("Error: cannot read task 5:")
    assert "s3cretcode" not in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_proposed_rules_and_bad_task_ids_are_refused_before_anything_runs(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.yaml").write_text(RULE.replace("{lt: LIMIT}", "{lt: 1h}"))
    result = CliRunner().invoke(cli, ["diff", str(broken)])
    assert result.exit_code == 1
    assert (
        f"{broken / 'a.yaml'}:4:31: rule 'drop-short': entry.seconds lt: expected a whole number"
        in result.stderr
    )
    proposed = folder(tmp_path / "proposed", 120)
    bad = CliRunner().invoke(cli, ["diff", str(proposed), "--tasks", "5,x"])
    assert bad.exit_code == 2
    assert "'x' is not a task id" in bad.stderr
    superscript = CliRunner().invoke(cli, ["diff", str(proposed), "--tasks", "5,\u00b2"])  # '²'.isdigit()
    assert superscript.exit_code == 2, superscript.output
    assert "'\u00b2' is not a task id" in superscript.stderr


def _created(sandbox: SandboxServer, entry_id: int) -> str:
    return sandbox.portal.entries[entry_id].rest()["CREATED_DATE"]
