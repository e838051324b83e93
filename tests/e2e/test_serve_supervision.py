"""`serve` keeps its worker alive: a worker killed outright is restarted and the queued event processed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from service.sandbox import SandboxServer
from tests.e2e.harness import Service, json_objects, running, sample, service_env, wait_for


def worker_pids(service: Service) -> list[int]:
    """`serve`'s worker processes alive now, oldest first: those that said "worker started" (their owner
    is host:pid) and are children of `serve` (the first is forked from it, so no command line tells)."""
    assert service.process is not None
    started = [line["owner"] for line in json_objects(service.logs()) if line.get("msg") == "worker started"]
    pids = [int(owner.rsplit(":", 1)[1]) for owner in started]
    return [pid for pid in pids if parent_of(pid) == service.process.pid]


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone
    return int(stat.rsplit(")", 1)[1].split()[1])  # field 4: the parent's pid


def test_a_killed_worker_is_restarted_and_nothing_is_lost(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("t", task_id=691, status=3, entries=[{"seconds": 0}, {"seconds": 60}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    with running(service):
        assert service.process is not None
        [first] = wait_for(lambda: worker_pids(service), timeout=15)
        # Forked from serve (its command line), sharing the memory of the modules serve imported.
        assert command_line(first) == command_line(service.process.pid)
        os.kill(first, signal.SIGKILL)
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        [second] = wait_for(lambda: [p for p in worker_pids(service) if p != first], timeout=20)
        assert command_line(second).endswith("-m service worker")  # a restart: an interpreter of its own
        wait_for(lambda: [e.seconds for e in portal.entries_of(691)] == [60], timeout=30)
