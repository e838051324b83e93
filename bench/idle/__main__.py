"""python -m bench.idle [--events 20] [--gap 3] [--runs 3] [--before DIR]

Event -> deletion latency on an idle portal: `b24rules serve` (web + worker, SQLite, the shipped rules)
against a sandbox portal at the real limit (2 r/s, burst 50). One at a time, `--gap` seconds apart, a
0-second entry is logged on a task and the portal posts ONTASKUPDATE (a task of its own each time:
within a minute of our own deletion, an event of the same task is taken for its echo and held back);
the latency runs from just before the portal posts the event to the moment the entry is gone.

`--before DIR` also runs, alternating with this tree, the service from another checkout (e.g. a
`git worktree` of the commit before the idle claim): the baseline, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.sandbox import PortalConfig, SandboxServer
from tests.e2e.harness import Service, running, service_env, wait_for


def latencies(events: int, gap: float, service_path: str | None) -> list[float]:
    sandbox = SandboxServer(config=PortalConfig(rate=2.0, burst=50.0)).start()
    for task_id in range(1, events + 1):
        sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3, entries=[{"seconds": 600}])
    workdir = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    env = service_env(workdir, sandbox.webhook_url, B24_LOG_LEVEL="WARNING")
    if service_path:
        env["PYTHONPATH"] = service_path
    measured = []
    try:
        with running(Service(workdir, env)) as service:
            sandbox.add_event_target(service.url + "/bitrix24/events")
            for task_id in range(1, events + 1):
                time.sleep(gap)  # idle: the previous event is long done
                entry = sandbox.portal.add_entry(task_id, 0)
                start = time.monotonic()
                [delivery] = sandbox.sender.send("ONTASKUPDATE", task_id)
                assert delivery.status == 200, delivery
                gone = _gone(sandbox, task_id, entry.id)
                wait_for(gone, timeout=60, interval=0.005)
                measured.append(time.monotonic() - start)
    finally:
        sandbox.stop()
    return measured


def _gone(sandbox: SandboxServer, task_id: int, entry_id: int) -> Callable[[], bool]:
    return lambda: all(entry.id != entry_id for entry in sandbox.portal.entries_of(task_id))


def describe(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    spread = f"min {min(values):.3f}  max {max(values):.3f}"
    return f"p50 {statistics.median(values):.3f} s  p90 {cuts[8]:.3f} s  {spread}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--gap", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="another checkout to measure as the baseline, same run")
    args = parser.parse_args()
    trees = {"this tree": None, **({"before": args.before} if args.before else {})}
    medians: dict[str, list[float]] = {name: [] for name in trees}
    for run in range(1, args.runs + 1):
        for name, path in trees.items():
            values = latencies(args.events, args.gap, path)
            medians[name].append(statistics.median(values))
            print(f"run {run} {name:9}: {describe(values)}", flush=True)
    for name, values in medians.items():
        print(f"{name:9} p50 over runs: median {statistics.median(values):.3f} s "
              f"(min {min(values):.3f}, max {max(values):.3f})")  # fmt: skip
    if args.before:
        ratios = [b / a for a, b in zip(medians["this tree"], medians["before"], strict=True)]
        print(f"before / this tree, p50 per run: {', '.join(f'{r:.1f}x' for r in ratios)}")


if __name__ == "__main__":
    main()
