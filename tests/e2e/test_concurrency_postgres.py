"""Four worker processes on one PostgreSQL database: no task is evaluated by two of them at once, and no
event is lost. The proof comes from two independent witnesses: the workers' own evaluation log lines
(owner, start, finish) and the sandbox portal's request log (which entry was deleted by how many calls)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workers import WorkerProcess, logs_of, start_workers
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
from tests.pgschema import postgres_unavailable, throwaway_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway schema on the real server, dropped afterwards."""
    if reason := postgres_unavailable():
        pytest.skip(reason)
    with throwaway_schema("e2e") as url:
        yield url


def overlapping(evaluations: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of evaluations of one task whose [started, finished] intervals overlap."""
    by_task: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for evaluation in evaluations:
        by_task[evaluation["task_id"]].append(evaluation)
    found = []
    for runs in by_task.values():
        runs.sort(key=lambda e: e["started"])
        for before, after in pairwise(runs):
            if datetime.fromisoformat(after["started"]) <= datetime.fromisoformat(before["finished"]):
                found.append((before, after))
    return found


def test_four_workers_share_1000_events_without_overlap_or_loss(
    sandbox: SandboxServer, workdir: Path, postgres_url: str
) -> None:
    portal = sandbox.portal
    seeded = seed_tasks(portal, 50)
    service = Service(
        workdir, service_env(workdir, sandbox.webhook_url, B24_DATABASE_URL=postgres_url, **FAST)
    )
    # Two waves of ten events per task, task after task: tasks go quiet (ripe) one after another while
    # the four workers poll, so they race for the same tasks and each task is evaluated more than once.
    wave = [event_form(task_id) for task_id in seeded.task_ids for _ in range(10)]

    with running(service, "web"):
        workers: list[WorkerProcess] = start_workers(service, 4)
        try:
            engine = database(service)
            assert len(set(post_all(service, wave, threads=4) + post_all(service, wave, threads=4))) == 1000
            wait_for(lambda: statuses(engine) == {"done": 1000}, timeout=90)
        finally:
            for worker in workers:
                worker.stop()

    evaluations = [e for worker in workers for e in worker.evaluations()]
    assert {e["task_id"] for e in evaluations} == set(seeded.task_ids), logs_of(workers)
    assert overlapping(evaluations) == []
    assert len({e["owner"] for e in evaluations}) >= 2  # the work really was shared
    assert remaining_entry_ids(portal) == seeded.kept_ids
    deletes = successful_deletes(portal)
    assert set(deletes) == seeded.zero_ids
    assert set(deletes.values()) == {1}  # two workers on one task would have deleted an entry twice
    assert [c for c in portal.calls("task.elapseditem.delete") if c["status"] != 200] == []
    assert leases(engine) == []
