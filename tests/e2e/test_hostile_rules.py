"""A rule cannot hold a worker: the catastrophic pattern `^(a+)+$` passes `check` and evaluates a hostile
comment at once (RE2) while the other tasks keep moving; and SIGTERM stops a worker within its grace
period even mid-round against a portal that hangs, giving its task back for the next worker."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from tests.e2e.commands import run_cli, write_rules
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workers import WorkerProcess
from tests.e2e.workload import FAST, database, event_form, leases, post_all, rows, statuses

pytestmark = pytest.mark.slow
HOSTILE = "a" * 40 + "!"  # Python's re backtracks on ^(a+)+$ for hours on this
RULES = """\
- name: catastrophic-pattern
  on: [ONTASKUPDATE]
  where:
    entry.comment: {matches: '^(a+)+$'}
  action: delete
- name: zero
  on: [ONTASKUPDATE]
  where: {entry.seconds: 0}
  action: delete
"""
GRACE = 3.0


def test_the_catastrophic_pattern_holds_no_worker_and_sigterm_stops_one_mid_round(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.configure(rate=500.0, burst=1000.0)
    hostile: list[dict[str, object]] = [
        {"seconds": 60, "comment": HOSTILE},
        {"seconds": 60, "comment": "a" * 30},
    ]
    portal.create_task("hostile", task_id=501, status=3, entries=hostile)
    for task_id in range(502, 510):
        entries: list[dict[str, object]] = [{"seconds": 0, "comment": HOSTILE * 50}, {"seconds": 90}]
        portal.create_task(f"t{task_id}", task_id=task_id, status=3, entries=entries)
    env = service_env(workdir, sandbox.webhook_url, rules=write_rules(workdir, RULES), **FAST)
    service = Service(workdir, env)
    service.env["B24_WORKER_GRACE_SECONDS"] = str(GRACE)
    assert "no problems" in run_cli(service, "check").stdout  # RE2 runs it: check accepts it

    with running(service, "web"):
        engine = database(service)
        first = WorkerProcess(service, "worker-1").start()
        try:
            started = time.monotonic()
            post_all(service, [event_form(task_id) for task_id in range(501, 510)])
            wait_for(lambda: statuses(engine) == {"done": 9}, timeout=60)
            assert [e.comment for e in portal.entries_of(501)] == [HOSTILE]  # evaluated, not matched
            assert all([e.seconds for e in portal.entries_of(t)] == [90] for t in range(502, 510))
            assert time.monotonic() - started < 60
            [run] = [line for line in first.evaluations() if line["task_id"] == 501]
            took = datetime.fromisoformat(run["finished"]) - datetime.fromisoformat(run["started"])
            assert took.total_seconds() < 5  # the portal reads included; the regex itself takes µs

            # Every portal call now hangs 30 s: the next round is stuck in one when SIGTERM comes.
            apply_config(portal, {"faults": {"timeout_rate": 1.0, "hang_seconds": 30}})
            [event] = post_all(service, [event_form(501)])
            wait_for(lambda: leases(engine), timeout=30)
            time.sleep(0.5)  # inside the hanging call
            first.signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            first.wait(timeout=GRACE + 10)
            assert time.monotonic() - stopped_at < GRACE + 5  # within its grace, not after the 30 s call
            assert "round abandoned" in first.log()
            [row] = rows(engine, [event])
            assert (row["status"], row["attempts"]) == ("pending", 0)  # given back whole
            assert leases(engine) == []
        finally:
            first.stop()

        apply_config(portal, {"faults": {"timeout_rate": 0.0}})
        second = WorkerProcess(service, "worker-2").start()
        try:
            wait_for(lambda: rows(engine, [event])[0]["status"] == "done", timeout=60)  # nothing lost
        finally:
            second.stop()
