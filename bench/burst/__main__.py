"""python -m bench.burst [--tasks 100] [--events 1000] [--fast-rate 50] [--service-path DIR]

Runs, in one go, against fresh sandbox portals seeded alike (each task: 5 entries, 2 of them 0 s):
1. b24rules (`serve`: web + worker, SQLite) at the portal's real limit, 2 r/s burst 50;
2. b24rules at `--fast-rate` r/s (burst 50);
3. the naive per-event client at `--fast-rate` r/s (at 2 r/s it would take ~20 minutes: its time at
   2 r/s is projected from its request count, and says so).
Events are posted by the sandbox's own event sender, interleaved across tasks, as fast as it can.
`--service-path` runs the service from another checkout (to measure an older commit: "before").
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.burst.naive import run_naive
from bench.measure import counts, projected
from service.sandbox import PortalConfig, SandboxServer
from tests.e2e.harness import Service, running, service_env, wait_for
from tests.e2e.workload import queue_counts

ENTRIES = (0, 60, 0, 600, 3600)  # two match the shipped drop-zero-duration-entries rule
BURST = 50


def seeded(rate: float, tasks: int) -> SandboxServer:
    sandbox = SandboxServer(config=PortalConfig(rate=rate, burst=float(BURST))).start()
    for task_id in range(1, tasks + 1):
        sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3,
                                   entries=[{"seconds": s} for s in ENTRIES])  # fmt: skip
    return sandbox


def event_order(tasks: int, events: int) -> list[int]:
    return [1 + n % tasks for n in range(events)]  # round-robin: every task's events spread out


def remaining_zero(sandbox: SandboxServer) -> int:
    return sum(1 for e in sandbox.portal.entries_of(None) if e.seconds == 0)


def measure_service(rate: float, tasks: int, events: int, service_path: str | None) -> dict[str, Any]:
    sandbox = seeded(rate, tasks)
    workdir = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    env = service_env(workdir, sandbox.webhook_url, B24_RATE_LIMIT=str(rate), B24_RATE_BURST=str(BURST),
                      B24_LOG_LEVEL="WARNING")  # fmt: skip
    if service_path:
        env["PYTHONPATH"] = service_path
    service = Service(workdir, env)
    try:
        with running(service):
            sandbox.add_event_target(service.url + "/bitrix24/events")
            start = time.monotonic()
            for task_id in event_order(tasks, events):
                [delivery] = sandbox.sender.send("ONTASKUPDATE", task_id)
                assert delivery.status == 200, delivery
            posted = time.monotonic() - start
            wait_for(lambda: queue_counts(service).get("done") == events, timeout=1800, interval=0.2)
            drained = time.monotonic() - start
        assert remaining_zero(sandbox) == 0
        assert len(sandbox.portal.entries_of(None)) == tasks * (len(ENTRIES) - 2)
        return {"posted_s": posted, "drain_s": drained, **counts(sandbox)}
    finally:
        sandbox.stop()


def measure_naive(rate: float, tasks: int, events: int) -> dict[str, Any]:
    sandbox = seeded(rate, tasks)
    try:
        seconds, _rejected = run_naive(sandbox.webhook_url, event_order(tasks, events), rate, BURST)
        assert remaining_zero(sandbox) == 0
        return {"drain_s": seconds, **counts(sandbox)}
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.burst")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--fast-rate", type=float, default=50.0)
    parser.add_argument("--service-path", default=os.environ.get("BENCH_SERVICE_PATH"))
    args = parser.parse_args()
    n, t = args.events, args.tasks
    ours = measure_service(2.0, t, n, args.service_path)
    ours_fast = measure_service(args.fast_rate, t, n, args.service_path)
    naive = measure_naive(args.fast_rate, t, n)
    print(f"{n} ONTASKUPDATE events across {t} tasks, {len(ENTRIES)} entries each (2 of 0 s); burst {BURST}")
    print(f"{'run':<34}{'HTTP':>7}{'calls':>8}{'503':>6}{'drain s':>10}")
    for name, row in (("b24rules @ 2 r/s (measured)", ours),
                      (f"b24rules @ {args.fast_rate:g} r/s (measured)", ours_fast),
                      (f"naive @ {args.fast_rate:g} r/s (measured)", naive)):  # fmt: skip
        print(f"{name:<34}{row['http']:>7}{row['calls']:>8}{row['http_503']:>6}{row['drain_s']:>10.1f}")
    naive_at_2 = projected(naive["http"], 2.0, BURST)
    print(f"{'naive @ 2 r/s (computed)':<34}{naive['http']:>7}{'':>8}{'':>6}{naive_at_2:>10.1f}")
    print(f"posting the events took {ours['posted_s']:.1f} s (b24rules @ 2 r/s run)")
    print(f"HTTP requests: naive / b24rules = {naive['http'] / ours['http']:.0f}x")
    print(f"drain at 2 r/s: naive (computed) / b24rules (measured) = {naive_at_2 / ours['drain_s']:.0f}x")
    print(f"b24rules requests by method @ 2 r/s: {ours['by_method']}")


if __name__ == "__main__":
    main()
