"""A time entry added without any event (a timer stopped at once) is found by the sweep and deleted.

Adding an entry fires no event and leaves the task's changedDate alone, so listing changed tasks never
shows it: the sweeper also follows new entries by id across all tasks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from tests.e2e.commands import run_cli
from tests.e2e.harness import Service, running, service_env, wait_for

pytestmark = pytest.mark.slow


def all_task_listings(sandbox: SandboxServer) -> list[dict[str, object]]:
    """The sweep's reads of entries across all tasks (ORDER first: no TASKID)."""
    return [c for c in sandbox.portal.calls("task.elapseditem.getlist") if c["keys"][:1] == ["ORDER"]]


def test_cli_sweep_finds_an_entry_added_without_an_event(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    task = portal.create_task("Timer task", task_id=701, status=3, entries=[{"seconds": 600}])
    # The edit rescan (B24_RESCAN_HOURS, tests/pipeline/test_rescan.py) lists recent entries on every sweep
    # too; off here, so the listings counted below are exactly the new-entry watermark's.
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, B24_RESCAN_HOURS="0"))
    with running(service):
        first = run_cli(service, "sweep").stdout  # the first sweep only sets the watermarks
        assert "enqueued 0 task(s)" in first
        changed_before = task.changed_date
        portal.add_entry(701, 0, comment="timer started and stopped")  # no event is sent
        assert task.changed_date == changed_before

        second = run_cli(service, "sweep").stdout

        assert "enqueued 1 task(s)" in second
        wait_for(lambda: [e.seconds for e in portal.entries_of(701)] == [600])
    listings = all_task_listings(sandbox)
    assert [c["keys"] for c in listings] == [["ORDER", "FILTER", "SELECT", "PARAMS"]] * 2
    assert all(c["status"] == 200 for c in listings)
    audit = run_cli(service, "audit", "--task", "701", "--json").stdout
    assert '"drop-zero-duration-entries"' in audit
    assert '"sweep"' in audit


def test_the_periodic_sweep_of_a_running_service_finds_it_too(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("Timer task", task_id=702, status=3, entries=[{"seconds": 600}])
    # Changed just before the service's first sweep (possibly in the same whole second the sweep lists
    # from): the first sweep only anchors its watermarks, so it is left alone.
    portal.create_task("Other task", task_id=703, status=3, entries=[{"seconds": 0}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, B24_SWEEP_INTERVAL="1"))
    with running(service):
        wait_for(lambda: all_task_listings(sandbox))  # the first sweep has read the newest entry id
        portal.add_entry(702, 0, comment="timer started and stopped")
        portal.add_entry(702, 0, comment="and again")

        wait_for(lambda: [e.seconds for e in portal.entries_of(702)] == [600], timeout=30)

    assert [e.seconds for e in portal.entries_of(703)] == [0]  # older than the first sweep: not swept
    assert portal.served(503) == 0
