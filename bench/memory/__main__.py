"""python -m bench.memory [--events 10000] [--runs 3] [--before DIR]

Memory of `b24rules serve` (SQLite, the shipped rules, the sandbox portal): PSS — each page shared by
n processes counted 1/n, so the processes' figures add up — summed over serve's process tree, read from
/proc/<pid>/smaps_rollup (what `smem` reports), idle after start and again after `--events` events
were posted and processed. RSS is printed too; it counts shared pages once per process. `--before DIR`
runs another checkout's `serve` alongside, alternating, as the baseline of a change.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from service.sandbox import PortalConfig, SandboxServer
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workload import event_form, post_all, queue_counts

TASKS = 100


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found.extend(int(child) for child in children)
            frontier.extend(int(child) for child in children)
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) in MB summed over the process tree of `pid`."""
    pss = rss = 0
    for member in tree(pid):
        for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Pss":
                pss += int(value.split()[0])
            elif name == "Rss":
                rss += int(value.split()[0])
    return pss / 1024, rss / 1024


def measure(events: int, service_path: str | None) -> tuple[tuple[float, float], tuple[float, float], int]:
    sandbox = SandboxServer(config=PortalConfig(rate=1000.0, burst=1000.0)).start()
    for task_id in range(1, TASKS + 1):
        sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3, entries=[{"seconds": 60}])
    workdir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    env = service_env(workdir, sandbox.webhook_url, B24_RATE_LIMIT="1000", B24_RATE_BURST="1000",
                      B24_LOG_LEVEL="WARNING")  # fmt: skip
    if service_path:
        env["PYTHONPATH"] = service_path
    try:
        with running(Service(workdir, env)) as service:
            assert service.process is not None
            idle = memory_mb(service.process.pid)
            post_all(service, [event_form(1 + n % TASKS) for n in range(events)])
            wait_for(lambda: queue_counts(service).get("done") == events, timeout=600, interval=0.5)
            busy = memory_mb(service.process.pid)
            return idle, busy, len(tree(service.process.pid))
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="another checkout to measure as the baseline, same run")
    args = parser.parse_args()
    trees = {"this tree": None, **({"before": args.before} if args.before else {})}
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for run in range(1, args.runs + 1):
        for name, path in trees.items():
            (idle_pss, idle_rss), (pss, rss), processes = measure(args.events, path)
            rows[name].append((idle_pss, pss))
            print(f"run {run} {name}: {processes} processes; PSS idle {idle_pss:.0f} MB (RSS {idle_rss:.0f}),"
                  f" after {args.events} events {pss:.0f} MB (RSS {rss:.0f})", flush=True)  # fmt: skip
    for name, measured in rows.items():
        for label, index in (("idle", 0), (f"after {args.events} events", 1)):
            values = [row[index] for row in measured]
            print(f"{name}: PSS {label}: median {statistics.median(values):.0f} MB "
                  f"({min(values):.0f}-{max(values):.0f})")  # fmt: skip
    if args.before:
        pairs = zip(rows["this tree"], rows["before"], strict=True)
        print("this tree / before, after the events: " + ", ".join(f"{a[1] / b[1]:.2f}" for a, b in pairs))


if __name__ == "__main__":
    main()
