"""python -m bench.workers [--tasks 2000] [--runs 3] [--sqlite]

Two worker processes against one: the same queue (one event for each of `--tasks` tasks, each task with
a 0-second entry to delete and one to keep) drained by 1 and then by 2 `b24rules worker
--no-sweep` processes sharing one database (PostgreSQL at B24_TEST_POSTGRES_URL, a throwaway schema;
`--sqlite` adds a run on one SQLite file), against a sandbox portal at 1,000 r/s (the portal out of the
way: CPU and database are the limit) and at the standard 2 r/s, burst 50 (the portal is the limit).
Drain time runs from starting the processes until every event is done (then they get SIGTERM); the
script checks that every 0-second entry was deleted. Alternating 1 and 2 workers, `--runs` times each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import measure
from bench.measure import own_cpu
from service.sandbox import PortalConfig, SandboxServer
from service.store.db import open_database
from service.store.journal import Journal
from tests.e2e.harness import database_url, service_env
from tests.e2e.workload import statuses
from tests.pgschema import postgres_unavailable, throwaway_schema

RATES = {"1000 r/s": (1000.0, 1000.0), "2 r/s": (2.0, 50.0)}


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield database_url(workdir)
        return
    if reason := postgres_unavailable():
        raise SystemExit(reason)
    with throwaway_schema("bench_workers") as url:
        yield url


def drain(kind: str, rate: tuple[float, float], tasks: int, workers: int) -> tuple[float, float, float]:
    """Seconds for `workers` processes to drain the queue, their CPU seconds together, and the CPU
    seconds the sandbox portal (this process) spent meanwhile."""
    sandbox = SandboxServer(config=PortalConfig(rate=rate[0], burst=rate[1])).start()
    for task_id in range(1, tasks + 1):
        sandbox.portal.create_task(
            f"t{task_id}", task_id=task_id, status=3, entries=[{"seconds": 0}, {"seconds": 60}]
        )
    workdir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        with database(kind, workdir) as url:
            # The breaker (500 deletions per rule and hour) would trip: this drain is meant to delete.
            settings = service_env(
                workdir, sandbox.webhook_url, B24_DATABASE_URL=url, B24_LOG_LEVEL="WARNING",
                B24_RATE_LIMIT=str(rate[0]), B24_RATE_BURST=str(int(rate[1])),
                B24_MAX_DELETIONS_PER_HOUR="10000000",
            )  # fmt: skip
            engine = open_database(url)
            journal = Journal(engine)
            queued = datetime.now(UTC) - timedelta(minutes=1)  # quiet already: claimable at once
            journal.enqueue_tasks(list(range(1, tasks + 1)), queued, source="event")
            serving = own_cpu()
            done = measure.drain(workdir, settings, workers, lambda: statuses(engine) == {"done": tasks})
            serving = own_cpu() - serving
            left = sum(1 for e in sandbox.portal.entries_of(None) if e.seconds == 0)
            engine.dispose()
            if left:
                raise SystemExit(f"{left} zero entries left; see {workdir}")
            elapsed, cpu = done.wall, done.cpu
            return elapsed, cpu, serving
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true", help="also on one SQLite file")
    args = parser.parse_args()
    kinds = ["postgresql", *(["sqlite"] if args.sqlite else [])]
    for kind in kinds:
        for rate_name, rate in RATES.items():
            seconds: dict[int, list[float]] = {1: [], 2: []}
            for run in range(1, args.runs + 1):
                for workers in (1, 2):
                    elapsed, cpu, serving = drain(kind, rate, args.tasks, workers)
                    seconds[workers].append(elapsed)
                    load = os.getloadavg()[0]
                    print(f"{kind} {rate_name} run {run}: {workers} worker(s) {elapsed:6.1f} s, "
                          f"CPU {cpu:5.1f} s (sandbox {serving:5.1f} s), load {load:.1f}",
                          flush=True)  # fmt: skip
            one, two = (statistics.median(seconds[n]) for n in (1, 2))
            ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(seconds[1], seconds[2], strict=True))
            print(f"{kind} {rate_name}: 1 worker {one:.1f} s ({min(seconds[1]):.1f}-{max(seconds[1]):.1f}), "
                  f"2 workers {two:.1f} s ({min(seconds[2]):.1f}-{max(seconds[2]):.1f}); "
                  f"speed-up per run {ratios}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
