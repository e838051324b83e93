"""Ingest benchmark: events accepted per second by `POST /bitrix24/events` under `b24rules web`, side by
side with a bare Flask endpoint under the same gunicorn settings, in one run.

    .venv/bin/python -m bench.ingest.run [--duration 10] [--connections 16] [--workers 2] [--postgres]
                                         [--command serve] [--before DIR]

Load comes from `wrk` with post.lua (apt-get install -y wrk); without wrk it says so and falls back to a
Python load generator (slower itself, so its ratios are less telling). After each b24rules run it counts
the journal's rows: every 200 must be a stored event (rows - 200s must never be negative). `--command
serve` measures `b24rules serve` (its worker running beside the web processes; the portal it would call
is unreachable, so the worker only polls) instead of `web`; `--before DIR` measures another checkout's
server too, in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import requests
from sqlalchemy import func, select

from bench.ingest.load import Result, python_load, wrk_load
from service.plumbing.settings import load_settings
from service.store.db import open_database
from service.store.eventlog import events
from service.web.server import gunicorn_options
from tests.pgschema import throwaway_schema

ROOT = Path(__file__).resolve().parents[2]
BODY = ROOT / "tests" / "sandbox" / "samples" / "ontaskupdate-webhook.form"
TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"  # the sample body's application token (public demo value)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    group: int  # the process group of the gunicorn master and its workers

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's live processes; 0 off Linux."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[2]) == self.group:  # field 5 of stat: the process group
                ticks += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    """Start a gunicorn server in its own process group; yield it once /healthz answers."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"server exited early, see {log}")
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        yield Server(url, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def base_env(port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B24_", "SENTRY_"))}
    env.update(PORT=str(port), B24_WORKERS=str(workers), B24_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    return env


def web_env(port: int, workers: int, database_url: str, workdir: Path) -> dict[str, str]:
    """b24rules' environment: the sample's token, the shipped rules, its own metrics folder."""
    env = base_env(port, workers)
    env.update(
        B24_APPLICATION_TOKEN=TOKEN,
        B24_WEBHOOK_URL="http://127.0.0.1:9/rest/1/bench/",  # never called: the web half makes no REST call
        B24_DATABASE_URL=database_url,
        B24_RULES_DIR=str(ROOT / "rules"),
        PROMETHEUS_MULTIPROC_DIR=str(workdir / f"metrics-{port}"),
    )
    return env


def load(target: Server, args: argparse.Namespace) -> tuple[Result, Result]:
    """A 2-second warm-up (imports, pools, page cache), then the measured run; both results, the measured
    one with the server's CPU time per answered request."""
    runner = wrk_load if shutil.which("wrk") else python_load
    url = target.url + "/bitrix24/events"
    warm = runner(url, BODY, argparse.Namespace(**{**vars(args), "duration": 2}))
    cpu_before = target.cpu_seconds()
    measured = runner(url, BODY, args)
    cpu = target.cpu_seconds() - cpu_before
    answered = measured.ok + measured.errors
    return warm, replace(measured, cpu_us=cpu / answered * 1e6 if answered else 0.0)


def journal_rows(database_url: str) -> int:
    engine = open_database(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(events)) or 0)
    finally:
        engine.dispose()


def run_b24rules(
    database_url: str, args: argparse.Namespace, workdir: Path, service_path: Path = ROOT
) -> tuple[Result, int]:
    """The measured result, and journal rows minus 200 answers (warm-up included). Negative would mean
    lost events; a small positive surplus is the requests in flight when the load generator stopped."""
    port = free_port()
    env = web_env(port, args.workers, database_url, workdir)
    env["PYTHONPATH"] = str(service_path)
    command = [sys.executable, "-m", "service", args.command]
    before = journal_rows(database_url)
    with server(command, env, port, workdir / "web.log") as target:
        warm, measured = load(target, args)
    stored = journal_rows(database_url) - before
    return measured, stored - (warm.ok + measured.ok)


def run_bare(args: argparse.Namespace, workdir: Path) -> Result:
    port = free_port()
    command = [sys.executable, "-m", "bench.ingest.bare", str(port)]
    with server(command, base_env(port, args.workers), port, workdir / "bare.log") as target:
        return load(target, args)[1]


def report(name: str, result: Result, bare: Result, surplus: int | None) -> str:
    extra = "n/a" if surplus is None else f"{surplus:+d}"
    return (
        f"| {name} | {result.rps:,.0f} | {result.rps / bare.rps:.2f} | {result.p99_ms:.1f} | "
        f"{result.cpu_us:,.0f} | {result.ok:,} | {result.errors} | {extra} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (B24_WORKERS)")
    parser.add_argument("--postgres", action="store_true", help="also measure with PostgreSQL")
    parser.add_argument("--command", choices=("web", "serve"), default="web", help="the b24rules server")
    parser.add_argument("--before", type=Path, help="another checkout to measure too (SQLite), same run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found (apt-get install -y wrk): using the Python load generator instead", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="b24rules-bench-"))
    try:
        bare = run_bare(args, workdir)
        rows = [report("bare Flask (baseline)", bare, bare, None)]
        sqlite, surplus = run_b24rules(f"sqlite:///{workdir / 'bench.sqlite3'}", args, workdir)
        rows.append(report(f"b24rules {args.command}, SQLite", sqlite, bare, surplus))
        if args.before:
            url = f"sqlite:///{workdir / 'before.sqlite3'}"
            before, surplus = run_b24rules(url, args, workdir, args.before.resolve())
            rows.append(report(f"before: b24rules {args.command}, SQLite", before, bare, surplus))
        if args.postgres:
            with throwaway_schema("bench") as url:
                postgres, surplus = run_b24rules(url, args, workdir)
            rows.append(report(f"b24rules {args.command}, PostgreSQL", postgres, bare, surplus))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    tool = "wrk" if shutil.which("wrk") else "python"
    options = gunicorn_options(load_settings(port=1, b24_workers=args.workers))
    workers, threads, kind = options["workers"], options["threads"], options["worker_class"]
    print(f"load: {tool}, {args.connections} connections, {args.threads} threads, {args.duration} s; "
          f"gunicorn: {workers} workers x {threads} threads ({kind}); cores: {os.cpu_count()}")  # fmt: skip
    print("| server | requests/s | ratio to bare | p99 ms | server CPU µs/request | 200s | errors |"
          " journal rows - 200s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
