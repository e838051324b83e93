"""Every deletion leaves an audit record with the entry as it was, and `restore` brings it back, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from service.store.audit import AuditDraft, AuditLog
from service.store.db import open_database
from tests.e2e.commands import audit_records, run_cli
from tests.e2e.harness import Service, running, sample, service_env, wait_for

pytestmark = pytest.mark.slow

RULE = "drop-zero-duration-entries"
SLIP = {
    "seconds": 0,
    "user_id": 5,
    "comment": "timer slip\n\tsecond line",
    "created_date": "2025-09-20T10:15:00+03:00",
}
BLANK = {"seconds": 0, "user_id": 1, "comment": "", "created_date": "2025-09-21T08:00:00+03:00"}
REAL = {"seconds": 3600, "user_id": 1, "comment": "real work", "created_date": "2025-09-21T09:00:00+03:00"}


def rest_entries(sandbox: SandboxServer, task_id: int) -> list[dict[str, str]]:
    return [e.rest() for e in sandbox.portal.entries_of(task_id)]


def delete_zero_entries(sandbox: SandboxServer, service: Service) -> list[dict[str, str]]:
    """Post the sample ONTASKUPDATE for task 691 and wait until the rule has deleted its 0 s entries."""
    before = rest_entries(sandbox, 691)
    assert service.post_event(sample("ontaskupdate-webhook.form")).json()["status"] == "queued"
    wait_for(lambda: len(sandbox.portal.entries_of(691)) == 1)
    return [entry for entry in before if entry["SECONDS"] == "0"]


def test_a_deletion_leaves_a_record_of_the_entry_and_restore_brings_it_back_once(
    sandbox: SandboxServer, workdir: Path
) -> None:
    sandbox.portal.create_task("Write report", task_id=691, status=3, entries=[SLIP, BLANK, REAL])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))

    with running(service):
        deleted = delete_zero_entries(sandbox, service)
        records = audit_records(service, "--task", "691")
        table = run_cli(service, "audit").stdout
        first = run_cli(service, "restore", *(str(r["id"]) for r in records))
        after_first = rest_entries(sandbox, 691)
        second = run_cli(service, "restore", *(str(r["id"]) for r in records))
        by_rule = run_cli(service, "restore", "--rule", RULE, "--since", "1h")
        restored = audit_records(service, "--outcome", "restored")
        table_after = run_cli(service, "audit", "--task", "691").stdout
        # The rule still selects the restored 0 s entries, but an operator's restore is final: the next
        # event for the task deletes nothing and records why.
        assert service.post_event(sample("ontaskupdate-webhook.form")).json()["status"] == "queued"
        skipped = wait_for(lambda: audit_records(service, "--task", "691", "--outcome", "skipped"))
        after_next_event = rest_entries(sandbox, 691)

    # The record holds the entry exactly as the portal returned it, the rule, why, and what caused it.
    assert sorted((r["entry"] for r in records), key=lambda e: e["ID"]) == deleted
    for record in records:
        assert (record["rule"], record["outcome"], record["restore_state"]) == (RULE, "deleted", None)
        assert record["cause"].startswith("event:")
        assert record["ruleset_version"]
        assert {"path": "where.entry.seconds", "op": "eq", "expected": 0, "actual": 0, "ok": True} in record[
            "trace"
        ]
        assert datetime.fromisoformat(record["created_at"]).tzinfo is not None
    # The table: one header, one line per record, the comment flattened to one line.
    header, *lines = table.splitlines()
    assert header.split() == [
        "ID",
        "WHEN",
        "(UTC)",
        "TASK",
        "ENTRY",
        "RULE",
        "OUTCOME",
        "SECONDS",
        "USER",
        "COMMENT",
    ]
    assert len(lines) == 2
    assert any(line.endswith("timer slip second line") and " deleted " in line for line in lines)

    # Restored: same seconds, comment, author and date (the id is new: the API cannot reuse it).
    assert first.stdout.count("restored as entry") == 2
    assert len(after_first) == 3
    kept = ("SECONDS", "COMMENT_TEXT", "USER_ID", "CREATED_DATE")
    for entry in deleted:
        [back] = [e for e in after_first if e["COMMENT_TEXT"] == entry["COMMENT_TEXT"]]
        assert {k: back[k] for k in kept} == {k: entry[k] for k in kept}
        assert back["ID"] != entry["ID"]
    # A second restore, by id or by rule, creates nothing.
    assert second.stdout.count("already restored") == 2
    assert "nothing to restore" in by_rule.stdout
    assert rest_entries(sandbox, 691) == after_first
    assert len([c for c in sandbox.portal.calls("task.elapseditem.add") if c["status"] == 200]) == 2
    # And `audit` says so.
    assert sorted(r["id"] for r in restored) == sorted(r["id"] for r in records)
    new_ids = {int(e["ID"]) for e in after_first if e["SECONDS"] == "0"}
    assert {r["restored_item_id"] for r in restored} == new_ids
    assert sum(" restored " in line for line in table_after.splitlines()) == 2
    assert after_next_event == after_first
    assert {int(r["item_id"]) for r in skipped} == new_ids
    assert all("restored by an operator" in r["reason"] for r in skipped)


def test_a_restore_that_fails_leaves_the_record_restorable_and_never_makes_two_copies(
    sandbox: SandboxServer, workdir: Path
) -> None:
    sandbox.portal.create_task("Write report", task_id=691, status=3, auditors=[7], entries=[SLIP, REAL])
    sandbox.portal.add_webhook(7, "notadmin7", admin=False)  # sees the task, may not log time as user 5
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))

    with running(service):
        delete_zero_entries(sandbox, service)
        [record] = audit_records(service)
        audit_id = str(record["id"])
        refused = run_cli(
            service, "restore", audit_id, check=False, B24_WEBHOOK_URL=sandbox.webhook_url_for(7, "notadmin7")
        )
        [after_refusal] = audit_records(service)
        # A 500 on the add: the entry may or may not exist now, so restore will not guess.
        forced = {"task.elapseditem.add": {"code": "INTERNAL_SERVER_ERROR", "status": 500, "count": 1}}
        apply_config(sandbox.portal, {"faults": {"forced": forced}})
        unknown = run_cli(service, "restore", audit_id, check=False)
        held = run_cli(service, "restore", audit_id, check=False)
        shown_while_held = audit_records(service, "--outcome", "restoring")
        forced_retry = run_cli(service, "restore", "--force", audit_id)

    assert refused.returncode == 1
    assert "ACTION_NOT_ALLOWED" in refused.stdout
    assert "you can run restore again" in refused.stdout
    assert "notadmin7" not in refused.stdout + refused.stderr  # the webhook code is a secret
    assert (after_refusal["outcome"], after_refusal["restore_state"]) == ("deleted", None)
    assert (unknown.returncode, held.returncode) == (1, 1)
    assert "outcome unknown" in unknown.stdout
    assert f"restore --force {audit_id}" in held.stdout
    assert [r["id"] for r in shown_while_held] == [record["id"]]
    assert "restored as entry" in forced_retry.stdout
    assert sorted(e.seconds for e in sandbox.portal.entries_of(691)) == [0, 3600]


def test_the_worker_prunes_audit_records_older_than_the_retention_setting(
    sandbox: SandboxServer, workdir: Path
) -> None:
    env = service_env(workdir, sandbox.webhook_url, B24_AUDIT_RETENTION_DAYS="30")
    engine = open_database(env["B24_DATABASE_URL"])
    now = datetime.now(UTC)
    draft = AuditDraft(
        691, 1, RULE, "v1", "enforce", "pending", {"ID": "1"}, [], "entry.seconds eq 0", "sweep"
    )
    [old] = AuditLog(engine).record([draft], now - timedelta(days=40))  # kept by the 365-day default
    [recent] = AuditLog(engine).record([draft], now - timedelta(days=20))
    engine.dispose()
    service = Service(workdir, env)

    with running(service):
        remaining = wait_for(
            lambda: (ids := [r["id"] for r in audit_records(service)]) != [recent, old] and ids
        )

    assert remaining == [recent]
