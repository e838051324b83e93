"""`serve` keeps its worker alive: a worker killed outright is restarted and the queued event processed."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from service.sandbox import SandboxServer
from tests.e2e.harness import Service, running, sample, service_env, wait_for


def worker_pids(parent: int) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(parent), "-f", "service worker"], capture_output=True, text=True
    )
    return [int(pid) for pid in found.stdout.split()]


def test_a_killed_worker_is_restarted_and_nothing_is_lost(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("t", task_id=691, status=3, entries=[{"seconds": 0}, {"seconds": 60}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    with running(service):
        assert service.process is not None
        first = wait_for(lambda: worker_pids(service.process.pid), timeout=15)
        os.kill(first[0], signal.SIGKILL)
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        second = wait_for(lambda: [p for p in worker_pids(service.process.pid) if p != first[0]], timeout=20)
        assert second
        wait_for(lambda: [e.seconds for e in portal.entries_of(691)] == [60], timeout=30)
