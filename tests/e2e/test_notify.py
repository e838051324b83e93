"""A rule with `notify`: three entries of one author deleted on a task make one comment naming all three;
in shadow mode nothing is posted or deleted, and the audit says what would have been posted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from service.store.db import open_database
from service.store.journal import Journal
from tests.e2e.commands import run_cli, write_rules
from tests.e2e.harness import Service, control, service_env

pytestmark = pytest.mark.slow

RULE = """\
- name: drop-short-entries
  description: Entries under a minute are timer slips.
  on: [ONTASKUPDATE]
  where: {entry.seconds: {lt: 60}}
  action: delete
  notify:
    to: [author]
    via: comment
    message: >-
      Removed {entry.seconds} s logged on {entry.created_date:%d.%m} by rule {rule.name}: {rule.description}
"""
AUTHOR = 503
TASK = 801


def process_task(sandbox: SandboxServer, workdir: Path, rules: str) -> Service:
    """One worker pass over the task, the way the worker handles an event for it."""
    sandbox.portal.create_task(
        "t", task_id=TASK, status=3, entries=[{"seconds": s, "user_id": AUTHOR} for s in (10, 20, 30, 3600)]
    )
    env = service_env(workdir, sandbox.webhook_url, rules=write_rules(workdir, rules))
    service = Service(workdir, env)
    Journal(open_database(env["B24_DATABASE_URL"])).enqueue_task(TASK, datetime.now(UTC), source="event")
    run_cli(service, "worker", "--once", "--no-sweep")
    return service


def notices(service: Service) -> list[dict[str, Any]]:
    lines = run_cli(service, "audit", "--notifications", "--json").stdout.splitlines()
    return [json.loads(line) for line in lines]


def expected_lines(sandbox: SandboxServer) -> list[str]:
    day = sandbox.portal.now().strftime("%d.%m")  # the entries were logged today, in the portal's zone
    return [
        f"Removed {s} s logged on {day} by rule drop-short-entries: Entries under a minute are timer slips."
        for s in (10, 20, 30)
    ]


def test_three_deleted_entries_of_one_author_make_one_comment_naming_them(
    sandbox: SandboxServer, workdir: Path
) -> None:
    service = process_task(sandbox, workdir, RULE)
    assert [e.seconds for e in sandbox.portal.entries_of(TASK)] == [3600]
    posted = control(sandbox.url, "GET", f"messages?task_id={TASK}")
    assert len(posted) == 1  # one per person per task, not one per entry
    assert (posted[0]["kind"], posted[0]["task_id"]) == ("comment", TASK)
    assert posted[0]["text"].splitlines() == expected_lines(sandbox)
    [call] = sandbox.portal.calls("task.commentitem.add")
    assert call["keys"] == ["TASKID", "FIELDS"]  # positional: the order is the contract
    assert call["in_batch"] is not None  # sent through `batch`, like the deletions
    [record] = notices(service)
    assert (record["outcome"], record["recipient"], record["via"]) == ("sent", 0, "comment")  # the task
    assert len(record["item_ids"]) == 3


def test_in_shadow_mode_nothing_is_posted_and_the_audit_says_what_would_have_been(
    sandbox: SandboxServer, workdir: Path
) -> None:
    service = process_task(
        sandbox, workdir, RULE.replace("  action: delete\n", "  action: delete\n  mode: shadow\n")
    )
    assert sorted(e.seconds for e in sandbox.portal.entries_of(TASK)) == [10, 20, 30, 3600]
    assert control(sandbox.url, "GET", "messages") == []
    assert sandbox.portal.calls("task.commentitem.add") == []
    [record] = notices(service)
    assert (record["outcome"], record["recipient"], record["via"]) == ("would-notify", 0, "comment")
    assert record["message"].splitlines() == expected_lines(sandbox)
    text = run_cli(service, "audit", "--notifications").stdout
    assert "would-notify" in text
