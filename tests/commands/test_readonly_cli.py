"""Read-only commands (`audit`, `dead-letters`, `diff`) and those acting on stored records (`restore`,
`rearm`, `replay`) as a person runs them: they say which database they use, never create one where there
is none, and `dead-letters` shows each given-up task with its HTTP status."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.core.bitrix.errors import TransientError
from service.pipeline.settlement import describe
from service.store.db import open_database, shown_url
from service.store.journal import Journal

ROOT = Path(__file__).resolve().parents[2]


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("B24_")}
    environment.update(PYTHONPATH=str(ROOT), B24_RULES_DIR=str(ROOT / "rules"), **env)
    command = [sys.executable, "-m", "service", *args]
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)


def test_audit_in_a_folder_with_no_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    webhook = "http://127.0.0.1:9/rest/1/r3adonlyc0de/"  # set, so `diff` would get as far as the portal
    acting = (
        ["restore", "--rule", "drop-zero-duration"],
        ["rearm", "drop-zero-duration"],
        ["replay", "--failed"],
    )
    for command in (["audit"], ["dead-letters"], ["diff", str(ROOT / "rules")], *acting):
        done = run(tmp_path, *command, B24_WEBHOOK_URL=webhook)
        assert done.returncode == 1, done
        expected = f"no database at sqlite:///{tmp_path / 'var' / 'b24rules.sqlite3'}"
        assert expected in done.stderr
        assert "B24_DATABASE_URL" in done.stderr
        assert "Traceback" not in done.stderr
        assert list(tmp_path.iterdir()) == []  # no var/, no empty database


def test_dead_letters_lists_each_task_with_its_attempts_and_http_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.sqlite3'}"
    journal = Journal(open_database(url))
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    outage = TransientError("ERROR_UNEXPECTED_ANSWER", "the answer is not a JSON object", 503, "batch")
    first, second = (journal.enqueue_task(691, now, source="event") for _ in range(2))
    journal.enqueue_task(700, now, source="event")
    claims = {c.task_id: c for c in journal.claim("w", now, lease=timedelta(seconds=30))}
    journal.dead_letter(claims[691], now, error=f"retries exhausted: {describe(outage)}")

    done = run(tmp_path / "..", "dead-letters", B24_DATABASE_URL=url)

    assert done.returncode == 0, done
    assert f"database: {url}" in done.stderr
    [header, row, *rest] = done.stdout.splitlines()
    assert header.split()[:4] == ["TASK", "EVENTS", "NAMES", "ATTEMPTS"]
    assert row.split()[:4] == ["691", f"{first},{second}", "ONTASKUPDATE", "1"]
    assert "HTTP 503" in row
    assert "not a JSON object" in row
    assert "700" not in done.stdout  # not given up: it is no dead letter
    assert "b24rules replay --failed" in rest[-1]


def test_a_postgresql_password_is_never_shown() -> None:
    assert shown_url("postgresql://b24:s3cret@db.internal:5432/b24rules") == (
        "postgresql://b24:***@db.internal:5432/b24rules"
    )
    # libpq takes the password as a query parameter too: `audit` printed it in its `database:` line.
    assert shown_url("postgresql://b24@db.internal/b24rules?sslmode=require&password=s3cret") == (
        "postgresql://b24@db.internal/b24rules?password=***&sslmode=require"
    )
