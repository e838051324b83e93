"""Open-loop ingest benchmark: a steady `--rate` of events per second (default 500) for `--duration` s,
against bare Flask, `b24rules web` and `b24rules serve` (its worker running against a sandbox portal at
2 r/s, the shipped rules), one after the other in each of `--runs` runs.

    .venv/bin/python -m bench.ingest.steady [--rate 500] [--duration 20] [--runs 3] [--tasks 100]

Each server gets a 2-second warm-up at the same rate first (not counted). The events spread over
`--tasks` sandbox tasks (each with a 0-second and a 10-minute entry, so `serve`'s worker reads tasks and
deletes entries). After each b24rules run every id answered in a 200 is looked up in the journal: a
missing one is a lost event. Latency counts from when a request was due (see openloop.py), so the p99 is
what a portal sending at that rate sees. The load average (/proc/loadavg) is printed at each run's start
and end: the machine is shared.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import select

from bench.ingest.openloop import OpenLoop, Summary
from bench.ingest.run import BODY, ROOT, Server, base_env, free_port, server, web_env
from service.store.db import open_database
from service.store.eventlog import DONE, events

SAMPLE_TASK = b"%5BID%5D=691&"  # the sample body's task id, in both FIELDS_BEFORE and FIELDS_AFTER


def bodies(tasks: int) -> Callable[[int], bytes]:
    """Request i's body: the sample ONTASKUPDATE for task 1 + i % tasks."""
    template = BODY.read_bytes().strip()
    assert template.count(SAMPLE_TASK) == 2, "the sample body changed"
    made = [template.replace(SAMPLE_TASK, b"%%5BID%%5D=%d&" % task) for task in range(1, tasks + 1)]
    return lambda index: made[index % tasks]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass(frozen=True)
class Measured:
    summary: Summary
    missing: int | None = None  # ids answered in a 200 but not in the journal (None: not checked)
    settled: int | None = None  # events the worker finished during the run (serve)


def drive(target: Server, args: argparse.Namespace) -> Summary:
    host_port = target.url.rsplit("/", 1)[1]
    host, port = host_port.split(":")
    make = bodies(args.tasks)

    def one(duration: float) -> Summary:
        return OpenLoop(host, int(port), "/bitrix24/events", make, rate=args.rate, duration=duration,
                        connections=args.connections).run()  # fmt: skip

    one(2.0)  # warm-up: imports, writer threads, page cache
    return one(args.duration)


def journal_check(database_url: str, summary: Summary) -> tuple[int, int]:
    """(ids answered in a 200 that the journal lacks, events finished as done)."""
    engine = open_database(database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.scalars(select(events.c.id)))
            done = len(list(connection.scalars(select(events.c.id).where(events.c.status == DONE))))
    finally:
        engine.dispose()
    return len(set(summary.event_ids) - stored), done


def run_bare(args: argparse.Namespace, workdir: Path) -> Measured:
    port = free_port()
    command = [sys.executable, "-m", "bench.ingest.bare", str(port)]
    with server(command, base_env(port, args.workers), port, workdir / "bare.log") as target:
        return Measured(drive(target, args))


def run_web(args: argparse.Namespace, workdir: Path) -> Measured:
    port = free_port()
    database = f"sqlite:///{workdir / f'web-{port}.sqlite3'}"
    env = web_env(port, args.workers, database, workdir)
    command = [sys.executable, "-m", "service", "web"]
    with server(command, env, port, workdir / "web.log") as target:
        summary = drive(target, args)
    missing, _done = journal_check(database, summary)
    return Measured(summary, missing)


@contextmanager
def sandbox_portal(tasks: int, workdir: Path) -> Iterator[str]:
    """A sandbox portal process at the real limit (2 r/s, burst 50) with `tasks` tasks; its webhook URL."""
    port = free_port()
    command = [sys.executable, "-m", "service", "sandbox", "--port", str(port), "--no-demo"]
    with (workdir / "sandbox.log").open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(url + "/_sandbox/stats", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        for task in range(1, tasks + 1):
            entries = [{"seconds": 0}, {"seconds": 600}]
            task_body = {"id": task, "title": f"task {task}", "status": 3, "entries": entries}
            requests.post(url + "/_sandbox/tasks", json=task_body, timeout=10).raise_for_status()
        yield f"{url}/rest/1/sandbox/"
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_serve(args: argparse.Namespace, workdir: Path) -> Measured:
    port = free_port()
    database = f"sqlite:///{workdir / f'serve-{port}.sqlite3'}"
    with sandbox_portal(args.tasks, workdir) as webhook:
        env = web_env(port, args.workers, database, workdir)
        env.update(B24_WEBHOOK_URL=webhook, B24_SWEEP_INTERVAL="0")
        command = [sys.executable, "-m", "service", "serve"]
        with server(command, env, port, workdir / "serve.log") as target:
            summary = drive(target, args)
    missing, done = journal_check(database, summary)
    return Measured(summary, missing, done)


SERVERS: dict[str, Callable[[argparse.Namespace, Path], Measured]] = {
    "bare Flask": run_bare,
    "b24rules web": run_web,
    "b24rules serve": run_serve,
}


def row(name: str, measured: Measured, bare: Summary) -> str:
    s = measured.summary
    lost = "n/a" if measured.missing is None else str(measured.missing)
    settled = "" if measured.settled is None else f"{measured.settled:,}"
    return (
        f"| {name} | {s.rate:,.1f} | {s.p50_ms:.1f} | {s.p90_ms:.1f} | {s.p99_ms:.1f} | {s.max_ms:.1f} | "
        f"{s.p99_ms / bare.p99_ms if bare.p99_ms else 0:.1f} | {s.errors} | {lost} | {settled} | "
        f"{s.lag_p99_ms:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second, on schedule")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per server")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=100, help="sandbox tasks the events spread over")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections, at most")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (B24_WORKERS)")
    parser.add_argument("--only", choices=list(SERVERS), action="append", help="measure only these")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (logs, databases)")
    args = parser.parse_args()
    names = args.only or list(SERVERS)
    p99s: dict[str, list[float]] = {name: [] for name in names}
    header = ("| server | answered/s | p50 ms | p90 ms | p99 ms | max ms | p99 / bare's | errors | "
              "200s not in journal | settled by worker | tool lag p99 ms |")  # fmt: skip
    for run in range(1, args.runs + 1):
        workdir = Path(tempfile.mkdtemp(prefix="b24rules-steady-"))
        print(f"run {run}: {args.rate:g}/s for {args.duration:g} s, load average {loadavg()}", flush=True)
        try:
            results = {name: SERVERS[name](args, workdir) for name in names}
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        bare = results.get("bare Flask", next(iter(results.values()))).summary
        print(header + "\n|" + "---|" * 11)
        for name, measured in results.items():
            print(row(name, measured, bare))
            p99s[name].append(measured.summary.p99_ms)
        kept = f"  (logs in {workdir})" if args.keep else ""
        print(f"load average at the end: {loadavg()}{kept}", flush=True)
    for name, values in p99s.items():
        print(f"{name}: p99 median {statistics.median(values):.1f} ms "
              f"(min {min(values):.1f}, max {max(values):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
