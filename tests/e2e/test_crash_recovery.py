"""A worker killed outright (SIGKILL) or asked to stop (SIGTERM) in the middle of a round loses nothing
and does nothing twice: `b24rules web` and separate `b24rules worker` processes on one SQLite file."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from service.pipeline.worker import QUIET
from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workers import WorkerProcess, logs_of
from tests.e2e.workload import (
    FAST,
    database,
    event_form,
    leases,
    post_all,
    remaining_entry_ids,
    seed_tasks,
    statuses,
    successful_deletes,
)

pytestmark = pytest.mark.slow

NAMES = ("ONTASKUPDATE", "ONTASKADD", "ONTASKUPDATE", "ONTASKUPDATE", "ONTASKUPDATE")


def test_sigkill_mid_round_then_a_new_worker_finishes_everything_exactly_once(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 100)
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, **FAST))
    bodies = [event_form(task_id, name) for name in NAMES for task_id in seeded.task_ids]
    # Every portal request takes a while, so the round (7 read batches, 3 delete batches) is long
    # enough to be caught between its delete batches.
    apply_config(portal, {"faults": {"latency": 0.4}})

    with running(service, "web"):
        assert len(set(post_all(service, bodies))) == 500
        posted_at = time.monotonic()
        engine = database(service)
        assert statuses(engine) == {"pending": 500}
        # Every task's last event past the quiet window, so that the first round claims all 100 tasks
        # (a worker started sooner takes only the tasks already quiet: a short round, over before the kill).
        time.sleep(max(0.0, QUIET.quiet.total_seconds() + 0.5 - (time.monotonic() - posted_at)))
        first = WorkerProcess(service, "doomed").start()
        try:
            # Some selected entries are deleted, some are not yet: the round is half done.
            wait_for(lambda: 0 < len(seeded.zero_ids - remaining_entry_ids(portal)) < len(seeded.zero_ids),
                     timeout=60, interval=0.02)  # fmt: skip
            first.signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            first.stop()
        assert statuses(engine).get("processing", 0) > 0  # its claims died with it
        apply_config(portal, {"faults": {"latency": 0.0}})
        second = WorkerProcess(service, "survivor").start()
        try:
            wait_for(lambda: statuses(engine) == {"done": 500}, timeout=60)
        finally:
            second.stop()

    everyone = (first, second)
    assert remaining_entry_ids(portal) == seeded.kept_ids, logs_of(everyone)
    deletes = successful_deletes(portal)
    assert set(deletes) == seeded.zero_ids
    assert max(deletes.values()) == 1  # no entry was deleted twice
    assert not set(deletes) & seeded.kept_ids
    assert leases(engine) == []
    taken_over = [e for e in second.evaluations() if e["attempts"] >= 1]
    assert taken_over, "the survivor should have taken over the killed worker's leased tasks"
    evaluated = {e["task_id"] for worker in everyone for e in worker.evaluations()}
    assert evaluated == set(seeded.task_ids)


def test_sigterm_mid_round_finishes_the_round_and_leaves_nothing_claimed(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 30)
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, **FAST))
    apply_config(portal, {"faults": {"latency": 0.5}})

    with running(service, "web"):
        post_all(service, [event_form(task_id) for task_id in seeded.task_ids])
        engine = database(service)
        worker = WorkerProcess(service, "rolling").start()
        try:
            wait_for(lambda: statuses(engine).get("processing", 0) > 0, timeout=30, interval=0.02)
            worker.signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
        finally:
            worker.stop()
        after = statuses(engine)
        assert "processing" not in after
        assert leases(engine) == []
        assert sum(after.values()) == 30
        # The round in hand was finished, not abandoned: its tasks are done and their entries gone.
        finished = {e["task_id"] for e in worker.evaluations()}
        assert finished
        assert after.get("done", 0) == len(finished)
        assert "worker stopped" in {line.get("msg") for line in worker.lines()}

        apply_config(portal, {"faults": {"latency": 0.0}})
        rest = WorkerProcess(service, "next").start()
        try:
            wait_for(lambda: statuses(engine) == {"done": 30}, timeout=60)
        finally:
            rest.stop()

    assert remaining_entry_ids(portal) == seeded.kept_ids
    assert max(successful_deletes(portal).values()) == 1
