"""The record under chaos: a burst over many tasks while about a fifth of the portal's requests fail —
server errors, connections reset before the method runs, answers lost after it ran — and a worker
killed (SIGKILL) mid-delete. Afterwards every audit row is settled, every entry the portal lost has a
deleted-by-us row, `restore` brings each back exactly once, and nothing else was deleted."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from service.store.audit import audit_log
from tests.e2e.commands import run_cli
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workers import WorkerProcess, logs_of
from tests.e2e.workload import (
    FAST,
    database,
    event_form,
    post_all,
    remaining_entry_ids,
    seed_tasks,
    statuses,
    successful_deletes,
)

pytestmark = pytest.mark.slow

RULE = "drop-zero-duration-entries"
FINAL = {"deleted", "gone", "failed", "shadow", "dry-run", "tripped", "skipped"}
CHAOS = {
    "seed": 11,
    "faults": {
        "error_rate": 0.07,  # 500 or an HTML 503 before the method runs
        "error_statuses": [500, 503],
        "reset_rate": 0.07,  # connection reset before the method runs
        "lost_answer_rate": 0.07,  # the method runs, the connection closes with no answer
        "latency": 0.3,  # rounds long enough to be killed in the middle of
    },
}
CALM = {"faults": {"error_rate": 0.0, "reset_rate": 0.0, "lost_answer_rate": 0.0, "latency": 0.0}}


def outcomes(service: Service) -> Counter[str]:
    engine = database(service)
    query = select(audit_log.c.outcome, func.count()).group_by(audit_log.c.outcome)
    with engine.connect() as connection:
        return Counter({str(outcome): int(count) for outcome, count in connection.execute(query)})


def deleted_rows(service: Service) -> Counter[int]:
    engine = database(service)
    query = select(audit_log.c.item_id).where(audit_log.c.outcome == "deleted", audit_log.c.rule == RULE)
    with engine.connect() as connection:
        return Counter(int(item) for item in connection.scalars(query))


def test_chaos_leaves_every_row_settled_and_every_lost_entry_restorable_once(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 40)
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, **FAST))
    names = ("ONTASKUPDATE", "ONTASKADD")
    bodies = [event_form(task_id, name) for name in names for task_id in seeded.task_ids]
    apply_config(portal, CHAOS)

    with running(service, "web"):
        post_all(service, bodies)
        engine = database(service)
        doomed = WorkerProcess(service, "doomed").start()
        try:  # killed with some deletions sent and others not yet
            # Its first rows are written `pending` and their delete batch is on its way; the portal answers
            # after its 0.3 s latency, so the answer dies with the worker. (Waiting for the portal to log
            # the delete instead raced the worker recording the answer: 1 run in 3 killed it after.)
            wait_for(lambda: outcomes(service)["pending"], timeout=90, interval=0.01)
            time.sleep(0.1)
            doomed.signal(signal.SIGKILL)
            doomed.wait(timeout=10)
        finally:
            doomed.stop()
        # Its rows are `pending` (written, sent, never answered): whoever reads the task next settles them.
        assert outcomes(service)["pending"] > 0, outcomes(service)  # the kill did land mid-delete
        apply_config(portal, {"faults": {"latency": 0.02}})
        fleet = [WorkerProcess(service, f"survivor-{n}").start() for n in range(2)]
        try:  # the survivors take over the dead worker's tasks, still under the faults
            wait_for(lambda: set(statuses(engine)) == {"done"}, timeout=120, interval=0.2)
        finally:
            for worker in fleet:
                worker.stop()
    everyone = [doomed, *fleet]

    lost = seeded.zero_ids - remaining_entry_ids(portal)
    assert set(outcomes(service)) <= FINAL, (outcomes(service), logs_of(everyone))
    assert remaining_entry_ids(portal) >= seeded.kept_ids  # nothing a rule did not select was deleted
    assert lost == seeded.zero_ids  # and everything it selected went, in the end
    deleted = deleted_rows(service)
    assert set(deleted) == lost  # every entry the portal lost has a deleted-by-us row …
    assert max(deleted.values()) == 1  # … exactly one
    assert portal.served(500) + portal.served(503) > 0  # the faults did happen
    assert portal.stats.dropped["lost"]  # so did both silent ones
    assert portal.stats.dropped["reset"]

    apply_config(portal, CALM)
    done = run_cli(service, "restore", "--rule", RULE, "--since", "1h")
    assert done.stdout.count("restored as entry") == len(lost), done.stdout
    back = [e for e in portal.entries_of(None) if e.seconds == 0]
    assert len(back) == len(lost)  # each exactly once
    again = run_cli(service, "restore", "--rule", RULE, "--since", "1h", check=False)
    assert "restored as entry" not in again.stdout.replace("already restored as entry", "")
    assert len([e for e in portal.entries_of(None) if e.seconds == 0]) == len(lost)
    assert max(successful_deletes(portal).values()) == 1  # no entry was deleted twice
