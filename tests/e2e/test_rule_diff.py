"""`b24rules diff` on a sandbox portal of 200 tasks: exactly the entries whose fate a threshold change
alters, read in the fewest batch requests; `--from-audit` agrees on the audited entries with no request."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from service.store.audit import AuditLog
from service.store.db import open_database
from service.store.journal import Journal
from tests.e2e.commands import run_cli, write_rules
from tests.e2e.harness import Service, service_env

pytestmark = pytest.mark.slow

TASKS = 200
RUNNING = """\
- name: drop-short-entries
  on: [ONTASKUPDATE]
  where: {entry.seconds: {lt: SHORT}}
  action: delete
- name: drop-overlong-entries
  on: [ONTASKUPDATE]
  where: {entry.seconds: {gt: LONG}}
  action: delete
"""


def rules(short: int, long: int) -> str:
    return RUNNING.replace("SHORT", str(short)).replace("LONG", str(long))


def fate(seconds: int, short: int, long: int) -> str | None:
    """Which rule deletes an entry of `seconds` (the test's own reading of the two rules)."""
    if seconds < short:
        return "drop-short-entries"
    if seconds > long:
        return "drop-overlong-entries"
    return None


def expected_changes(
    entries: dict[tuple[int, int], int], keys: set[tuple[int, int]] | None = None
) -> set[Any]:
    changes = set()
    for key, seconds in entries.items():
        before, after = fate(seconds, 60, 36000), fate(seconds, 30, 28800)
        if keys is not None and key not in keys:
            continue
        if after and not before:
            changes.add(("newly_deleted", after, *key))
        elif before and not after:
            changes.add(("no_longer_deleted", before, *key))
    return changes


def reported(document: dict[str, Any]) -> set[Any]:
    return {
        (kind, rule["rule"], change["task_id"], change["item_id"])
        for rule in document["rules"]
        for kind in ("newly_deleted", "no_longer_deleted")
        for change in rule[kind]
    }


def test_diff_lists_exactly_the_changed_entries_in_few_requests_and_from_the_audit_in_none(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    pick = random.Random(14)
    choices = (0, 10, 29, 30, 45, 59, 60, 600, 3600, 28800, 30000, 36000, 40000)
    for task_id in range(1, TASKS + 1):
        portal.create_task(
            "t", task_id=task_id, status=3, entries=[{"seconds": pick.choice(choices)} for _ in range(3)]
        )
    entries = {(e.task_id, e.id): e.seconds for e in portal.entries_of(None)}
    env = service_env(
        workdir, sandbox.webhook_url, rules=write_rules(workdir, rules(60, 36000)), B24_DRY_RUN="true"
    )
    service = Service(workdir, env)
    proposed = workdir / "proposed"
    proposed.mkdir()
    (proposed / "rules.yaml").write_text(rules(30, 28800))

    # The running set has seen every task (dry-run: the audit records what it would delete, nothing goes).
    engine = open_database(env["B24_DATABASE_URL"])
    for task_id in range(1, TASKS + 1):  # what `b24rules sweep --since 1d` would enqueue
        Journal(engine).enqueue_task(task_id, datetime.now(UTC))
    run_cli(service, "worker", "--once", "--no-sweep")
    audited = {(r.task_id, r.item_id) for r in AuditLog(engine).query(limit=10_000)}
    assert audited == {k for k, s in entries.items() if fate(s, 60, 36000)}

    requests_before, deletes_before = (
        portal.stats.http_total,
        portal.stats.calls_by_method["task.elapseditem.delete"],
    )
    # CI can require a review: more newly deleted entries than `--fail-over` allows exits 3.
    done = run_cli(service, "diff", str(proposed), "--json", "--fail-over", "0", check=False)
    assert done.returncode == 3, done.stderr
    assert "newly deleted (more than 0)" in done.stderr
    live = json.loads(done.stdout)
    requests = portal.stats.http_total - requests_before
    assert live["tasks"] == TASKS
    assert reported(live) == expected_changes(entries)
    assert live["newly_deleted"] == sum(1 for c in expected_changes(entries) if c[0] == "newly_deleted") > 0
    assert live["no_longer_deleted"] > 0
    # Each task is two reads (task + entries): 25 tasks to a batch of 50 is the floor.
    assert requests == math.ceil(TASKS * 2 / 50) == 8
    assert portal.stats.calls_by_method["task.elapseditem.delete"] == deletes_before

    requests_before = portal.stats.http_total
    done = run_cli(service, "diff", str(proposed), "--from-audit", "--json", "--fail-over", "0")
    from_audit = json.loads(done.stdout)  # exit 0: the audited entries are only spared, none newly deleted
    assert portal.stats.http_total == requests_before  # not one request
    assert reported(from_audit) == {c for c in reported(live) if (c[2], c[3]) in audited}
    assert reported(from_audit) == expected_changes(entries, audited)
