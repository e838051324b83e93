"""python -m bench.worker [--tasks 500] [--runs 3] [--before DIR]

The worker's own CPU per task: `b24rules worker --once --no-sweep` (SQLite) drains one event for each of
`--tasks` tasks against a sandbox portal whose rate limit is out of the way (1,000 r/s), and its CPU
time (user + system, from the kernel's accounting of the finished child) is read. The same command on
the same database with an empty queue, run just before, is the baseline subtracted: start-up and imports
are not per-task costs. Two workloads: "no match" (every entry has time: nothing to delete) and "match"
(one 0-second entry per task: one deletion, its audit row and outcome). `--before DIR` runs another
checkout alongside, alternating, as the baseline of a change.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import command
from service.sandbox import PortalConfig, SandboxServer
from service.store.db import make_engine
from service.store.journal import Journal
from tests.e2e.harness import database_url, service_env
from tests.e2e.workload import statuses

FAST = 1000  # requests/s and burst, on both sides: the portal's rate is not what this measures
WORKLOADS = {"no match": (600, 60), "match": (600, 0)}


def worker_cpu(workdir: Path, env: dict[str, str]) -> float:
    """CPU seconds of one `worker --once` run, children included."""
    return command(workdir, env, "worker", "--once", "--no-sweep").cpu


def per_task(tasks: int, entries: tuple[int, ...], service_path: str | None) -> float:
    sandbox = SandboxServer(config=PortalConfig(rate=float(FAST), burst=float(FAST))).start()
    for task_id in range(1, tasks + 1):
        sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3,
                                   entries=[{"seconds": s} for s in entries])  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    # The hourly budget (500 by default) would trip the rule to shadow past 500 deletions: raised.
    env = service_env(workdir, sandbox.webhook_url, B24_RATE_LIMIT=str(FAST), B24_RATE_BURST=str(FAST),
                      B24_LOG_LEVEL="WARNING", B24_MAX_DELETIONS_PER_HOUR=str(10 * tasks))  # fmt: skip
    if service_path:
        env["PYTHONPATH"] = service_path
    try:
        idle = worker_cpu(workdir, env)  # creates the database, claims nothing
        engine = make_engine(database_url(workdir))
        journal = Journal(engine)
        now = datetime.now(UTC)
        for task_id in range(1, tasks + 1):
            journal.enqueue_task(task_id, now, source="event")
        busy = worker_cpu(workdir, env)
        done = statuses(engine).get("done", 0)
        engine.dispose()
        if done != tasks:
            raise SystemExit(f"only {done} of {tasks} events done")
        return (busy - idle) / tasks
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="another checkout to measure as the baseline, same run")
    args = parser.parse_args()
    trees = {"this tree": None, **({"before": args.before} if args.before else {})}
    results: dict[tuple[str, str], list[float]] = {}
    for run in range(1, args.runs + 1):
        for workload, entries in WORKLOADS.items():
            for name, path in trees.items():
                ms = per_task(args.tasks, entries, path) * 1000
                results.setdefault((workload, name), []).append(ms)
                print(f"run {run} {workload:8} {name:9}: {ms:.2f} ms CPU per task", flush=True)
    print(f"worker CPU per task, {args.tasks} tasks, {args.runs} runs: median (min-max) ms")
    for (workload, name), values in results.items():
        print(f"{workload:8} {name:9} {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
    if args.before:
        for workload in WORKLOADS:
            pairs = zip(results[(workload, "before")], results[(workload, "this tree")], strict=True)
            print(f"{workload:8} before / this tree: {', '.join(f'{b / a:.1f}x' for b, a in pairs)}")


if __name__ == "__main__":
    main()
