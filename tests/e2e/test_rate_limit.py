"""A burst of events against a portal with a tight rate limit: several worker processes share one
bucket, so the work completes without the portal ever answering 503 QUERY_LIMIT_EXCEEDED."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.sandbox import PortalConfig, SandboxServer
from tests.e2e.harness import Service, service_env, wait_for
from tests.e2e.workers import scaled
from tests.e2e.workload import queue_counts

pytestmark = pytest.mark.slow

TASKS = range(101, 161)  # 60 tasks
EVENTS_PER_TASK = 5  # 300 events
ENTRIES = (0, 60, 0, 3600)  # two match the shipped zero-duration rule


def test_a_burst_across_three_workers_never_exceeds_the_portal_limit(workdir: Path) -> None:
    with SandboxServer(config=PortalConfig(rate=2.0, burst=10.0)) as sandbox:
        portal = sandbox.portal
        for task_id in TASKS:
            portal.create_task(f"task {task_id}", task_id=task_id, status=3,
                               entries=[{"seconds": s, "comment": f"{s}s"} for s in ENTRIES])  # fmt: skip
        env = service_env(workdir, sandbox.webhook_url, B24_RATE_LIMIT="2", B24_RATE_BURST="10")
        service = Service(workdir, env)
        with scaled(service, workers=3) as workers:
            sandbox.add_event_target(service.url + "/bitrix24/events")
            # Someone works through the tasks one after another, a few changes each, ~50 events/s:
            # tasks settle and are claimed a few at a time, so the workers send many small rounds at
            # once and the shared bucket, not luck, keeps them under the portal's limit.
            for task_id in TASKS:
                for _change in range(EVENTS_PER_TASK):
                    [delivery] = sandbox.sender.send("ONTASKUPDATE", task_id)
                    assert delivery.status == 200, delivery
                    time.sleep(0.02)
            total = len(TASKS) * EVENTS_PER_TASK
            wait_for(lambda: queue_counts(service).get("done") == total, timeout=240, interval=1.0)
            assert all(worker.alive() for worker in workers)

        assert queue_counts(service) == {"done": total}
        for task_id in TASKS:
            assert sorted(e.seconds for e in portal.entries_of(task_id)) == [60, 3600], task_id
        requests = [(round(c["ts"], 2), c["status"]) for c in portal.calls() if c["in_batch"] is None]
        assert portal.served(503) == 0, requests
        assert portal.served(429) == 0
        deletes = [c for c in portal.calls("task.elapseditem.delete") if c["status"] == 200]
        assert len(deletes) == 2 * len(TASKS)  # each matching entry once: no double work across workers
