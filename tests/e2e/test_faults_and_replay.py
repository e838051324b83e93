"""What an operator sees when the portal misbehaves: an outage is retried until it passes, a permanent
error becomes one dead letter and one Sentry event, and `b24rules replay` finishes it once fixed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from service.store.portalchecks import PortalChecks
from tests.e2e.commands import run_cli
from tests.e2e.harness import SentryReceiver, Service, running, service_env, wait_for
from tests.e2e.workers import WorkerProcess
from tests.e2e.workload import (
    FAST,
    database,
    event_form,
    leases,
    post_all,
    remaining_entry_ids,
    rows,
    seed_tasks,
    statuses,
)

pytestmark = pytest.mark.slow


def reports(sentry: SentryReceiver) -> list[dict[str, Any]]:
    """Sentry events (an envelope's header also carries the event id, but no tags)."""
    return [item for item in sentry.events() if "tags" in item]


def test_an_outage_is_retried_with_backoff_and_everything_completes_after_it(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 10)
    env = service_env(workdir, sandbox.webhook_url, SENTRY_DSN=sentry.dsn, **FAST)
    service = Service(workdir, env)

    with running(service, "web"):
        engine = database(service)
        worker = WorkerProcess(service, "worker").start()
        try:
            # The worker first confirms the webhook is an administrator's while the portal answers (it
            # claims nothing before that: tests/e2e/test_non_admin_webhook.py); then the portal goes down.
            wait_for(lambda: (verdict := PortalChecks(engine).get()) is not None and verdict.ok, timeout=60)
            apply_config(portal, {"faults": {"fail_all_for": 600, "fail_all_status": 500}})
            ids = post_all(service, [event_form(task_id) for task_id in seeded.task_ids])
            # Every REST call fails: the events go back to pending, each failure counted.
            wait_for(lambda: all(r["attempts"] >= 2 for r in rows(engine, ids)), timeout=60)
            during = rows(engine, ids)
            assert {r["status"] for r in during} <= {"pending", "processing"}
            assert all(
                "INTERNAL_SERVER_ERROR" in (r["last_error"] or "") for r in during if r["status"] == "pending"
            )
            assert remaining_entry_ids(portal) == seeded.zero_ids | seeded.kept_ids  # nothing deleted yet
            apply_config(portal, {"faults": {"fail_all_for": 0}})  # the portal recovers
            wait_for(lambda: statuses(engine) == {"done": 10}, timeout=60)
        finally:
            worker.stop()

    assert remaining_entry_ids(portal) == seeded.kept_ids
    assert portal.served(500) >= 2
    assert "will retry" in {line.get("msg") for line in worker.lines()}
    assert reports(sentry) == []  # transient trouble that passed is not an alert


def test_a_permanent_error_is_one_dead_letter_and_one_sentry_event_and_replay_finishes_it(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 2)  # task 1001: entries 0 and 60 s; task 1002: 0, 0 and 300 s
    env = service_env(workdir, sandbox.webhook_url, SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="e2e", **FAST)
    service = Service(workdir, env)
    denied = {"code": "ACCESS_DENIED", "status": 403, "description": "Access denied"}
    apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": denied}}})

    with running(service, "web"):
        first, second = post_all(service, [event_form(1001), event_form(1002)], threads=1)
        engine = database(service)
        worker = WorkerProcess(service, "worker").start()
        try:
            wait_for(lambda: statuses(engine) == {"dead": 2}, timeout=60)
            wait_for(lambda: len(reports(sentry)) >= 2, timeout=30)
            time.sleep(3)  # room for a duplicate report to show up if there were one
            sent = reports(sentry)
            assert len(sent) == 2  # exactly one per dead letter
            assert {e["tags"]["task_id"] for e in sent} == {"1001", "1002"}
            assert {e["tags"]["error_code"] for e in sent} == {"ACCESS_DENIED"}
            dead = rows(engine, [first, second])
            assert [r["attempts"] for r in dead] == [1, 1]  # permanent: no retries
            assert remaining_entry_ids(portal) == seeded.zero_ids | seeded.kept_ids

            apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": None}}})  # cause fixed
            assert "queued 1 event(s) again" in run_cli(service, "replay", str(first)).stdout
            wait_for(lambda: rows(engine, [first])[0]["status"] == "done", timeout=30)
            assert rows(engine, [second])[0]["status"] == "dead"  # only what was asked for
            assert "queued 1 event(s) again" in run_cli(service, "replay", "--failed").stdout
            wait_for(lambda: statuses(engine) == {"done": 2}, timeout=30)
        finally:
            worker.stop()

    assert remaining_entry_ids(portal) == seeded.kept_ids
    assert leases(engine) == []
    assert len(reports(sentry)) == 2  # the replays succeeded: nothing new reported
