"""Every command ends a failure with one line and a non-zero exit, never a traceback; asking for what
does not exist fails. Run as real processes: a traceback only shows outside click's test runner."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cl1-pa55w0rd-77aa"
CLOSED_PORTAL = "http://127.0.0.1:9/rest/1/c1osedc0de77/"  # discard port: nothing listens


@pytest.fixture
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="b24rules-cli-"))
    shutil.copytree(ROOT / "rules", folder / "rules")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def b24rules(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("B24_", "SENTRY_", "PROMETHEUS_"))}
    settings = {
        "B24_DATABASE_URL": f"sqlite:///{workdir / 'b24.sqlite3'}",
        "B24_RULES_DIR": str(workdir / "rules"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=workdir,
        env={**base, **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_failure(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    # Read-only commands first name the database they read (password masked); then the failure's line.
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("database: ")]
    assert len(lines) == 1, output
    for text in expected:
        assert text in lines[0], output
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["sweep"],
        ["sweep", "--since", "1h"],
        ["restore", "--rule", "drop-zero-duration-entries", "--since", "2h"],
    ],
)
def test_a_portal_command_without_the_webhook_names_the_setting(workdir: Path, args: list[str]) -> None:
    if args[0] == "restore":  # restore asks the portal only when there is something to restore
        seed_a_deleted_record(workdir)
    assert_one_line_failure(b24rules(workdir, *args), "B24_WEBHOOK_URL")


def test_sweep_against_a_failing_portal_is_one_line(workdir: Path) -> None:
    line = assert_one_line_failure(b24rules(workdir, "sweep", B24_WEBHOOK_URL=CLOSED_PORTAL), "sweep failed")
    assert "c1osedc0de77" not in line


def test_restore_against_a_failing_portal_says_so_per_record(workdir: Path) -> None:
    audit_id = seed_a_deleted_record(workdir)
    done = b24rules(workdir, "restore", str(audit_id), B24_WEBHOOK_URL=CLOSED_PORTAL)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    assert f"audit {audit_id}" in done.stdout
    assert "c1osedc0de77" not in done.stdout + done.stderr


def test_rearm_of_an_unknown_rule_fails(workdir: Path) -> None:
    service_ran(workdir)
    assert_one_line_failure(b24rules(workdir, "rearm", "no-such-rule"), "no rule named 'no-such-rule'")
    known = b24rules(workdir, "rearm", "drop-zero-duration-entries")
    assert known.returncode == 0, known.stderr
    assert "was not tripped" in known.stdout


def test_replay_of_an_unknown_event_fails_and_queues_nothing(workdir: Path) -> None:
    service_ran(workdir)
    assert_one_line_failure(b24rules(workdir, "replay", "424242"), "no stored event with id 424242")


def test_worker_creates_a_missing_metrics_folder(workdir: Path) -> None:
    folder = workdir / "metrics" / "not-yet"
    done = b24rules(
        workdir,
        "worker",
        "--once",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        B24_WEBHOOK_URL=CLOSED_PORTAL,
        B24_APPLICATION_TOKEN="t0ken-for-the-cli-test",
    )
    assert done.returncode == 0, done.stderr
    assert folder.is_dir()


@pytest.mark.parametrize("command", ["worker", "web", "serve"])
@pytest.mark.parametrize("where", ["below a file", "a file"])
def test_a_metrics_folder_that_cannot_be_made_is_one_line_naming_the_setting(
    workdir: Path, command: str, where: str
) -> None:
    blocker = workdir / "a-file"
    blocker.write_text("")
    done = b24rules(
        workdir,
        command,
        PROMETHEUS_MULTIPROC_DIR=str(blocker / "metrics" if where == "below a file" else blocker),
        B24_WEBHOOK_URL=CLOSED_PORTAL,
        B24_APPLICATION_TOKEN="t0ken-for-the-cli-test",
        PORT=str(free_port()),
    )
    assert_one_line_failure(done, "PROMETHEUS_MULTIPROC_DIR")


def test_serve_with_the_sandbox_leaves_no_sandbox_behind_when_it_cannot_start(workdir: Path) -> None:
    blocker = workdir / "a-file"
    blocker.write_text("")
    port = free_port()
    done = b24rules(
        workdir,
        "serve",
        "--sandbox",
        "--sandbox-port",
        str(port),
        PROMETHEUS_MULTIPROC_DIR=str(blocker / "metrics"),
        PORT=str(free_port()),
    )
    assert done.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR" in done.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the sandbox it started is still running"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_is_one_line_without_its_password(workdir: Path) -> None:
    url = f"postgresql://b24:{PASSWORD}@127.0.0.1:9/b24"
    for args in (["audit"], ["sweep"]):
        line = assert_one_line_failure(b24rules(workdir, *args, B24_DATABASE_URL=url), "B24_DATABASE_URL")
        assert PASSWORD not in line


def service_ran(workdir: Path) -> None:
    """The service's database exists (restore, rearm and replay refuse to run where there is none)."""
    from service.store.db import open_database

    open_database(f"sqlite:///{workdir / 'b24.sqlite3'}").dispose()


def seed_a_deleted_record(workdir: Path) -> int:
    from datetime import UTC, datetime

    from service.store.audit import AuditDraft, AuditLog
    from service.store.db import open_database

    engine = open_database(f"sqlite:///{workdir / 'b24.sqlite3'}")
    try:
        audit = AuditLog(engine)
        now = datetime.now(UTC)
        draft = AuditDraft(
            task_id=5,
            item_id=301,
            rule="drop-zero-duration-entries",
            ruleset_version="sha256:ab12",
            mode="enforce",
            outcome="pending",
            entry={"ID": "301", "TASK_ID": "5", "SECONDS": "0", "USER_ID": "1", "COMMENT_TEXT": ""},
            trace=[],
            reason="entry.seconds eq 0",
            cause="event:1",
        )
        [audit_id] = audit.record([draft], now)
        audit.set_outcome(audit_id, "deleted", now)
        return audit_id
    finally:
        engine.dispose()
